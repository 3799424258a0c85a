"""Property tests (issue 4): for random specs and steps, the generated code equals the reference.

Each example draws a closed-form schedule from :mod:`tests.strategies` (every kind, nested
composites, fields that are expressions over params, params overridden at evaluation), renders it
once per target with :func:`lrgen.generate.render`, imports the module (cached by source hash) and
compares it with :func:`lrgen.evaluate` at 0, every boundary -1/0/+1, the end of the horizon and
beyond, and steps up to 2**31 - 1. Tolerances (docs/verification.md): float64 targets
:func:`float64_close` (1e-12 relative plus a 1e-14 * peak floor), float32 targets
:func:`float32_close` (1e-6 relative where the LR is >= 1e-6 of its peak, 2e-7 * peak elsewhere).

Pinned cases (``@example``) are boundaries that broke once or that random draws rarely reach;
those marked ``xfail`` are open findings (``tests.strategies.OPEN_FINDINGS``), strict so that they
fail the test once fixed.
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, example, given, note, settings
from hypothesis import strategies as st

import lrgen
from lrgen import ir, reference
from lrgen.loader import load_text
from tests.conftest import torch_devices
from tests.frameworks import (
    boundary_steps,
    float64_close,
    keras_builtin,
    keras_values,
    momentum_trace,
    torch_builtin,
    torch_trace,
)
from tests.strategies import (
    FINDING_ERRORS,
    FINDING_SIGNATURES,
    MAX_STEP,
    OPEN_FINDINGS,
    Case,
    FindingReproduced,
    cases,
    example_case,
    extra_steps,
    finding_error,
    float32_rule,
    float32_steps,
    float64_steps,
    generated_module,
    keras_cases,
    momentum_cases,
    spec_json,
    steps_for,
    torch_cases,
    torch_horizon,
    without_positions,
)

torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")

DENSE = 400  # at most this many steps of a torch scheduler are stepped through one at a time


def _worst(got: np.ndarray, ref: np.ndarray, steps: np.ndarray, ok: np.ndarray) -> str:
    """The first step where ``ok`` is False."""
    got = np.asarray(got, dtype=np.float64)
    i = int(np.argmax(~ok))
    rel = abs(got[i] - ref[i]) / max(abs(ref[i]), 1e-300)
    return (
        f"first failure at t={int(steps[i])}: got {got[i]!r}, expected {ref[i]!r} (rel {rel:.3g})"
    )


def _assert_close(
    rule: Callable[..., np.ndarray],
    got: Any,
    ref: np.ndarray,
    steps: Any,
    case: Case | None = None,
    precision: str = "float64",
) -> None:
    """Fail at the first step where ``rule`` does not hold; with ``case`` a pinned example of an
    open finding, a failure that is that finding's raises its own class (the xfail's)."""
    got = np.asarray(got, dtype=np.float64)
    assert got.shape == ref.shape, (got.shape, ref.shape)
    ok = rule(got, ref)
    if not ok.all():
        steps = np.asarray(steps)
        step = int(steps[int(np.argmax(~ok))])
        error = finding_error(case, precision, step) if case else AssertionError
        raise error(_worst(got, ref, steps, ok))


def _reference(case: Case, steps: np.ndarray) -> np.ndarray:
    return lrgen.evaluate(case.schedule, steps, params=case.params)


def _module(case: Case, target: str) -> Any:
    note(f"spec: {spec_json(case.schedule)}")
    note(f"params: {dict(case.params)}")
    return generated_module(case.spec, target)


def _optimizer(lr: float, momentum: float = 0.9) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr, momentum=momentum)


def _dense(steps: np.ndarray) -> int:
    """How many steps to step a scheduler through: past every small boundary, within DENSE."""
    small = steps[steps < DENSE]
    return int(small.max()) + 1 if small.size else DENSE


def _xfail(finding: str) -> dict:
    """A strict xfail for a pinned example of an open finding, which passes only if the example
    fails as the finding says (FINDING_SIGNATURES); a closed finding runs as a plain example."""
    return {
        "condition": finding in OPEN_FINDINGS,
        "reason": finding,
        "raises": FINDING_ERRORS.get(finding, FindingReproduced),
    }


# --- pinned cases ------------------------------------------------------------------------------

#: cos(pi * t / 2) at t = 2**31 - 1 is 0 exactly: the reference lost 1.5e-7 there (fixed).
COSINE_LARGE_T = example_case("CosineAnnealingLR", lr=1.0, T_max=2)
#: Open finding "reference-polynomial-cycle": 1 - t / D' cancels at t = 2**31 - 2.
POLYNOMIAL_CYCLE_SQRT = example_case(
    "PolynomialDecay",
    decay_steps=5,
    power=0.5,
    end_learning_rate=0.0,
    cycle=True,
    finding="reference-polynomial-cycle",
)
#: Fixed finding "float32-decay": 0.1 * 0.75**48 in float32 was 1.1e-6 relative off.
FLOAT32_DECAY = example_case("ExponentialLR", lr=0.1, gamma=0.75)
#: Fixed finding "restart-multiplier-param": T_mult from a param that is 1.
RESTART_PARAM = example_case(
    "CosineAnnealingWarmRestarts", params={"m": 1}, T_0=10, T_mult="m", eta_min=0.001
)
RESTART_PARAM_KERAS = example_case(
    "CosineDecayRestarts", lr=1.0, params={"m": 1.0}, first_decay_steps=10, t_mul="m"
)
#: Fixed finding "float32-restart-remaining": a period of 10 * 2**27 steps, near its end.
RESTART_FLOAT32 = example_case("CosineAnnealingWarmRestarts", lr=0.05, T_0=10, T_mult=2)
RESTART_FLOAT32_STEPS = [1326844755]  # 6.43713e-05 in float32, 6.43710e-05 exact
RESTART_FRACTIONAL = example_case("CosineDecayRestarts", first_decay_steps=1, t_mul=1.25)
#: Fixed finding "float32-descending-warmup": a warmup from 1.0 down to 0.01, at t = 98.
DESCENDING_WARMUP = example_case(
    "CosineDecay", lr=1.0, decay_steps=10, warmup_target=0.01, warmup_steps=100
)
#: Fixed finding "float32-wsd-1-sqrt": 1 - sqrt(29 / 30) in float32.
WSD_SQRT_DECAY = example_case(
    "WarmupStableDecay", warmup_steps=0, stable_steps=0, decay_steps=30, decay_type="1-sqrt"
)
WSD_SQRT_WARMUP = example_case(
    "WarmupStableDecay", warmup_steps=100, stable_steps=0, decay_steps=1, warmup_type="1-sqrt"
)
#: Fixed finding "keras-polynomial-cycle-overflow": t + decay_steps - 1 overflows int32.
POLYNOMIAL_CYCLE = example_case("PolynomialDecay", decay_steps=3, cycle=True)

#: Fixed finding "python-pow-overflow": 2.0 ** (x - 1) overflows a Python float at x ~ 1e9.
TRIANGULAR2_AS_SCALE_FN = example_case(
    "CyclicLR",
    base_lr=0.01,
    max_lr=0.1,
    step_size_up=1,
    scale_fn="1 / (2.0 ** (x - 1))",
    scale_mode="cycle",
    cycle_momentum=False,
)

#: Boundaries that random draws rarely reach exactly.
CONSTANT_ZERO_ITERS = example_case("ConstantLR", factor=0.5, total_iters=0)
ONE_CYCLE_ZERO_PHASE = example_case(  # pct_start * total_steps = 1: a first phase of length 0
    "OneCycleLR", max_lr=0.1, total_steps=10, pct_start=0.1, anneal_strategy="linear"
)
ONE_CYCLE_LATE_THIRD_PHASE = example_case(  # 2 p N - 2 >= N - 1: torch never reaches phase 3
    "OneCycleLR", max_lr=0.1, total_steps=20, pct_start=0.6, three_phase=True
)
COSINE_DECAY_NO_WARMUP_STEPS = example_case(
    "CosineDecay", lr=0.01, decay_steps=50, alpha=0.1, warmup_target=0.1, warmup_steps=0
)
PIECEWISE_AT_ZERO = example_case("PiecewiseConstantDecay", boundaries=[0, 7], values=[1, 0.5, 0])
PIECEWISE_FLOATS = example_case(  # Keras's built-in needs values of one dtype
    "PiecewiseConstantDecay", boundaries=[0, 7], values=[1.0, 0.5, 0.0]
)
POLYNOMIAL_POWER_ZERO = example_case("PolynomialLR", total_iters=7, power=0.0)
NESTED_WITH_PARAMS = example_case(
    "SequentialLR",
    lr="base",
    params={"base": 0.5, "warm": 10, "hold": 20},
    overrides={"warm": 12, "base": 0.25},
    milestones=["warm"],
    schedulers=[
        ir.make_node("LinearWarmup", param_names=frozenset({"warm"}), warmup_steps="warm"),
        ir.make_node(
            "SequentialLR",
            param_names=frozenset({"hold"}),
            milestones=["hold + 1"],
            schedulers=[
                ir.make_node("Constant"),
                ir.make_node(
                    "ChainedScheduler",
                    schedulers=[
                        ir.make_node("CosineWarmup", warmup_steps=5),
                        ir.make_node("InverseSqrt", warmup_steps=3, timescale=7.5),
                    ],
                ),
            ],
        ),
    ],
)
LAMBDA_STEP_WITH_OVERRIDE = example_case(
    "LambdaLR", params={"p": 40}, overrides={"p": 41}, lr_lambda="1.0 if t < p else 0.1"
)
WSD_ZERO_WARMUP = example_case(
    "WarmupStableDecay",
    warmup_steps=0,
    stable_steps=0,
    decay_steps=1,
    min_lr_ratio=0.0,
    decay_type="1-sqrt",
)
#: The reference computes 1 + (end - start) in float64, which cancels to 0 here; the generated
#: code anchors at the smaller endpoint. The float64 floor is relative to the schedule's peak.
LINEAR_TINY_END = example_case("LinearLR", start_factor=1.0, end_factor=1e-231, total_iters=1)
#: A user expression exponential in t, down to 1e-6 of its peak at t = 20.
LAMBDA_POWER = example_case("LambdaLR", lr_lambda="0.5 ** floor(t / 1)")
EPOCH_UNIT = example_case("StepLR", lr=1.0, unit="epoch", step_size=3, gamma=0.5)


# --- torch: function, class, LambdaLR factory, resume -----------------------------------------


@given(case=cases(), extra=extra_steps())
@example(case=CONSTANT_ZERO_ITERS, extra=[])
@example(case=ONE_CYCLE_ZERO_PHASE, extra=[])
@example(case=ONE_CYCLE_LATE_THIRD_PHASE, extra=[])
@example(case=NESTED_WITH_PARAMS, extra=[])
@example(case=LAMBDA_STEP_WITH_OVERRIDE, extra=[])
@example(case=WSD_ZERO_WARMUP, extra=[])
@example(case=POLYNOMIAL_POWER_ZERO, extra=[])
@example(case=COSINE_LARGE_T, extra=[])
@example(case=POLYNOMIAL_CYCLE_SQRT, extra=[]).xfail(**_xfail("reference-polynomial-cycle"))
@example(case=TRIANGULAR2_AS_SCALE_FN, extra=[])
def test_torch_function_and_class_equal_reference(case: Case, extra: Sequence[int]) -> None:
    mod = _module(case, "torch")
    steps = float64_steps(case, steps_for(case.bound, extra))
    ref = _reference(case, steps)
    function = getattr(mod, case.schedule.name)
    got = np.array([function(int(t), **case.params) for t in steps])
    _assert_close(float64_close, got, ref, steps, case, "float64")

    n = _dense(steps)
    cls = getattr(mod, case.schedule.class_name)
    trace = torch_trace(lambda opt: cls(opt, **case.params), n, case.lr)
    _assert_close(float64_close, trace, _reference(case, np.arange(n)), np.arange(n))


@given(case=cases(), n=st.integers(1, 300))
@settings(max_examples=15)
@example(case=NESTED_WITH_PARAMS, n=40)
def test_lambda_factory_equals_class(case: Case, n: int) -> None:
    mod = _module(case, "torch")
    cls = getattr(mod, case.schedule.class_name)
    factory = getattr(mod, f"{case.schedule.name}_lambda")
    ours = torch_trace(lambda opt: cls(opt, **case.params), n, case.lr)
    theirs = torch_trace(lambda opt: factory(opt, **case.params), n, case.lr)
    _assert_close(float64_close, theirs, ours, np.arange(n))


def _step_through(sched: Any, opt: torch.optim.Optimizer, count: int) -> list[float]:
    lrs = [sched.get_last_lr()[0]]
    for _ in range(count):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    return lrs


@given(case=cases(), k=st.integers(0, 300))
@settings(max_examples=15)
@example(case=ONE_CYCLE_LATE_THIRD_PHASE, k=19)
def test_resume_from_pickled_state_dict_equals_stepping(case: Case, k: int) -> None:
    mod = _module(case, "torch")
    cls = getattr(mod, case.schedule.class_name)
    factory = getattr(mod, f"{case.schedule.name}_lambda")
    for make in (cls, factory):
        opt = _optimizer(case.lr)
        sched = make(opt, **case.params)
        _step_through(sched, opt, k)
        state = pickle.loads(pickle.dumps(sched.state_dict()))
        expected = _step_through(sched, opt, 15)
        opt2 = _optimizer(case.lr)
        resumed = make(opt2, **case.params)
        resumed.load_state_dict(state)
        assert resumed.last_epoch == k
        assert _step_through(resumed, opt2, 15)[1:] == expected[1:]


@given(case=cases(), k=st.integers(0, MAX_STEP - 2) | st.sampled_from((2**24, MAX_STEP - 2)))
@settings(max_examples=15)
@example(case=NESTED_WITH_PARAMS, k=MAX_STEP - 2)
@example(case=LINEAR_TINY_END, k=0)
def test_class_resumed_at_a_large_step_equals_reference(case: Case, k: int) -> None:
    """A state saved after K steps (K up to 2**31 - 3) resumes at lr(K + 1), lr(K + 2)."""
    if not float64_steps(case, np.array([k + 2])).size:
        k %= 9_999  # around an open finding of the reference at large steps (strategies.py)
    mod = _module(case, "torch")
    cls = getattr(mod, case.schedule.class_name)
    opt = _optimizer(case.lr)
    state = cls(opt, **case.params).state_dict()
    state["last_epoch"], state["_step_count"] = k, k + 1
    resumed = cls(opt, **case.params)
    resumed.load_state_dict(pickle.loads(pickle.dumps(state)))
    steps = np.array([k + 1, k + 2])
    peak = float(np.max(np.abs(_reference(case, steps_for(case.bound)))))  # the floor's scale
    _assert_close(
        lambda got, ref: np.abs(got - ref) <= 1e-12 * np.abs(ref) + 1e-14 * peak,
        _step_through(resumed, opt, 2)[1:],
        _reference(case, steps),
        steps,
    )


# --- torch: tensor variant on every device ------------------------------------------------------


@pytest.mark.parametrize("device", torch_devices())
@given(case=cases(), extra=extra_steps())
@example(case=PIECEWISE_AT_ZERO, extra=[])
@example(case=NESTED_WITH_PARAMS, extra=[])
@example(case=LAMBDA_POWER, extra=[])
@example(case=TRIANGULAR2_AS_SCALE_FN, extra=[])
@example(case=COSINE_LARGE_T, extra=[])
@example(case=FLOAT32_DECAY, extra=[])
@example(case=POLYNOMIAL_CYCLE_SQRT, extra=[]).xfail(**_xfail("reference-polynomial-cycle"))
@example(case=DESCENDING_WARMUP, extra=[])
@example(case=WSD_SQRT_DECAY, extra=[])
@example(case=RESTART_PARAM, extra=[])
@example(case=RESTART_FLOAT32, extra=RESTART_FLOAT32_STEPS)
@example(case=RESTART_FRACTIONAL, extra=[])
def test_torch_tensor_equals_reference(device: str, case: Case, extra: Sequence[int]) -> None:
    mod = _module(case, "torch")
    tensor_fn = getattr(mod, f"{case.schedule.name}_tensor")
    steps = steps_for(case.bound, extra)
    t = torch.as_tensor(steps, device=device)

    got64 = tensor_fn(t, **case.params, dtype=torch.float64)
    assert got64.dtype == torch.float64 and got64.device == t.device
    keep = np.isin(steps, float64_steps(case, steps))
    ref = _reference(case, steps[keep])
    _assert_close(float64_close, got64.cpu().numpy()[keep], ref, steps[keep], case, "float64")

    got32 = tensor_fn(t, **case.params, dtype=torch.float32)
    assert got32.dtype == torch.float32 and got32.device == t.device
    keep = np.isin(steps, float32_steps(case, steps))
    ref = _reference(case, steps[keep])
    _assert_close(float32_rule(case), got32.cpu().numpy()[keep], ref, steps[keep], case, "float32")


# --- keras (TensorFlow backend, in process) -----------------------------------------------------


def _keras_schedule(case: Case, steps_per_epoch: int = 1, **kw: Any) -> Any:
    cls = getattr(_module(case, "keras"), case.schedule.class_name)
    if case.schedule.unit == "epoch":
        return cls(**case.params, steps_per_epoch=steps_per_epoch, **kw)
    return cls(**case.params, **kw)


@given(case=cases(), extra=extra_steps(), per_epoch=st.integers(1, 5), offset=st.integers(0, 4))
@example(case=EPOCH_UNIT, extra=[MAX_STEP // 5 - 1], per_epoch=5, offset=4)
@example(case=PIECEWISE_AT_ZERO, extra=[], per_epoch=1, offset=0)
@example(case=COSINE_DECAY_NO_WARMUP_STEPS, extra=[], per_epoch=1, offset=0)
@example(case=NESTED_WITH_PARAMS, extra=[], per_epoch=1, offset=0)
@example(case=FLOAT32_DECAY, extra=[], per_epoch=1, offset=0)
@example(case=RESTART_FLOAT32, extra=RESTART_FLOAT32_STEPS, per_epoch=1, offset=0)
@example(case=RESTART_FRACTIONAL, extra=[], per_epoch=1, offset=0)
@example(case=DESCENDING_WARMUP, extra=[], per_epoch=1, offset=0)
@example(case=WSD_SQRT_WARMUP, extra=[], per_epoch=1, offset=0)
@example(case=POLYNOMIAL_CYCLE, extra=[], per_epoch=1, offset=0)
@example(case=RESTART_PARAM_KERAS, extra=[], per_epoch=1, offset=0)
def test_keras_tensorflow_equals_reference(
    case: Case, extra: Sequence[int], per_epoch: int, offset: int
) -> None:
    """Keras counts optimizer iterations; unit: epoch reads t = iterations // steps_per_epoch
    (iterations are int32 in the generated code, so t * steps_per_epoch stays below 2**31)."""
    steps = float32_steps(case, steps_for(case.bound, extra))
    if case.schedule.unit == "epoch":
        offset %= per_epoch
        steps = steps[steps * per_epoch + per_epoch - 1 <= MAX_STEP]
        iterations = steps * per_epoch + offset
    else:
        iterations = steps
    got = _keras_schedule(case, per_epoch)(iterations)
    _assert_close(float32_rule(case), got, _reference(case, steps), steps, case, "float32")


@given(case=cases())
@settings(max_examples=10)
@example(case=NESTED_WITH_PARAMS)
def test_keras_config_round_trip(case: Case) -> None:
    sched = _keras_schedule(case, 3, name="round_trip")
    config = sched.get_config()
    assert set(config) == {*case.schedule.param_defaults, "steps_per_epoch", "name"}
    clone = type(sched).from_config(config)
    assert clone.get_config() == config
    steps = np.array([0, 1, 2, 7, 99, 100, 101, 1000, 2**20])
    assert np.array_equal(np.asarray(sched(steps)), np.asarray(clone(steps)))


# --- the spec as JSON ---------------------------------------------------------------------------


@given(case=cases())
@example(case=NESTED_WITH_PARAMS)
@example(case=LAMBDA_STEP_WITH_OVERRIDE)
def test_spec_written_as_json_loads_to_the_same_ir(case: Case) -> None:
    spec = load_text(spec_json(case.schedule, indent=2), "round_trip.json")
    (loaded,) = spec.entries
    assert without_positions(loaded) == without_positions(case.schedule)
    steps = np.arange(50)  # and it means the same, for the overridden params too
    np.testing.assert_array_equal(
        lrgen.evaluate(loaded, steps, params=case.params), _reference(case, steps)
    )


# --- framework built-ins ------------------------------------------------------------------------


@given(case=torch_cases())
@example(case=ONE_CYCLE_LATE_THIRD_PHASE)
@example(
    case=example_case(
        "SequentialLR",
        milestones=[5, 12],
        schedulers=[
            ir.make_node("ExponentialLR", gamma=0.9),
            ir.make_node("CosineAnnealingWarmRestarts", T_0=2, T_mult=2),
            ir.make_node("LambdaLR", lr_lambda="0.5 ** (t // 3)"),
        ],
    )
)
@example(
    case=example_case(
        "ChainedScheduler",
        lr=1.0,
        schedulers=[
            ir.make_node("ConstantLR", factor=0.1, total_iters=2),
            ir.make_node("ExponentialLR", gamma=0.9),
        ],
    )
)
def test_generated_class_equals_torch_builtin(case: Case) -> None:
    """Closed form against torch's recurrent forms: 1e-9 relative (roundoff of a recurrence over
    a few hundred steps) with the 1e-14 * peak floor of float64_close."""
    mod = _module(case, "torch")
    cls = getattr(mod, case.schedule.class_name)
    n = torch_horizon(case.bound)
    ours = torch_trace(lambda opt: cls(opt, **case.params), n, case.lr)
    theirs = torch_trace(lambda opt: torch_builtin(case.bound, opt), n, case.lr)
    _assert_close(lambda a, b: float64_close(a, b, rel=1e-9), ours, theirs, np.arange(n))


def _keras_restart_steps(bound: ir.Bound, steps: np.ndarray) -> np.ndarray:
    """The first integer step of each CosineDecayRestarts period (where Keras's float32 log may
    still pick the previous period: docs/differences.md §5)."""
    first, t_mul = bound["first_decay_steps"], float(bound["t_mul"])
    starts, i = set(), 0
    while True:
        exact = first * i if t_mul == 1 else first * (t_mul**i - 1) / (t_mul - 1)
        if exact > steps.max() + 1:
            break
        starts.add(int(np.ceil(exact)))
        i += 1
    return np.isin(steps, list(starts))


@given(case=keras_cases())
@example(case=COSINE_DECAY_NO_WARMUP_STEPS)
@example(case=PIECEWISE_FLOATS)
@example(case=example_case("CosineDecayRestarts", lr=1.0, first_decay_steps=10, t_mul=3.0))
def test_generated_keras_equals_keras_builtin(case: Case) -> None:
    """Keras's built-ins compute ``1 - p`` and ``1 + cos`` in float32 and lose up to ~1e-5
    relative near the end of a decay; lrgen's Keras code is held to the float64 reference
    (test_keras_tensorflow_equals_reference), so here the rule is the built-in's own error.
    Steps stay within a few hundred: Keras's built-ins count in float32 (differences.md §11)."""
    steps = boundary_steps(case.bound, 300)
    ours = np.asarray(_keras_schedule(case, 1)(steps), dtype=np.float64)
    theirs = keras_values(keras_builtin(case.bound), steps)
    peak = float(np.max(np.abs(theirs)))
    ok = np.abs(ours - theirs) <= 2e-5 * np.abs(theirs) + 2e-7 * peak
    if case.bound.kind == "CosineDecayRestarts":
        ok |= _keras_restart_steps(case.bound, steps)
    assert ok.all(), _worst(ours, theirs, steps, ok)


# --- momentum and beta1 -------------------------------------------------------------------------

#: Pinned: three-phase OneCycleLR whose momentum comes back up in phase 2 and holds in phase 3;
#: CyclicLR exp_range with asymmetric halves (momentum moves inversely, scaled by gamma**t).
ONE_CYCLE_MOMENTUM = example_case(
    "OneCycleLR",
    max_lr=0.1,
    total_steps=30,
    pct_start=0.3,
    three_phase=True,
    base_momentum=0.75,
    max_momentum=0.875,
)
CYCLIC_MOMENTUM = example_case(
    "CyclicLR",
    base_lr=0.01,
    max_lr=0.1,
    step_size_up=4,
    step_size_down=2,
    mode="exp_range",
    gamma=0.96875,
    base_momentum=0.75,
    max_momentum=0.875,
)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@given(case=momentum_cases())
@settings(max_examples=15)
@example(case=ONE_CYCLE_MOMENTUM)
@example(case=CYCLIC_MOMENTUM)
def test_momentum_equals_reference(optimizer: str, case: Case) -> None:
    """CyclicLR and OneCycleLR with cycle_momentum: the generated class sets SGD's momentum
    (Adam's beta1) to ``lrgen.reference.momentum`` at every step, inversely to the rate."""
    cls = getattr(_module(case, "torch"), case.schedule.class_name)
    n = _dense(steps_for(case.bound))
    got = momentum_trace(lambda opt: cls(opt, **case.params), n, case.lr, optimizer)
    ref = reference.momentum(case.schedule, np.arange(n), params=case.params)
    _assert_close(float64_close, got, ref, np.arange(n))


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@given(case=momentum_cases(torch_safe=True))
@settings(max_examples=15)
@example(case=ONE_CYCLE_MOMENTUM)
@example(case=CYCLIC_MOMENTUM)
def test_momentum_equals_torch_builtin(optimizer: str, case: Case) -> None:
    """The same against torch's own CyclicLR / OneCycleLR (1e-9 relative, as for the rate)."""
    assume(case.strict or _torch_means_the_same(case))
    cls = getattr(_module(case, "torch"), case.schedule.class_name)
    n = torch_horizon(case.bound, DENSE)
    ours = momentum_trace(lambda opt: cls(opt, **case.params), n, case.lr, optimizer)
    theirs = momentum_trace(lambda opt: torch_builtin(case.bound, opt), n, case.lr, optimizer)
    _assert_close(lambda a, b: float64_close(a, b, rel=1e-9), ours, theirs, np.arange(n))


def _torch_means_the_same(case: Case) -> bool:
    from tests.strategies import torch_compatible

    return torch_compatible(case.bound)


def test_a_pinned_finding_passes_as_xfail_only_with_its_own_failure() -> None:
    """An open finding's pinned example is an expected failure only where it fails as the
    finding says (precision and step); anything else about it is an ordinary failure."""
    for finding, signature in FINDING_SIGNATURES.items():
        case = dataclasses.replace(POLYNOMIAL_CYCLE_SQRT, finding=finding)
        step = min(signature.steps)
        other = "float32" if signature.precision == "float64" else "float64"
        assert finding_error(case, signature.precision, step) is FINDING_ERRORS[finding]
        assert finding_error(case, other, step) is AssertionError
        assert finding_error(case, signature.precision, step - 1) is AssertionError
        unpinned = dataclasses.replace(case, finding=None)
        assert finding_error(unpinned, signature.precision, step) is AssertionError
