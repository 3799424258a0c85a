"""The reference evaluator against ``keras.optimizers.schedules`` (Keras-mirrored kinds).

Keras runs on the TensorFlow backend here (tests/conftest.py). Each test draws random
parameters, calls the Keras schedule on steps 0..N-1 plus the kind's boundary steps, and compares
with :func:`lrgen.reference.evaluate`, which computes the same formula in float64.
"""

from __future__ import annotations

import math
from fractions import Fraction

import keras
import numpy as np
import tensorflow as tf
from hypothesis import example, given
from hypothesis import strategies as st

from lrgen import expr as ex
from lrgen import ir
from lrgen.reference import evaluate

N = 600
# Restarts compared with Keras up to here: past ~1.1e6 its float32 logarithm also misplaces the
# neighbours of a restart (and past 2**24 float32 no longer holds every integer step).
RESTARTS_BELOW = 2**20

schedules = keras.optimizers.schedules


def f32(low: float, high: float) -> st.SearchStrategy[float]:
    """Floats that float32 holds exactly: Keras casts every parameter to float32, and a rounded
    parameter is amplified by an exponent (decay_rate ** (t / D), m_mul ** i with i up to 1e6)
    past any fixed tolerance; exact parameters leave only the rounding of the computation."""
    return st.floats(float(np.float32(low)), float(np.float32(high)), width=32)


lrs = f32(1e-4, 1.0)
decay_steps = st.integers(1, 300)


def schedule(node: ir.Node, lr: float) -> ir.Schedule:
    return ir.Schedule(name="s", lr=ex.Num(lr), node=node)


def steps_with(*boundaries: int) -> np.ndarray:
    """0..N-1 plus each boundary and its neighbours (>= 0), sorted and unique."""
    extra = [b + d for b in boundaries for d in (-1, 0, 1) if b + d >= 0]
    return np.unique(np.concatenate([np.arange(N), np.asarray(extra, dtype=np.int64)]))


def keras_values(
    sched: schedules.LearningRateSchedule, steps: np.ndarray, *, one_at_a_time: bool = False
) -> np.ndarray:
    """The schedule's values at int64 ``steps`` (as ``optimizer.iterations`` is int64).

    Most schedules accept an array of steps and compute elementwise. ``CosineDecay`` with a
    warmup branches with ``ops.cond`` on the step, which needs a scalar: map it over the steps
    inside a graph instead (the same per-step call an optimizer makes).
    """
    if one_at_a_time:
        mapped = tf.function(lambda s: tf.map_fn(sched, s, fn_output_signature=tf.float32))
        return mapped(tf.constant(steps, dtype=tf.int64)).numpy().astype(np.float64)
    return np.asarray(sched(steps), dtype=np.float64)


def assert_matches_keras(
    ours: np.ndarray, theirs: np.ndarray, extra_atol: np.ndarray | float = 0.0
) -> None:
    # Keras computes in float32 (the dtype of its initial_learning_rate tensor): each op rounds to
    # ~6e-8 relative and a formula of a dozen ops stays near 1e-6 relative, hence rtol 1e-5.
    # Where a formula cancels (1 + cos(x) as x -> pi, 1 - p as p -> 1) float32 leaves an absolute
    # error of the order of ulp(1) * peak ~ 1.2e-7 * peak instead, so the values near the end of a
    # cosine or a polynomial decay (small next to the peak) are compared with atol 2e-7 * peak.
    # A wrong formula, boundary or period differs by far more (>= ~1e-4 * peak per step).
    # ``extra_atol`` is a per-step allowance for a known, larger float32 error of Keras's.
    assert ours.dtype == np.float64
    peak = float(np.max(np.abs(ours)))
    tolerance = 1e-5 * np.abs(theirs) + 2e-7 * peak + extra_atol
    bad = np.abs(ours - theirs) > tolerance
    assert not bad.any(), (
        f"{bad.sum()} of {bad.size} differ; first at index {np.argmax(bad)}: "
        f"ours {ours[bad][0]!r}, Keras {theirs[bad][0]!r}, tolerance {tolerance[bad][0]!r}"
    )


@given(init=lrs, decay=decay_steps, rate=f32(0.05, 1.0), staircase=st.booleans())
@example(init=0.1, decay=7, rate=0.5, staircase=True)
@example(init=0.1, decay=1, rate=0.99, staircase=False)
def test_exponential_decay(init: float, decay: int, rate: float, staircase: bool) -> None:
    node = ir.make_node(
        "ExponentialDecay", decay_steps=decay, decay_rate=rate, staircase=staircase
    )  # initial_learning_rate defaults to lr
    steps = steps_with(decay, 2 * decay, 10 * decay)
    theirs = keras_values(schedules.ExponentialDecay(init, decay, rate, staircase), steps)
    assert_matches_keras(evaluate(schedule(node, init), steps), theirs)


@given(
    boundaries=st.lists(st.integers(0, N + 50), min_size=1, max_size=8, unique=True).map(sorted),
    values=st.lists(f32(0.0, 1.0), min_size=9, max_size=9),
)
@example(boundaries=[0], values=[0.5, 0.25] + [0.0] * 7)
@example(boundaries=[100, 110], values=[1.0, 0.5, 0.1] + [0.0] * 6)
def test_piecewise_constant_decay(boundaries: list[int], values: list[float]) -> None:
    values = values[: len(boundaries) + 1]
    node = ir.make_node("PiecewiseConstantDecay", boundaries=boundaries, values=values)
    steps = steps_with(*boundaries)
    theirs = keras_values(schedules.PiecewiseConstantDecay(boundaries, values), steps)
    ours = evaluate(schedule(node, 1.0), steps)  # absolute values: lr plays no part
    assert_matches_keras(ours, theirs)
    # Keras's boundary rule, stated directly: values[0] while t <= boundaries[0]
    assert ours[steps == boundaries[0]][0] == values[0]
    assert ours[steps == boundaries[0] + 1][0] == values[1]


@given(
    init=lrs,
    decay=decay_steps,
    end_ratio=f32(0.0, 1.0),
    power=f32(1.0, 3.0),
    cycle=st.booleans(),
)
@example(init=0.1, decay=10, end_ratio=0.001, power=1.0, cycle=True)
@example(init=0.1, decay=1, end_ratio=0.0, power=2.0, cycle=True)
def test_polynomial_decay(
    init: float, decay: int, end_ratio: float, power: float, cycle: bool
) -> None:
    # power >= 1: below 1 the derivative of (1 - p) ** power is unbounded as p -> 1, which
    # amplifies float32's rounding of p past any fixed tolerance (the next test keeps it small).
    end = end_ratio * init
    node = ir.make_node(
        "PolynomialDecay", decay_steps=decay, end_learning_rate=end, power=power, cycle=cycle
    )
    steps = steps_with(decay, 2 * decay, 3 * decay, 10**6)
    theirs = keras_values(schedules.PolynomialDecay(init, decay, end, power, cycle), steps)
    assert_matches_keras(evaluate(schedule(node, init), steps), theirs)


# powers from 0.01: a tinier power is 0 once Keras casts it to float32 (then 0 ** 0 = 1 at the end)
@given(init=lrs, decay=st.integers(1, 30), power=f32(0.01, 1.0), cycle=st.booleans())
@example(init=0.1, decay=5, power=0.0, cycle=False)
@example(init=0.1, decay=5, power=0.5, cycle=True)
def test_polynomial_decay_fractional_power(
    init: float, decay: int, power: float, cycle: bool
) -> None:
    node = ir.make_node(
        "PolynomialDecay", decay_steps=decay, end_learning_rate=0.0, power=power, cycle=cycle
    )
    steps = steps_with(decay)
    theirs = keras_values(schedules.PolynomialDecay(init, decay, 0.0, power, cycle), steps)
    assert_matches_keras(evaluate(schedule(node, init), steps), theirs)


@given(init=lrs, decay=decay_steps, rate=f32(0.0, 5.0), staircase=st.booleans())
@example(init=0.1, decay=5, rate=0.5, staircase=True)
def test_inverse_time_decay(init: float, decay: int, rate: float, staircase: bool) -> None:
    node = ir.make_node("InverseTimeDecay", decay_steps=decay, decay_rate=rate, staircase=staircase)
    steps = steps_with(decay, 2 * decay, 10**6)
    theirs = keras_values(schedules.InverseTimeDecay(init, decay, rate, staircase), steps)
    assert_matches_keras(evaluate(schedule(node, init), steps), theirs)


@given(
    init=lrs,
    decay=st.integers(1, 700),
    alpha=f32(0.0, 1.0),
    warmup_target=st.none() | f32(1e-4, 2.0),
    warmup=st.integers(0, 300),
)
@example(init=0.1, decay=100, alpha=0.0, warmup_target=None, warmup=0)
@example(init=0.01, decay=100, alpha=0.1, warmup_target=0.5, warmup=10)
@example(init=0.1, decay=50, alpha=0.0, warmup_target=0.5, warmup=0)
def test_cosine_decay(
    init: float, decay: int, alpha: float, warmup_target: float | None, warmup: int
) -> None:
    node = ir.make_node(
        "CosineDecay",
        decay_steps=decay,
        alpha=alpha,
        warmup_target=warmup_target,
        warmup_steps=warmup,
    )
    steps = steps_with(warmup, warmup + decay, 10**6)
    sched = schedules.CosineDecay(
        init, decay, alpha, warmup_target=warmup_target, warmup_steps=warmup
    )
    theirs = keras_values(sched, steps, one_at_a_time=warmup_target is not None)
    assert_matches_keras(evaluate(schedule(node, init), steps), theirs)


def restart_starts(first: int, t_mul: float, below: int) -> list[tuple[int, Fraction]]:
    """(period, exact start) of CosineDecayRestarts periods starting below ``below``.

    For t_mul = 1 (equal periods, starts i * first) only the first 64 and a few far ones.
    """
    if t_mul == 1.0:
        periods = [*range(64), *(k // first for k in (10**6, 2**24 - 1, 10**12, 2**62))]
        return [(i, Fraction(i * first)) for i in periods if i * first < below]
    starts, start, length = [], Fraction(0), Fraction(first)
    while start < below:
        starts.append((len(starts), start))
        start, length = start + length, length * Fraction(t_mul)
    return starts


def keras_fraction_error(steps: np.ndarray, first: int, t_mul: float, peak: float) -> np.ndarray:
    """Keras's float32 ``completed_fraction = t / first`` is off by up to ~6e-8 * t / first, an
    error of the period fraction divided by t_mul ** i, and of the value times the cosine's slope
    (at most pi / 2 * peak): 1e-7 * peak * (t / first) / t_mul ** i. It grows with the number of
    first periods elapsed, most for t_mul = 1 (e.g. 2e-5 * peak at t = 600, first = 3)."""
    if t_mul == 1.0:
        period = steps // first
    else:
        starts = [float(s) for _, s in restart_starts(first, t_mul, int(steps.max()) + 1)]
        period = np.searchsorted(starts, steps, side="right") - 1
    return 1e-7 * peak * (steps / first) / t_mul**period


@given(
    init=lrs,
    first=st.integers(1, 100),
    # exactly representable in float32, so Keras's cast of t_mul does not move the periods
    t_mul=st.sampled_from([1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0]),
    m_mul=f32(0.5, 1.0),
    alpha=f32(0.0, 1.0),
)
@example(init=0.1, first=1, t_mul=2.0, m_mul=1.0, alpha=0.0)  # Keras misses t = 32767
@example(init=0.1, first=10, t_mul=1.0, m_mul=0.9, alpha=0.0)
def test_cosine_decay_restarts(
    init: float, first: int, t_mul: float, m_mul: float, alpha: float
) -> None:
    node = ir.make_node(
        "CosineDecayRestarts", first_decay_steps=first, t_mul=t_mul, m_mul=m_mul, alpha=alpha
    )
    below = RESTARTS_BELOW if t_mul != 1.0 else 64 * first  # see keras_fraction_error
    integer_starts = [int(s) for _, s in restart_starts(first, t_mul, below) if s.denominator == 1]
    # Below RESTARTS_BELOW Keras's float32 arithmetic is exact on the integer starts and their
    # neighbours, but for a growing period its float32 logarithm can pick the previous period
    # exactly at a restart (from t = 32767 * first for t_mul = 2). Leave out those exact restart
    # steps only; test_cosine_decay_restarts_exact_restarts checks lrgen's value there.
    steps = steps_with(*integer_starts)
    if t_mul != 1.0:
        steps = steps[~np.isin(steps, integer_starts)]
    sched = schedules.CosineDecayRestarts(init, first, t_mul=t_mul, m_mul=m_mul, alpha=alpha)
    ours, theirs = evaluate(schedule(node, init), steps), keras_values(sched, steps)
    assert_matches_keras(ours, theirs, keras_fraction_error(steps, first, t_mul, init))


@given(
    init=lrs,
    first=st.integers(1, 100),
    t_mul=st.sampled_from([1.0, 1.5, 2.0, 3.0, 5.0]),
    m_mul=f32(0.5, 1.0),
    alpha=f32(0.0, 1.0),
)
def test_cosine_decay_restarts_exact_restarts(
    init: float, first: int, t_mul: float, m_mul: float, alpha: float
) -> None:
    """lrgen difference: every restart lands on its exact step, at any step count."""
    node = ir.make_node(
        "CosineDecayRestarts", first_decay_steps=first, t_mul=t_mul, m_mul=m_mul, alpha=alpha
    )
    starts = [(i, int(s)) for i, s in restart_starts(first, t_mul, 2**62) if s.denominator == 1]
    steps = np.array([s for _, s in starts], dtype=np.int64)
    peaks = np.array([init * ((1 - alpha) * m_mul**i + alpha) for i, _ in starts])
    np.testing.assert_allclose(evaluate(schedule(node, init), steps), peaks, rtol=1e-12)
    # the step before a restart is the end of the previous period: cos(pi * (L - 1) / L)
    before = [(i, s) for i, s in starts if i > 0]
    lengths = [first * Fraction(t_mul) ** (i - 1) for i, _ in before]
    expected = [
        init
        * (
            (1 - alpha)
            * 0.5
            * m_mul ** (i - 1)
            * (1 + math.cos(math.pi * float((length - 1) / length)))
            + alpha
        )
        for (i, _), length in zip(before, lengths, strict=True)
    ]
    ours = evaluate(schedule(node, init), [s - 1 for _, s in before])
    np.testing.assert_allclose(ours, expected, rtol=1e-9, atol=1e-15 * init)


def test_keras_misses_a_restart_that_lrgen_hits() -> None:
    """Documents why exact restart steps are left out of the comparison with Keras.

    At t = 32767 (the start of period 15 for first_decay_steps=1, t_mul=2) Keras's float32
    log gives period 14 with fraction 1: the end-of-period value (alpha * init = 0 here)
    instead of the restart's peak. If this fails, Keras has fixed it: restore those steps.
    """
    t = 2**15 - 1
    keras_value = float(schedules.CosineDecayRestarts(1.0, 1, t_mul=2.0)(t))
    node = ir.make_node("CosineDecayRestarts", first_decay_steps=1, t_mul=2.0)
    ours = evaluate(schedule(node, 1.0), [t - 1, t, t + 1])
    assert keras_value < 1e-6
    assert ours[1] == 1.0  # restart: m_mul**15 * (1 + cos 0) / 2 with m_mul = 1
    assert ours[0] == 0.5 * (1 + math.cos(math.pi * (2**14 - 1) / 2**14))
    assert ours[2] == 0.5 * (1 + math.cos(math.pi / 2**15))
