"""Test helpers: the framework built-ins a bound schedule mirrors, and traces of them.

``torch_builtin(bound, optimizer)`` builds the ``torch.optim.lr_scheduler`` object of a
torch-mirrored node (recursively for SequentialLR/ChainedScheduler); ``keras_builtin(bound)`` the
``keras.optimizers.schedules`` object of a Keras-mirrored node. Both read the class from the
kind's ``origin`` in the registry and pass the node's fields as its keyword arguments, so a new
kind that mirrors a torch or Keras class needs no code here. Generated code and the reference are
compared with these, so neither is compared only with itself.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from lrgen import expr as ex
from lrgen.ir import Bound
from lrgen.kinds import COUNTER_NAMES, KIND_MAP, KINDS, Kind, T


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


#: The framework modules whose classes the tests build from a kind's ``origin`` alone: module ->
#: framework. The class takes the kind's fields as keyword arguments (torch's also the optimizer).
FRAMEWORKS = {"torch.optim.lr_scheduler": "torch", "keras.optimizers.schedules": "keras"}
#: Origins no generic builder covers yet, and why (tests/test_registry.py fails for any other
#: origin outside FRAMEWORKS, so a kind's framework equivalent is never skipped in silence).
NOT_BUILT = {
    "transformers.get_wsd_schedule": "a transformers function whose arguments are not the kind's "
    "fields (num_warmup_steps for warmup_steps, ...); compared by hand (docs/porting.md)",
    "transformers.get_scheduler": "a transformers function of the type's name, the warmup "
    "TrainingArguments computes and scheduler_specific_kwargs, not of the kind's fields; "
    "compared with transformers itself in tests/test_transformers_schedule.py",
}


def framework(kind: Kind) -> str | None:
    """The framework (a value of FRAMEWORKS) whose class ``kind.origin`` names, or None."""
    module, _, _ = kind.origin.rpartition(".")
    return FRAMEWORKS.get(module)


def origin_object(kind: Kind) -> Any:
    """The class (or function) ``kind.origin`` names, imported."""
    module, _, name = kind.origin.rpartition(".")
    return getattr(importlib.import_module(module), name)


#: Kinds whose framework class (``Kind.origin``) the tests compare the generated code with.
#: ReduceLROnPlateau mirrors torch's too, as a state machine over metrics: tests/test_plateau.py.
TORCH_KINDS = frozenset(k.name for k in KINDS if framework(k) == "torch" and not k.metric_driven)
KERAS_KINDS = frozenset(k.name for k in KINDS if framework(k) == "keras")


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


def builtin_arguments(bound: Bound, child: Callable[[Bound], Any] | None = None) -> dict:
    """The keyword arguments of the framework class of ``bound``'s kind, from its fields: a null
    field is left out (the framework's own default, which a null means in lrgen), a list is a
    list, an expression of the counter (of ``x``) a callable of one number, and child nodes
    (``NODES``) ``child`` of each."""
    out: dict[str, Any] = {}
    for param in KIND_MAP[bound.kind].params:
        if param.type is T.NODES:
            out[param.name] = [child(c) for c in bound.children] if child else []
            continue
        value = bound[param.name]
        if value is None:
            continue
        if param.type in (T.EXPR_T, T.EXPR_X):
            names = COUNTER_NAMES if param.type is T.EXPR_T else ("x",)
            value = ExprFunction(value, dict(bound.env), names)
        elif isinstance(value, tuple):
            value = list(value)
        out[param.name] = value
    return out


def torch_builtin(bound: Bound, optimizer: Any) -> Any:
    """The ``torch.optim.lr_scheduler`` object of a torch-mirrored node (``Kind.origin``)."""
    cls = origin_object(KIND_MAP[bound.kind])
    arguments = builtin_arguments(bound, lambda c: torch_builtin(c, optimizer))
    return cls(optimizer=optimizer, **arguments)


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
    """The ``keras.optimizers.schedules`` object of a Keras-mirrored node (``Kind.origin``)."""
    return origin_object(KIND_MAP[bound.kind])(**builtin_arguments(bound, keras_builtin))


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
