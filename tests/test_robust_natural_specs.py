"""Two natural specs that lrgen used to refuse.

- A param named ``steps_per_epoch`` (the obvious way to write OneCycleLR's
  ``epochs * steps_per_epoch``). The generated Keras schedule has a ``steps_per_epoch`` argument
  of its own for ``unit: epoch``; a param of that name *is* that argument: for ``unit: step`` it
  is just the param, for ``unit: epoch`` the one value both feeds the formula and divides the
  optimizer step (so it must be an integer >= 1).
- Keras's canonical warmup, ``CosineDecay(initial_learning_rate=0.0, warmup_target=...)``:
  ``initial_learning_rate`` may be 0 when there is a warmup target, never without one.

Both are compared with the frameworks' own schedules.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import torch
from strategies import generated_module

import lrgen
from lrgen import ir
from lrgen.errors import SpecError
from lrgen.reference import evaluate

COSINE_WARMUP = """\
lrgen: 1
schedules:
  warm:
    lr: 0.001
    schedule:
      kind: CosineDecay
      initial_learning_rate: 0.0
      decay_steps: 100
      alpha: 0.1
      warmup_target: 0.001
      warmup_steps: 10
"""

ONE_CYCLE = """\
lrgen: 1
schedules:
  one:
    lr: 0.01
    params: {epochs: 4, steps_per_epoch: 25}
    schedule:
      kind: OneCycleLR
      max_lr: 0.01
      total_steps: epochs * steps_per_epoch
      cycle_momentum: false
  by_epoch:
    lr: 0.1
    unit: epoch
    params: {steps_per_epoch: 3}
    schedule:
      kind: StepLR
      step_size: 2
      gamma: 0.5
"""


def _spec(tmp_path, text: str, name: str = "natural.yaml") -> ir.Spec:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return lrgen.load(path)


def _keras(schedule, steps: np.ndarray) -> np.ndarray:
    return np.array([float(schedule(int(s))) for s in steps])


# --- CosineDecay warming up from 0 ------------------------------------------------------------


def test_cosine_decay_warmup_from_zero_matches_keras(tmp_path) -> None:
    spec = _spec(tmp_path, COSINE_WARMUP)
    steps = np.arange(0, 130)
    builtin = keras.optimizers.schedules.CosineDecay(
        0.0, 100, alpha=0.1, warmup_target=0.001, warmup_steps=10
    )
    theirs = _keras(builtin, steps)
    ours = evaluate(spec.schedules["warm"], steps)
    generated = _keras(generated_module(spec, "keras").Warm(), steps)
    assert ours[0] == 0.0 and theirs[0] == 0.0
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-10)
    np.testing.assert_allclose(generated, theirs, rtol=1e-5, atol=1e-10)


def test_cosine_decay_zero_without_warmup_is_refused(tmp_path) -> None:
    text = COSINE_WARMUP.replace("      warmup_target: 0.001\n", "")
    with pytest.raises(SpecError) as caught:
        _spec(tmp_path, text)
    [problem] = caught.value.problems
    assert (problem.line, problem.column, problem.path) == (
        7,
        30,
        "schedules.warm.schedule.initial_learning_rate",
    )
    assert problem.message == (
        "0 is allowed only with a warmup_target (the warmup starts from it); else it must be > 0"
    )


def test_cosine_decay_zero_from_a_param_without_warmup_fails_at_binding(tmp_path) -> None:
    text = COSINE_WARMUP.replace("    lr: 0.001\n", "    lr: 0.001\n    params: {start: 0.5}\n")
    text = text.replace("initial_learning_rate: 0.0", "initial_learning_rate: start")
    text = text.replace("      warmup_target: 0.001\n", "")
    schedule = _spec(tmp_path, text).schedules["warm"]
    with pytest.raises(ir.BindError) as caught:
        ir.bind(schedule, {"start": 0.0})
    assert caught.value.path == "schedules.warm.schedule.initial_learning_rate"
    assert caught.value.message.startswith("0 is allowed only with a warmup_target")


# --- a param named steps_per_epoch ------------------------------------------------------------


def test_steps_per_epoch_param_in_a_step_schedule_matches_torch(tmp_path) -> None:
    spec = _spec(tmp_path, ONE_CYCLE)
    steps = np.arange(0, 100)
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.01)
    builtin = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=0.01, epochs=4, steps_per_epoch=25, cycle_momentum=False
    )
    theirs = []
    for _ in steps:
        theirs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        builtin.step()
    ours = evaluate(spec.schedules["one"], steps)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    keras_module = generated_module(spec, "keras")
    np.testing.assert_allclose(_keras(keras_module.One(), steps), theirs, rtol=1e-5)
    # the param is the only steps_per_epoch argument, and it is the param
    longer = keras_module.One(steps_per_epoch=50)
    assert longer.get_config()["steps_per_epoch"] == 50
    np.testing.assert_allclose(
        _keras(longer, steps),
        evaluate(spec.schedules["one"], steps, params={"steps_per_epoch": 50}),
        rtol=1e-5,
    )
    torch_module = generated_module(spec, "torch")
    assert torch_module.one(99, steps_per_epoch=25) == pytest.approx(ours[99], rel=1e-12)


def test_steps_per_epoch_param_in_an_epoch_schedule_also_divides_the_step(tmp_path) -> None:
    spec = _spec(tmp_path, ONE_CYCLE)
    iterations = np.arange(0, 40)
    epochs = iterations // 3
    builtin = keras.optimizers.schedules.ExponentialDecay(0.1, 2, 0.5, staircase=True)
    schedule = generated_module(spec, "keras").ByEpoch()
    assert schedule.steps_per_epoch == 3
    np.testing.assert_allclose(_keras(schedule, iterations), _keras(builtin, epochs), rtol=1e-6)
    np.testing.assert_allclose(
        evaluate(spec.schedules["by_epoch"], epochs), _keras(builtin, epochs), rtol=1e-6
    )
    with pytest.raises(ValueError, match="pass steps_per_epoch >= 1"):
        generated_module(spec, "keras").ByEpoch(steps_per_epoch=0)


@pytest.mark.parametrize("value", ["2.5", "0"])
def test_steps_per_epoch_param_of_an_epoch_schedule_must_be_a_whole_number(
    tmp_path, value: str
) -> None:
    text = ONE_CYCLE.replace(
        "params: {steps_per_epoch: 3}", f"params: {{steps_per_epoch: {value}}}"
    )
    with pytest.raises(SpecError) as caught:
        _spec(tmp_path, text)
    [problem] = caught.value.problems
    assert (problem.line, problem.column, problem.path) == (
        14,
        31,
        "schedules.by_epoch.params.steps_per_epoch",
    )
    assert problem.message == (
        f"{value} is not an integer >= 1: with unit: epoch, the param steps_per_epoch is also the "
        "number of optimizer steps in one epoch of the generated Keras schedule"
    )
