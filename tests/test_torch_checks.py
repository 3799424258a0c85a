"""Errors of the generated torch code: at the step they happen, naming the schedule.

A negative step and a learning rate that is not a finite number raise ValueError in the Python
function, the ``LambdaLR`` callable and the scheduler class (the tensor variant cannot check
without synchronising with the device: it returns the values as computed). Constructor
arguments that break a field's constraints, or that the arithmetic cannot take, raise a
ValueError naming the class, the arguments passed and the field by its spec expression.
"""

from __future__ import annotations

import math
from types import ModuleType

import pytest
import torch

from lrgen.cli import main
from tests.frameworks import import_path

SPEC = """
lrgen: 1
schedules:
  warm:
    lr: 0.001
    params: {warmup: 10}
    schedule: {kind: LinearWarmup, warmup_steps: warmup}
  blowup:
    lr: 0.1
    schedule: {kind: LambdaLR, lr_lambda: "1 / (10 - t)"}
  ratio:
    lr: 0.1
    params: {total: 100, parts: 4, floor: 0.0}
    schedule: {kind: CosineAnnealingLR, T_max: "total / parts", eta_min: "sqrt(floor)"}
  per_lr:
    lr: 0.1
    schedule: {kind: StepLR, step_size: "lr * 1000"}
  chained:
    lr: 0.1
    schedule:
      kind: ChainedScheduler
      schedulers:
        - {kind: ExponentialLR, gamma: 0.9}
        - {kind: ConstantLR, factor: 0.5, total_iters: 3}
"""


@pytest.fixture(scope="module")
def module(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    out = tmp_path_factory.mktemp("checks")
    (out / "checks.yaml").write_text(SPEC)
    assert main(["build", str(out / "checks.yaml"), "--out", str(out), "--target", "torch"]) == 0
    return import_path(out / "checks_torch.py", "_lrgen_checks")


def _optimizer(*lrs: float) -> torch.optim.SGD:
    groups = [{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs]
    return torch.optim.SGD(groups, lr=lrs[0])


def _message(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(ValueError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return str(caught.value)


# --- negative steps -------------------------------------------------------------------------


def test_negative_steps_raise(module: ModuleType) -> None:
    negative = "warm: step -1 is negative; steps count from 0"
    assert _message(module.warm, -1) == negative
    scheduler = module.warm_lambda(_optimizer(0.001))
    assert _message(scheduler.lr_lambdas[0], -1) == negative
    assert module.warm(0) == 0.0  # step 0 itself is fine


def test_the_scheduler_is_never_at_a_negative_step(module: ModuleType) -> None:
    """After construction with the default last_epoch=-1 the step is 0; a negative
    last_epoch other than -1 would put it at a negative step: an error, not a value."""
    optimizer = _optimizer(0.001)
    scheduler = module.Warm(optimizer)
    assert scheduler.last_epoch == 0
    assert optimizer.param_groups[0]["lr"] == 0.0
    optimizer = _optimizer(0.001)
    optimizer.param_groups[0]["initial_lr"] = 0.001
    assert _message(module.Warm, optimizer, last_epoch=-3) == (
        "warm: step -2 is negative; steps count from 0"
    )


def test_the_tensor_variant_does_not_check(module: ModuleType) -> None:
    """No host synchronisation: a negative step gives the formula's value, unchecked."""
    values = module.warm_tensor(torch.tensor([-1, 0, 5]), dtype=torch.float64)
    assert values.tolist() == [-0.0001, 0.0, 0.0005]


# --- learning rates that are not finite numbers --------------------------------------------


def test_non_finite_learning_rates_raise_at_their_step(module: ModuleType) -> None:
    assert module.blowup(9) == pytest.approx(0.1)
    assert _message(module.blowup, 10) == (
        "blowup: the learning rate at step 10 is inf, not a finite number"
    )
    optimizer = _optimizer(0.1)
    scheduler = module.Blowup(optimizer)
    for _ in range(9):
        optimizer.step()
        scheduler.step()
    optimizer.step()
    assert _message(scheduler.step) == (
        "blowup: the learning rate at step 10 is inf, not a finite number"
    )
    lambda_scheduler = module.blowup_lambda(_optimizer(0.1))
    assert _message(lambda_scheduler.lr_lambdas[0], 10) == (
        "blowup: the learning rate at step 10 is inf, not a finite number"
    )
    tensor = module.blowup_tensor(torch.tensor([10]), dtype=torch.float64)
    assert math.isinf(tensor.item())  # documented: as computed


def test_a_formula_that_cannot_be_computed_is_named(module: ModuleType) -> None:
    """A group with lr 0 under ChainedScheduler: lr * (child / lr) is 0 / 0."""
    assert _message(module.Chained, _optimizer(0.0)) == (
        "chained: the learning rate at step 0 is not a number (float division by zero)"
    )


# --- constructor arguments --------------------------------------------------------------------


def test_constructor_errors_name_the_arguments(module: ModuleType) -> None:
    optimizer = _optimizer(0.1)
    assert _message(module.Ratio, optimizer, parts=3) == (
        "Ratio(parts=3): T_max = total / parts must be an integer, got 33.333333333333336"
    )
    assert _message(module.ratio, 0, parts=0) == (
        "Ratio(parts=0): T_max = total / parts must be an integer, got inf"
    )
    assert _message(module.ratio, 0, total=-100) == (
        "Ratio(total=-100): T_max = total / parts must be >= 1, got -25"
    )
    assert _message(module.ratio, 0, floor=-1.0) == (
        "Ratio(floor=-1.0): eta_min = sqrt(floor) must be >= 0, got nan"
    )
    assert _message(module.Warm, _optimizer(0.001), warmup=0) == (
        "Warm(warmup=0): warmup_steps = warmup must be >= 1, got 0"
    )


def test_a_groups_lr_is_named_when_it_breaks_a_check(module: ModuleType) -> None:
    """A field computed from lr is computed from each group's lr: a group whose lr breaks
    the field's constraint is named by that lr."""
    scheduler = module.PerLr(_optimizer(0.1, 0.02))
    assert scheduler.get_last_lr() == [0.1, 0.02]
    assert _message(module.PerLr, _optimizer(0.1, 0.0015)) == (
        "PerLr() for a param group with lr=0.0015: step_size = lr * 1000 must be an integer, "
        "got 1.5"
    )
