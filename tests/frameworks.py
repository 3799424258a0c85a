"""Test helpers: the framework built-ins a bound schedule mirrors, and traces of them.

``torch_builtin(bound, optimizer)`` builds the ``torch.optim.lr_scheduler`` object of a
torch-mirrored node (recursively for SequentialLR/ChainedScheduler); ``keras_builtin(bound)`` the
``keras.optimizers.schedules`` object of a Keras-mirrored node. Generated code and the reference
are compared with these, so neither is compared only with itself.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from lrgen import expr as ex
from lrgen.ir import Bound
from lrgen.kinds import KINDS


def import_path(path: Path, prefix: str = "_lrgen_test") -> ModuleType:
    """Import a generated module from its file, registered in ``sys.modules`` (pickling of its
    classes needs that) under a name unique to the path."""
    name = f"{prefix}_{path.stem}_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


#: Kinds whose framework class (``Kind.origin``) the tests compare the generated code with.
TORCH_KINDS = frozenset(k.name for k in KINDS if k.family == "torch" and not k.metric_driven)
KERAS_KINDS = frozenset(k.name for k in KINDS if k.family == "keras")


def mirrors_torch(bound: Bound) -> bool:
    return bound.kind in TORCH_KINDS and all(mirrors_torch(c) for c in bound.children)


class ExprFunction:
    """A spec expression as a picklable callable of one variable (for LambdaLR / scale_fn)."""

    def __init__(self, tree: ex.Expr, env: dict[str, float], names: tuple[str, ...]) -> None:
        self.tree, self.env, self.names = tree, env, names

    def __call__(self, value: float) -> float:
        env = dict(self.env)
        env.update({name: float(value) for name in self.names})
        return float(ex.evaluate(self.tree, env))


def torch_builtin(bound: Bound, optimizer: Any) -> Any:
    from torch.optim import lr_scheduler as S

    v = dict(bound.values)
    kind = bound.kind
    if kind == "SequentialLR":
        children = [torch_builtin(c, optimizer) for c in bound.children]
        return S.SequentialLR(optimizer, children, milestones=list(v["milestones"]))
    if kind == "ChainedScheduler":
        children = [torch_builtin(c, optimizer) for c in bound.children]
        return S.ChainedScheduler(children, optimizer=optimizer)
    if kind == "LambdaLR":
        env = dict(bound.env)
        return S.LambdaLR(optimizer, ExprFunction(v["lr_lambda"], env, ("t", "step", "epoch")))
    if kind == "CyclicLR":
        if v["scale_fn"] is not None:
            v["scale_fn"] = ExprFunction(v["scale_fn"], dict(bound.env), ("x",))
            v["scale_mode"] = v["scale_mode"] or "cycle"
        else:
            v.pop("scale_fn")
            v["scale_mode"] = "cycle"  # ignored by torch when scale_fn is None
        return S.CyclicLR(optimizer, **v)
    return getattr(S, kind)(optimizer, **v)


def torch_trace(make: Callable[[Any], Any], steps: int, lr: float, **opt: Any) -> np.ndarray:
    """The learning rate of group 0 before each of ``steps`` scheduler steps."""
    import torch

    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=lr, momentum=opt.get("momentum", 0.9))
    scheduler = make(optimizer)
    out = np.empty(steps)
    for i in range(steps):
        out[i] = optimizer.param_groups[0]["lr"]
        optimizer.step()
        scheduler.step()
    return out


def _optimizer(kind: str, lr: float) -> Any:
    import torch

    param = torch.zeros(1, requires_grad=True)
    if kind == "sgd":
        return torch.optim.SGD([param], lr=lr, momentum=0.9)
    return torch.optim.Adam([param], lr=lr, betas=(0.9, 0.999))


def momentum_trace(make: Callable[[Any], Any], n: int, lr: float, optimizer: str) -> np.ndarray:
    """SGD's ``momentum`` or Adam's ``betas[0]`` of group 0 before each of ``n`` steps."""
    opt = _optimizer(optimizer, lr)
    sched = make(opt)
    out = np.empty(n)
    for i in range(n):
        group = opt.param_groups[0]
        out[i] = group["momentum"] if optimizer == "sgd" else group["betas"][0]
        opt.step()
        sched.step()
    return out


def keras_builtin(bound: Bound) -> Any:
    import keras

    return getattr(keras.optimizers.schedules, bound.kind)(**dict(bound.values))


def keras_values(schedule: Any, steps: np.ndarray) -> np.ndarray:
    """A Keras schedule at each step (one call per step, as an optimizer makes)."""
    return np.array([float(schedule(int(t))) for t in steps])


def float32_close(got: np.ndarray, ref: np.ndarray, peak: float | None = None) -> np.ndarray:
    """The float32 fidelity rule: relative error <= 1e-6 where the LR is >= 1e-6 of its peak,
    absolute error <= 2e-7 of the peak elsewhere."""
    peak = float(np.max(np.abs(ref))) if peak is None else peak
    big = np.abs(ref) >= 1e-6 * peak
    rel_ok = np.abs(got - ref) <= 1e-6 * np.abs(ref)
    abs_ok = np.abs(got - ref) <= 2e-7 * peak
    return np.where(big, rel_ok, abs_ok)


def float64_close(got: np.ndarray, ref: np.ndarray, rel: float = 1e-12) -> np.ndarray:
    """Float64 agreement: ``rel`` relative, plus a floor of a few ulps of the peak — the
    reference writes cosines as ``1 + cos``, which loses that much near a trough."""
    peak = float(np.max(np.abs(ref))) if ref.size else 0.0
    return np.abs(got - ref) <= rel * np.abs(ref) + 1e-14 * peak


def boundary_steps(bound: Bound, horizon: int = 1000) -> np.ndarray:
    """0..horizon, and every integer in the node tree (milestones, T_max, ...) -1/0/+1, x2."""
    found: set[int] = set()

    def visit(b: Bound, offset: int) -> None:
        for value in b.values.values():
            items = value if isinstance(value, tuple) else (value,)
            for item in items:
                number = isinstance(item, int | float) and not isinstance(item, bool)
                if number and float(item).is_integer() and 0 < item < 2**31:
                    base = int(item) + offset
                    found.update({base - 1, base, base + 1, 2 * base})
        milestones = b.values.get("milestones") if b.kind == "SequentialLR" else None
        starts = (0, *milestones) if milestones else (0,) * len(b.children)
        for child, start in zip(b.children, starts, strict=False):
            visit(child, offset + int(start))

    visit(bound, 0)
    steps = set(range(horizon + 1)) | {s for s in found if 0 <= s < 2**31}
    return np.array(sorted(steps), dtype=np.int64)


# --- what a regeneration changes, in numbers ------------------------------------------------------


def _module_values(text: str, schedule: Any, target: str, steps: np.ndarray, tag: str) -> Any:
    """The values of one schedule of a generated module's text (torch: the function; keras: the
    schedule class, at ``steps`` epochs of 1 step). An exception is returned, not raised."""
    import hashlib
    import tempfile

    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    directory = Path(tempfile.gettempdir()) / "lrgen-numeric-changes"
    directory.mkdir(exist_ok=True)
    path = directory / f"{tag}_{digest}_{target}.py"
    path.write_text(text, encoding="utf-8")
    try:
        module = import_path(path, prefix="_lrgen_changes")
        if target == "torch":
            function = getattr(module, schedule.name)
            return np.array([function(int(t)) for t in steps], dtype=np.float64)
        cls = getattr(module, schedule.class_name)
        instance = cls(steps_per_epoch=1) if schedule.unit == "epoch" else cls()
        return np.asarray(instance(steps), dtype=np.float64)
    except Exception as error:  # reported as text: the message must still come out
        return error


def numeric_changes(old_text: str, new_text: str, spec: Any, target: str) -> str:
    """What changes in numbers between two generated modules of ``spec`` for ``target``
    ("torch" or "keras"): per closed-form schedule, the largest relative difference between the
    old and the new module over 0..1000 and every boundary -1/0/+1, and where. A text diff says
    that the code changed; this says whether a schedule's values did, so that regenerating a
    golden file or generated/ is a decision about numbers, not a reflex."""
    from lrgen.ir import bind

    lines = []
    for schedule in spec.entries:
        if schedule.metric_driven:
            continue
        steps = boundary_steps(bind(schedule), 1000)
        old = _module_values(old_text, schedule, target, steps, "old")
        new = _module_values(new_text, schedule, target, steps, "new")
        if isinstance(old, Exception) or isinstance(new, Exception):
            which = "old" if isinstance(old, Exception) else "new"
            error = old if isinstance(old, Exception) else new
            lines.append(f"  {schedule.name}: the {which} module fails: {error!r}")
            continue
        diff = np.abs(new - old)
        rel = diff / np.maximum(np.abs(old), 1e-300)
        rel[diff == 0] = 0.0
        if not rel.any():
            lines.append(f"  {schedule.name}: values unchanged")
            continue
        i = int(np.argmax(rel))
        lines.append(
            f"  {schedule.name}: max relative difference {rel[i]:.3g} at t={int(steps[i])} "
            f"(old {float(old[i])!r}, new {float(new[i])!r}; {int(np.count_nonzero(rel))} of "
            f"{steps.size} "
            "steps differ)"
        )
    return f"numbers ({target}), old module -> new:\n" + "\n".join(lines)
