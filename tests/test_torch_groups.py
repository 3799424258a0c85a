"""Several param groups in the generated torch scheduler follow torch's rule.

Each group's initial lr takes the place of the spec's ``lr``; every other value (``max_lr``,
``base_lr``, ``eta_min``, ``min_lr``, an explicit ``initial_learning_rate``) stays absolute. Every
torch-mirrored kind is compared with torch's own scheduler on an optimizer with three groups of
different lrs; the Keras-mirrored and framework-neutral kinds with the reference evaluated with
``lr`` := the group's lr. A group whose lr is the spec's gets exactly ``lr(t)``.
"""

from __future__ import annotations

import dataclasses
from types import ModuleType

import numpy as np
import pytest
import torch

import lrgen
from lrgen import expr as ex
from lrgen import ir
from lrgen.cli import main
from tests.frameworks import import_path, torch_builtin

#: The first group's lr is the spec's; the others are smaller and larger.
GROUP_LRS = (0.1, 0.02, 0.5)
STEPS = 240

TORCH_SPEC = """
lrgen: 1
schedules:
  step_lr: {lr: 0.1, schedule: {kind: StepLR, step_size: 7, gamma: 0.5}}
  multistep: {lr: 0.1, schedule: {kind: MultiStepLR, milestones: [10, 30, 31], gamma: 0.3}}
  constant_lr: {lr: 0.1, schedule: {kind: ConstantLR, factor: 0.25, total_iters: 9}}
  linear: {lr: 0.1, schedule: {kind: LinearLR, start_factor: 0.1, total_iters: 40}}
  exponential: {lr: 0.1, schedule: {kind: ExponentialLR, gamma: 0.98}}
  polynomial: {lr: 0.1, schedule: {kind: PolynomialLR, total_iters: 100, power: 2.0}}
  cosine:
    lr: 0.1
    params: {t_max: 50}
    schedule: {kind: CosineAnnealingLR, T_max: t_max, eta_min: 0.01}
  restarts:
    lr: 0.1
    schedule: {kind: CosineAnnealingWarmRestarts, T_0: 10, T_mult: 2, eta_min: 0.005}
  cyclic:
    lr: 0.1
    schedule: {kind: CyclicLR, base_lr: 0.001, max_lr: 0.01, step_size_up: 20, mode: triangular2}
  one_cycle: {lr: 0.1, schedule: {kind: OneCycleLR, max_lr: 1.0e-3, total_steps: 300}}
  lambda_lr: {lr: 0.1, schedule: {kind: LambdaLR, lr_lambda: "0.95 ** t"}}
  sequential:
    lr: 0.1
    schedule:
      kind: SequentialLR
      milestones: [20]
      schedulers:
        - {kind: LinearLR, start_factor: 0.01, total_iters: 20}
        - {kind: CosineAnnealingLR, T_max: 100, eta_min: 0.001}
  chained:
    lr: 0.1
    schedule:
      kind: ChainedScheduler
      schedulers:
        - {kind: ConstantLR, factor: 0.5, total_iters: 15}
        - {kind: ExponentialLR, gamma: 0.99}
"""

OTHER_SPEC = """
lrgen: 1
schedules:
  exp_decay: {lr: 0.1, schedule: {kind: ExponentialDecay, decay_steps: 10, decay_rate: 0.9}}
  piecewise:
    lr: 0.1
    schedule: {kind: PiecewiseConstantDecay, boundaries: [30, 90], values: [0.1, 0.05, 0.01]}
  poly_decay:
    lr: 0.1
    schedule: {kind: PolynomialDecay, decay_steps: 100, end_learning_rate: 0.001, power: 0.5}
  inverse_time: {lr: 0.1, schedule: {kind: InverseTimeDecay, decay_steps: 10, decay_rate: 0.5}}
  cosine_decay:
    lr: 0.1
    schedule:
      {kind: CosineDecay, decay_steps: 100, alpha: 0.1, warmup_target: 0.2, warmup_steps: 20}
  cosine_decay_absolute:
    lr: 0.1
    schedule: {kind: CosineDecay, initial_learning_rate: 0.03, decay_steps: 100}
  cosine_restarts:
    lr: 0.1
    schedule: {kind: CosineDecayRestarts, first_decay_steps: 30, t_mul: 1.5, m_mul: 0.8}
  constant: {lr: 0.1, schedule: {kind: Constant}}
  linear_warmup: {lr: 0.1, schedule: {kind: LinearWarmup, warmup_steps: 25}}
  exponential_warmup:
    lr: 0.1
    schedule: {kind: ExponentialWarmup, warmup_steps: 25, start_lr: 1.0e-4}
  cosine_warmup: {lr: 0.1, schedule: {kind: CosineWarmup, warmup_steps: 25}}
  warmup_decay:
    lr: 0.1
    schedule: {kind: WarmupWithDecay, warmup_steps: 20, total_steps: 200, min_lr: 0.004}
  inverse_sqrt: {lr: 0.1, schedule: {kind: InverseSqrt, warmup_steps: 16}}
  wsd:
    lr: 0.1
    schedule:
      kind: WarmupStableDecay
      warmup_steps: 20
      stable_steps: 100
      decay_steps: 60
      min_lr_ratio: 0.1
      decay_type: cosine
  relative_floor:
    lr: 0.1
    schedule: {kind: CosineAnnealingLR, T_max: 50, eta_min: "lr / 100"}
  from_params:
    lr: "base * 2"
    params: {base: 0.05}
    schedule: {kind: CosineAnnealingLR, T_max: 80, eta_min: 0.002}
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[lrgen.Spec, ModuleType]]:
    out = tmp_path_factory.mktemp("groups")
    result = {}
    for stem, text in (("torch_kinds", TORCH_SPEC), ("other_kinds", OTHER_SPEC)):
        path = out / f"{stem}.yaml"
        path.write_text(text)
        assert main(["build", str(path), "--out", str(out), "--target", "torch"]) == 0
        result[stem] = (lrgen.load(path), import_path(out / f"{stem}_torch.py", "_lrgen_groups"))
    return result


def _optimizer() -> torch.optim.SGD:
    params = [torch.zeros(1, requires_grad=True) for _ in GROUP_LRS]
    groups = [{"params": [p], "lr": lr} for p, lr in zip(params, GROUP_LRS, strict=True)]
    return torch.optim.SGD(groups, lr=GROUP_LRS[0], momentum=0.9)


def _trace(make: object, steps: int = STEPS) -> tuple[np.ndarray, np.ndarray]:
    """Each group's lr and momentum before each ``step()``: arrays of shape (steps, groups)."""
    optimizer = _optimizer()
    scheduler = make(optimizer)  # type: ignore[operator]
    lrs, momenta = [], []
    for t in range(steps):
        if t:
            optimizer.step()
            scheduler.step()
        lrs.append([group["lr"] for group in optimizer.param_groups])
        momenta.append([group["momentum"] for group in optimizer.param_groups])
    return np.array(lrs), np.array(momenta)


def _class(module: ModuleType, name: str) -> type:
    return getattr(module, ir.Schedule(name, ex.Num(1.0), None).class_name)  # type: ignore[arg-type]


def test_one_cycle_ignores_the_optimizers_lr_as_torch_does(built: dict) -> None:
    """The issue's case: SGD(lr=0.1) with max_lr 1e-3 starts at max_lr / 25 = 4e-5."""
    _, module = built["torch_kinds"]
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    module.OneCycle(optimizer)
    assert optimizer.param_groups[0]["lr"] == pytest.approx(4e-5, rel=1e-12)


TORCH_NAMES = [
    "step_lr",
    "multistep",
    "constant_lr",
    "linear",
    "exponential",
    "polynomial",
    "cosine",
    "restarts",
    "cyclic",
    "one_cycle",
    "lambda_lr",
    "sequential",
    "chained",
]


@pytest.mark.parametrize("name", TORCH_NAMES)
def test_groups_match_torch(built: dict, name: str) -> None:
    spec, module = built["torch_kinds"]
    schedule = spec.schedules[name]
    bound = ir.bind(schedule)
    theirs, their_momenta = _trace(lambda opt: torch_builtin(bound, opt))
    ours, our_momenta = _trace(_class(module, name))
    peak = float(np.max(np.abs(theirs)))
    # torch's recurrent forms accumulate ~1 ulp per step (see test_reference_torch.py).
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12 * peak)
    np.testing.assert_allclose(our_momenta, their_momenta, rtol=1e-9)
    spec_lr = [getattr(module, name)(t) for t in range(STEPS)]
    assert ours[:, 0].tolist() == spec_lr  # the group whose lr is the spec's: exactly lr(t)


@pytest.mark.parametrize("name", ["cosine", "one_cycle", "sequential"])
def test_groups_sharing_an_lr_match_torch(built: dict, name: str) -> None:
    """Groups with the same initial lr share one evaluation per step; each still gets its own
    lr (and momentum)."""
    spec, module = built["torch_kinds"]
    bound = ir.bind(spec.schedules[name])
    lrs = (0.1, 0.02, 0.1, 0.02, 0.5)

    def trace(make: object) -> np.ndarray:
        groups = [{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs]
        optimizer = torch.optim.SGD(groups, lr=0.1, momentum=0.9)
        scheduler = make(optimizer)  # type: ignore[operator]
        out = []
        for _ in range(80):
            optimizer.step()
            scheduler.step()
            out.append([g[k] for g in optimizer.param_groups for k in ("lr", "momentum")])
        return np.array(out)

    theirs = trace(lambda opt: torch_builtin(bound, opt))
    np.testing.assert_allclose(trace(_class(module, name)), theirs, rtol=1e-9, atol=1e-15)


OTHER_NAMES = [
    "exp_decay",
    "piecewise",
    "poly_decay",
    "inverse_time",
    "cosine_decay",
    "cosine_decay_absolute",
    "cosine_restarts",
    "constant",
    "linear_warmup",
    "exponential_warmup",
    "cosine_warmup",
    "warmup_decay",
    "inverse_sqrt",
    "wsd",
    "relative_floor",
    "from_params",
]


@pytest.mark.parametrize("name", OTHER_NAMES)
def test_groups_match_the_reference_with_the_groups_lr(built: dict, name: str) -> None:
    spec, module = built["other_kinds"]
    schedule = spec.schedules[name]
    ours, _ = _trace(_class(module, name))
    steps = np.arange(STEPS)
    for i, lr in enumerate(GROUP_LRS):
        with_group_lr = dataclasses.replace(schedule, lr=ex.Num(lr))
        ref = lrgen.evaluate(with_group_lr, steps)
        np.testing.assert_allclose(ours[:, i], ref, rtol=1e-12, atol=1e-15, err_msg=f"group {i}")
    assert ours[:, 0].tolist() == [getattr(module, name)(t) for t in range(STEPS)]


def test_absolute_values_stay_absolute(built: dict) -> None:
    """eta_min and an explicit initial_learning_rate are not scaled with the group's lr."""
    _, module = built["other_kinds"]
    lrs, _ = _trace(module.CosineDecayAbsolute, steps=101)
    assert lrs[0].tolist() == [0.03, 0.03, 0.03]
    _, module = built["torch_kinds"]
    lrs, _ = _trace(lambda opt: module.Cosine(opt, t_max=50), steps=51)
    assert lrs[50].tolist() == pytest.approx([0.01, 0.01, 0.01], rel=1e-12)


def test_lambda_factory_scales_every_group_in_proportion(built: dict) -> None:
    """``NAME_lambda`` is torch's LambdaLR: each group's lr times lr(t) / lr."""
    _, module = built["torch_kinds"]
    lrs, _ = _trace(module.cosine_lambda, steps=60)
    factors = np.array([module.cosine(t) / 0.1 for t in range(60)])
    np.testing.assert_allclose(lrs, factors[:, None] * np.array(GROUP_LRS), rtol=1e-12)


@pytest.mark.parametrize("name", ["exponential", "cosine", "one_cycle"])
def test_a_group_with_lr_zero_follows_torch(built: dict, name: str) -> None:
    """A frozen group (lr 0) is allowed, as in torch: its lr replaces the spec's lr."""
    spec, module = built["torch_kinds"]
    bound = ir.bind(spec.schedules[name])

    def trace(make: object) -> list[float]:
        params = [torch.zeros(1, requires_grad=True) for _ in range(2)]
        groups = [{"params": [params[0]], "lr": 0.0}, {"params": [params[1]], "lr": 0.1}]
        optimizer = torch.optim.SGD(groups, lr=0.1, momentum=0.9)
        scheduler = make(optimizer)  # type: ignore[operator]
        out = []
        for _ in range(60):
            optimizer.step()
            scheduler.step()
            out.append(optimizer.param_groups[0]["lr"])
        return out

    theirs = trace(lambda opt: torch_builtin(bound, opt))
    np.testing.assert_allclose(trace(_class(module, name)), theirs, rtol=1e-9, atol=1e-15)
