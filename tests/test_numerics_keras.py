"""The Keras target's integer width, float32 accuracy and errors (issue 10, items 1, 5, 6, 7).

Keras counts in int32 on every backend (JAX has no int64 without x64): integer fields beyond
int32 (``decay_steps: 10000000000``, a milestone at ``3e9``, ``epochs * steps_per_epoch``, a
derived ``2 * T_max``) must give the reference's values for every representable step, not wrap,
and an int64 ``optimizer.iterations`` past ``2**31 - 1`` is held there. Each backend runs in a
subprocess of its own (``tests/keras_backend_worker.py`` for values, eager and compiled; a small
script here for the errors).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lrgen
from lrgen import generate, ir, loader
from lrgen.errors import SpecError
from tests.frameworks import float32_close

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "tests" / "keras_backend_worker.py"
BACKENDS = ("tensorflow", "jax")
INT32_MAX = 2**31 - 1

#: Every example of the issue, and the other kinds whose integer fields meet the counter.
GIANT = """\
lrgen: 1
schedules:
  cosine_giant:
    lr: 0.1
    schedule: {kind: CosineDecay, decay_steps: 10000000000}
  cosine_giant_warmup:
    lr: 0.1
    schedule:
      kind: CosineDecay
      decay_steps: 10000000000
      warmup_target: 0.2
      warmup_steps: 3000000000
  piecewise_giant:
    lr: 0.1
    schedule:
      kind: PiecewiseConstantDecay
      boundaries: [10, 3000000000]
      values: [0.1, 0.01, 0.001]
  wsd_giant:
    lr: 0.1
    schedule: {kind: WarmupStableDecay, warmup_steps: 10, stable_steps: 3e9, decay_steps: 100}
  multistep_giant:
    lr: 0.1
    schedule: {kind: MultiStepLR, milestones: [5, 3e9], gamma: 0.5}
  onecycle_giant:
    lr: 0.1
    schedule: {kind: OneCycleLR, max_lr: 0.1, epochs: 100000, steps_per_epoch: 30000}
  annealing_2_30:
    lr: 0.1
    schedule: {kind: CosineAnnealingLR, T_max: 1073741824}
  step_giant:
    lr: 0.1
    schedule: {kind: StepLR, step_size: 3000000000, gamma: 0.5}
  exponential_giant:
    lr: 0.1
    schedule: {kind: ExponentialDecay, decay_steps: 10000000000, decay_rate: 0.5}
  polynomial_cycle_giant:
    lr: 0.1
    schedule: {kind: PolynomialDecay, decay_steps: 3000000000, cycle: true}
  polynomial_giant:
    lr: 0.1
    schedule: {kind: PolynomialDecay, decay_steps: 3000000000, power: 2.0}
  linear_giant:
    lr: 0.1
    schedule: {kind: LinearLR, total_iters: 3000000000}
  sequential_giant:
    lr: 0.1
    schedule:
      kind: SequentialLR
      milestones: [3000000000]
      schedulers: [{kind: LinearWarmup, warmup_steps: 100}, {kind: ExponentialLR, gamma: 0.5}]
  restarts_giant:
    lr: 0.1
    schedule: {kind: CosineAnnealingWarmRestarts, T_0: 3000000000}
  cyclic_giant:
    lr: 0.1
    schedule: {kind: CyclicLR, base_lr: 0.01, max_lr: 0.1, step_size_up: 3000000000}
  inverse_sqrt_giant:
    lr: 0.1
    schedule: {kind: InverseSqrt, warmup_steps: 3000000000}
  warmup_decay_giant:
    lr: 0.1
    schedule: {kind: WarmupWithDecay, warmup_steps: 10, total_steps: 5000000000}
  sequential_nested_giant:
    lr: 0.1
    schedule:
      kind: SequentialLR
      milestones: [100, 3000000000]
      schedulers:
        - {kind: LinearWarmup, warmup_steps: 100}
        - {kind: CosineAnnealingLR, T_max: 3000000000}
        - {kind: ExponentialLR, gamma: 0.5}
  one_cycle_three_phase_giant:
    lr: 0.1
    schedule:
      kind: OneCycleLR
      max_lr: 0.1
      total_steps: 3000000000
      three_phase: true
      anneal_strategy: linear
  cyclic_down_giant:
    lr: 0.1
    schedule:
      kind: CyclicLR
      base_lr: 0.01
      max_lr: 0.1
      step_size_up: 10
      step_size_down: 3000000000
      mode: triangular2
  restarts_decay_giant:
    lr: 0.1
    schedule: {kind: CosineDecayRestarts, first_decay_steps: 3000000000, t_mul: 2.0}
  restarts_fixed_giant:
    lr: 0.1
    schedule: {kind: CosineDecayRestarts, first_decay_steps: 3000000000, t_mul: 1.0, m_mul: 0.9}
  warm_restarts_giant:
    lr: 0.1
    schedule: {kind: CosineAnnealingWarmRestarts, T_0: 3000000000, T_mult: 2}
  wsd_decay_giant:
    lr: 0.1
    schedule:
      kind: WarmupStableDecay
      warmup_steps: 10
      stable_steps: 100
      decay_steps: 3000000000
      decay_type: cosine
      warmup_type: 1-sqrt
  polynomial_giant_epochs:
    lr: 0.1
    unit: epoch
    schedule: {kind: PolynomialLR, total_iters: 3000000000, power: 1.0}
"""

#: float32 accuracy (item 5): decays whose float32 error grew with the exponent, restart peaks
#: m_mul ** n, and cosines that rise (eta_min above lr).
ACCURACY = """\
lrgen: 1
schedules:
  exponential_75:
    lr: 0.1
    schedule: {kind: ExponentialLR, gamma: 0.75}
  exponential_9383:
    lr: 0.1
    schedule: {kind: ExponentialLR, gamma: 0.9383}
  exponential_slow:
    lr: 0.1
    schedule: {kind: ExponentialLR, gamma: 0.999991}
  exponential_param:
    lr: 0.1
    params: {g: 0.75, d: 7}
    schedule: {kind: ExponentialDecay, decay_steps: d, decay_rate: g}
  restart_peaks:
    lr: 0.1
    schedule: {kind: CosineDecayRestarts, first_decay_steps: 1, t_mul: 1.0, m_mul: 0.99999996}
  restart_peaks_param:
    lr: 0.1
    params: {m: 0.99999996}
    schedule: {kind: CosineDecayRestarts, first_decay_steps: 1, t_mul: 1.0, m_mul: m}
  restart_peaks_fast:
    lr: 0.1
    schedule: {kind: CosineDecayRestarts, first_decay_steps: 3, t_mul: 1.0, m_mul: 0.9999}
  exponential_close_to_1:
    lr: 0.1
    schedule: {kind: ExponentialLR, gamma: 0.9999999}
  restarts_doubling:
    lr: 0.05
    schedule: {kind: CosineAnnealingWarmRestarts, T_0: 10, T_mult: 2}
  restarts_fractional:
    lr: 0.1
    schedule: {kind: CosineDecayRestarts, first_decay_steps: 1, t_mul: 1.25}
  restarts_fractional_fine:
    lr: 0.1
    schedule: {kind: CosineDecayRestarts, first_decay_steps: 1, t_mul: 1.05078125}
  restarts_fractional_slow:
    lr: 0.1
    schedule: {kind: CosineDecayRestarts, first_decay_steps: 3, t_mul: 1.003, m_mul: 0.9}
  rising_annealing:
    lr: 0.001
    schedule: {kind: CosineAnnealingLR, T_max: 1000, eta_min: 0.1}
  rising_restarts:
    lr: 0.001
    schedule: {kind: CosineAnnealingWarmRestarts, T_0: 1000, eta_min: 0.1}
  rising_warmup_decay:
    lr: 0.001
    schedule: {kind: WarmupWithDecay, warmup_steps: 10, total_steps: 2000, min_lr: 0.1}
"""

LARGE = [2**24, 2**24 + 1, 10**8, 1326844755, 2**30, 2**31 - 3, 2**31 - 2, INT32_MAX]
#: Random steps above 2**24 (float32 has no units digit there), the same on every run.
HIGH = np.random.default_rng(10).integers(2**24, INT32_MAX, 3000)
STEPS_PER_EPOCH = 3


def _steps(schedule: ir.Schedule) -> np.ndarray:
    base = np.arange(0, 2100)
    spaced = np.arange(0, 2_000_000, 997)
    steps = np.unique(np.concatenate([base, spaced, LARGE, HIGH]))
    if schedule.unit == "epoch":
        steps = steps[steps * STEPS_PER_EPOCH <= INT32_MAX]
    return steps


def _request(specs: dict[str, str]) -> tuple[dict[str, Any], dict[str, tuple[Any, ...]]]:
    request: dict[str, Any] = {"modules": {}, "schedules": {}}
    expected: dict[str, tuple[Any, ...]] = {}
    for stem, text in specs.items():
        spec = loader.load_text(text, f"{stem}.yaml")
        module = f"_lrgen_numerics_{stem}_keras"
        request["modules"][module] = generate.render(spec, "keras")
        for name, schedule in spec.schedules.items():
            steps = _steps(schedule)
            per_epoch = schedule.unit == "epoch"
            iterations = steps * STEPS_PER_EPOCH if per_epoch else steps
            request["schedules"][f"{stem}.{name}"] = {
                "module": module,
                "class_name": schedule.class_name,
                "kwargs": {"steps_per_epoch": STEPS_PER_EPOCH} if per_epoch else {},
                "iterations": iterations.tolist(),
            }
            expected[f"{stem}.{name}"] = (steps, lrgen.evaluate(schedule, steps))
    return request, expected


def _run(backend: str, script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, str(script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


@pytest.fixture(scope="module", params=BACKENDS)
def backend_values(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, dict[str, Any], dict[str, tuple[Any, ...]]]:
    backend: str = request.param
    pytest.importorskip(backend)
    work, expected = _request({"giant": GIANT, "accuracy": ACCURACY})
    tmp = tmp_path_factory.mktemp(f"numerics-{backend}")
    (tmp / "request.json").write_text(json.dumps(work))
    proc = _run(backend, WORKER, str(tmp / "request.json"), str(tmp / "result.json"))
    assert proc.returncode == 0, proc.stderr[-5000:]
    return backend, json.loads((tmp / "result.json").read_text())["results"], expected


@pytest.mark.parametrize("what", ["eager", "jit", "scalar"])
@pytest.mark.parametrize("stem", ["giant", "accuracy"])
def test_keras_equals_reference(backend_values: tuple, what: str, stem: str) -> None:
    """Before: ``decay_steps: 10000000000`` wrapped in int32 (wrong from step 0), ``T_max:
    2**30`` raised OverflowError on JAX, milestones beyond 2**31 wrapped to negative steps;
    ExponentialLR gamma 0.75 was 1.1e-6 off at t = 48, ``m_mul ** n`` 79% off for
    m_mul = 0.99999996, rising cosines 1e-5..3e-5 off, growing restart periods up to 2e-5 off
    near their ends (T_mult 2 at t = 1326844755, t_mul 1.25 at t = 54)."""
    backend, results, expected = backend_values
    problems = []
    for key, (steps, ref) in expected.items():
        if not key.startswith(stem + "."):
            continue
        got_all = results[key]["cpu"]
        if "error" in got_all:
            problems.append(f"{key}: raised {got_all['error'][-600:]}")
            continue
        if what == "scalar":
            index = np.asarray(got_all["scalar_index"])
            got, want, at = np.asarray(got_all["scalar"]), ref[index], steps[index]
        else:
            got, want, at = np.asarray(got_all[what]), ref, steps
        ok = float32_close(got, want, float(np.max(np.abs(ref))))
        if not ok.all():
            i = int(np.argmax(~ok))
            problems.append(f"{key} {what} t={int(at[i])}: {got[i]!r} != {want[i]!r}")
    assert not problems, f"{backend}:\n" + "\n".join(problems)


ERRORS_SCRIPT = textwrap.dedent(
    """
    import importlib.util, json, sys
    import keras
    import numpy as np

    path, out = sys.argv[1], sys.argv[2]
    spec = importlib.util.spec_from_file_location("numerics_errors_keras", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = {}

    def attempt(key, fn):
        try:
            value = fn()
            result[key] = {"value": np.asarray(keras.ops.convert_to_numpy(value)).tolist()}
        except Exception as err:
            result[key] = {"error": type(err).__name__, "message": str(err)}

    attempt("negative_scalar", lambda: module.CosineGiant()(-1))
    attempt("negative_tensor", lambda: module.CosineGiant()(keras.ops.convert_to_tensor([3, -2])))
    attempt("python_int_past_int32", lambda: module.CosineGiant()(3_000_000_000))
    attempt("nan_lr", lambda: module.Poly()(keras.ops.convert_to_tensor([0, 5, 11, 12])))
    attempt("inf_lr", lambda: module.Blowup()(0))
    attempt("param_too_big", lambda: module.Stepped(size=3e9))
    attempt("param_fits", lambda: module.Stepped(size=2**31 - 1)(5))
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        iterations = tf.Variable(2**31 + 5, dtype="int64")
        attempt("int64_iterations", lambda: module.CosineGiant()(iterations))
        attempt(
            "traced_nan",
            lambda: tf.function(module.Poly().__call__)(tf.constant([11], dtype="int32")),
        )
    elif backend == "jax":
        import jax

        attempt("traced_nan", lambda: jax.jit(module.Poly().__call__)(np.array([11], np.int32)))
    with open(out, "w") as f:
        json.dump(result, f)
    """
)

ERRORS_SPEC = """\
lrgen: 1
schedules:
  cosine_giant:
    lr: 0.1
    schedule: {kind: CosineDecay, decay_steps: 10000000000}
  poly:
    lr: 0.1
    schedule: {kind: LambdaLR, lr_lambda: "(1 - t / 10) ** 0.9"}
  blowup:
    lr: 0.1
    schedule: {kind: LambdaLR, lr_lambda: "exp(1000)"}
  stepped:
    lr: 0.1
    params: {size: 10}
    schedule: {kind: StepLR, step_size: size, gamma: 0.5}
"""


@pytest.fixture(scope="module", params=BACKENDS)
def backend_errors(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, dict[str, Any]]:
    backend: str = request.param
    pytest.importorskip(backend)
    tmp = tmp_path_factory.mktemp(f"numerics-errors-{backend}")
    spec = loader.load_text(ERRORS_SPEC, "numerics_errors.yaml")
    module = tmp / "numerics_errors_keras.py"
    module.write_text(generate.render(spec, "keras"))
    script = tmp / "errors.py"
    script.write_text(ERRORS_SCRIPT)
    proc = _run(backend, script, str(module), str(tmp / "out.json"))
    assert proc.returncode == 0, proc.stderr[-5000:]
    return backend, json.loads((tmp / "out.json").read_text())


def test_negative_steps_raise_in_eager_mode(backend_errors: tuple) -> None:
    """Before: ``warm(-1)`` gave -0.001 (a negative rate) where the reference raises."""
    _, result = backend_errors
    assert result["negative_scalar"] == {
        "error": "ValueError",
        "message": "cosine_giant: step -1 is negative; steps count from 0",
    }
    assert result["negative_tensor"]["message"] == (
        "cosine_giant: step -2 is negative; steps count from 0"
    )


def test_steps_past_int32_are_held_not_wrapped(backend_errors: tuple) -> None:
    """A Python int or an int64 ``optimizer.iterations`` past 2**31 - 1 counts as 2**31 - 1
    (before: an OverflowError on JAX, and on TensorFlow a wrapped negative step: inf)."""
    backend, result = backend_errors
    spec = loader.load_text(ERRORS_SPEC, "numerics_errors.yaml")
    held = lrgen.evaluate(spec.schedules["cosine_giant"], [INT32_MAX])[0]
    assert result["python_int_past_int32"]["value"] == pytest.approx(held, rel=1e-6)
    if backend == "tensorflow":
        assert result["int64_iterations"]["value"] == pytest.approx(held, rel=1e-6)


def test_non_finite_rate_raises_in_eager_mode_naming_schedule_and_step(
    backend_errors: tuple,
) -> None:
    """Before: nan (past the end of ``(1 - t / 10) ** 0.9``) and inf went to the optimizer."""
    _, result = backend_errors
    assert result["nan_lr"] == {
        "error": "ValueError",
        "message": "poly: the learning rate at step 11 is nan, not a finite number",
    }
    assert result["inf_lr"]["message"] == (
        "blowup: the learning rate at step 0 is inf, not a finite number"
    )


def test_traced_calls_return_nan_unchecked(backend_errors: tuple) -> None:
    """Inside jax.jit / tf.function a check would need a host round trip: the value (nan, the
    reference's value) comes back as is (documented in docs/differences.md)."""
    _, result = backend_errors
    assert "value" in result["traced_nan"], result["traced_nan"]
    assert np.isnan(result["traced_nan"]["value"]).all()


def test_parameter_beyond_int32_is_a_valueerror_naming_it(backend_errors: tuple) -> None:
    _, result = backend_errors
    assert result["param_too_big"] == {
        "error": "ValueError",
        "message": "Stepped(size=3000000000.0): step_size = 3000000000 is beyond the Keras "
        "target's int32 step arithmetic (at most 2**31 - 1); the PyTorch target has no such "
        "limit",
    }
    assert result["param_fits"]["value"] == pytest.approx(0.1)


def test_restart_periods_are_bounded_at_validate(tmp_path: Path) -> None:
    """``t_mul: 1.0000001`` tabulated 5e7 periods (minutes, then MemoryError): now a positioned
    error at validate, naming the limit."""
    text = textwrap.dedent(
        """\
        lrgen: 1
        schedules:
          sgdr:
            lr: 0.1
            schedule: {kind: CosineDecayRestarts, first_decay_steps: 1, t_mul: 1.0000001}
        """
    )
    with pytest.raises(SpecError) as err:
        loader.load_text(text, tmp_path / "sgdr.yaml")
    assert str(err.value).startswith(
        f"{tmp_path / 'sgdr.yaml'}:5:72: schedules.sgdr.schedule.t_mul: 1.0000001 is too close "
        "to 1: about 53741131 restart periods start before step 2**31 - 1, more than the 16384"
    )
    assert ir.restart_periods(1, 1.001) <= ir.MAX_RESTART_PERIODS  # a usual t_mul still fits


def test_restart_periods_bounded_for_a_parameter(tmp_path: Path) -> None:
    """A runtime ``t_mul`` parameter: the generated helper stops at the limit (bounded work)."""
    text = textwrap.dedent(
        """\
        lrgen: 1
        schedules:
          sgdr:
            lr: 0.1
            params: {growth: 2.0}
            schedule: {kind: CosineDecayRestarts, first_decay_steps: 1, t_mul: growth}
        """
    )
    spec = loader.load_text(text, tmp_path / "sgdr.yaml")
    path = tmp_path / "sgdr_torch.py"
    path.write_text(generate.render(spec, "torch"))
    from tests.frameworks import import_path

    module = import_path(path)
    with pytest.raises(ValueError, match="more than 16384 restart periods"):
        module.sgdr(5, growth=1.0000001)
    assert module.sgdr(5, growth=2.0) == pytest.approx(
        lrgen.evaluate(spec.schedules["sgdr"], [5])[0]
    )
