"""templates/runtime_helpers.py as a unit: each helper against NumPy's semantics (what it exists
for: generated Python code computes what the NumPy reference computes), the restart tables
against slow references, and ``lrgen.generate.helper_source``, which copies the helpers into
generated modules.
"""

from __future__ import annotations

import ast
import importlib.util
import math
import subprocess
import sys
from bisect import bisect_right
from collections.abc import Callable
from decimal import Decimal, localcontext
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from lrgen import generate, ir, lower

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "templates" / "runtime_helpers.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("runtime_helpers", SOURCE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


H = _load()
INF, NAN = math.inf, math.nan
#: Values where Python's float operations raise or differ from NumPy's.
SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.5, -2.5, 3.0, -3.0, 1e308, -1e308, 5e-324, INF, -INF]
SPECIAL += [NAN]
floats = st.floats(allow_nan=True, allow_infinity=True)


def _numpy(function: Callable[..., Any], *args: float) -> float:
    with np.errstate(all="ignore"):
        return float(function(*(np.float64(a) for a in args)))


def _same(got: float, want: float, ulps: int = 0) -> bool:
    """Equal as NumPy results are compared here: nan is nan, the sign of a zero counts, and
    ``ulps`` units in the last place allowed for finite values (libm and NumPy's own ``pow``,
    ``log``, ``exp`` can round differently)."""
    assert isinstance(got, float), got
    if math.isnan(want) or math.isnan(got):
        return math.isnan(want) and math.isnan(got)
    if want == 0 or got == 0 or math.isinf(want) or math.isinf(got):
        return got == want and math.copysign(1.0, got) == math.copysign(1.0, want)
    return abs(got - want) <= ulps * math.ulp(want)


# --- the operations: NumPy's results where Python raises or differs -----------------------------

#: Where a helper knowingly differs from NumPy: NumPy (and torch) compute ``x ** 0.5`` as
#: ``sqrt(x)``, which is nan at -inf and -0.0 at -0.0; ``_power`` gives C's ``pow`` there (inf,
#: 0.0). Both need an argument a schedule only reaches through an overflow to -inf or a -0.0.
POWER_EXCEPTIONS = {(-INF, 0.5): INF, (-0.0, 0.5): 0.0}


@pytest.mark.parametrize("a", SPECIAL)
@pytest.mark.parametrize("b", SPECIAL)
def test_binary_operations_at_special_values(a: float, b: float) -> None:
    assert _same(H._div(a, b), _numpy(np.divide, a, b))
    assert _same(H._floordiv(a, b), _numpy(np.floor_divide, a, b))
    assert _same(H._mod(a, b), _numpy(np.mod, a, b))
    want = POWER_EXCEPTIONS.get((a, b), _numpy(np.power, a, b))
    assert _same(H._power(a, b), want, ulps=1), (a, b, H._power(a, b), want)
    # signed zeros compare equal; NumPy keeps the second of two equal values, Python the first
    assert _same(H._minimum(a, b) + 0.0, _numpy(np.minimum, a, b) + 0.0)
    assert _same(H._maximum(a, b) + 0.0, _numpy(np.maximum, a, b) + 0.0)


def test_power_exceptions_are_numpy_sqrt() -> None:
    """The documented differences are exactly NumPy's ``sqrt`` fast path."""
    for (a, b), value in POWER_EXCEPTIONS.items():
        assert _same(_numpy(np.power, a, b), _numpy(np.sqrt, a))
        assert not _same(_numpy(np.power, a, b), value)
        assert _same(H._power(a, b), value)


@given(floats, floats)
@example(0.0, -1.0)  # ZeroDivisionError in Python
@example(-0.0, -3.0)  # -inf: an odd exponent keeps the zero's sign
@example(-0.0, -2.0)
@example(10.0, 400.0)  # OverflowError
@example(-10.0, 401.0)
@example(-10.0, 400.5)  # a complex overflow in Python, nan in NumPy
@example(-8.0, 1 / 3)  # complex in Python
def test_binary_operations_match_numpy(a: float, b: float) -> None:
    assert _same(H._div(a, b), _numpy(np.divide, a, b))
    assert _same(H._floordiv(a, b), _numpy(np.floor_divide, a, b))
    assert _same(H._mod(a, b), _numpy(np.mod, a, b))
    want = POWER_EXCEPTIONS.get((a, b), _numpy(np.power, a, b))
    assert _same(H._power(a, b), want, ulps=1), (a, b, H._power(a, b), want)


def test_power_values() -> None:
    assert H._power(0.0, -1.0) == INF
    assert H._power(-0.0, -3.0) == -INF
    assert H._power(-0.0, -2.0) == INF
    assert H._power(10.0, 400.0) == INF
    assert H._power(-10.0, 401.0) == -INF
    assert math.isnan(H._power(-10.0, 400.5))
    assert math.isnan(H._power(-8.0, 1 / 3))
    assert H._power(2.0, 0.5) == math.sqrt(2.0)
    assert type(H._power(2, 3)) is float  # ints in, a float out (never an int or complex)


@given(st.lists(floats, min_size=2, max_size=5))
def test_minimum_maximum_propagate_nan_anywhere(values: list[float]) -> None:
    array = np.asarray(values)
    assert _same(H._minimum(*values) + 0.0, float(np.minimum.reduce(array)) + 0.0)
    assert _same(H._maximum(*values) + 0.0, float(np.maximum.reduce(array)) + 0.0)


@pytest.mark.parametrize("values", [(NAN, 1.0), (1.0, NAN), (1.0, 2.0, NAN), (NAN, -INF)])
def test_minimum_maximum_nan_in_any_position(values: tuple[float, ...]) -> None:
    assert min(1.0, NAN) == 1.0  # Python's min drops a nan after the first: why they exist
    assert math.isnan(H._minimum(*values)) and math.isnan(H._maximum(*values))


def test_division_by_zero_is_numpy_s() -> None:
    assert H._div(1.0, 0.0) == INF and H._div(1.0, -0.0) == -INF
    assert H._div(-2.0, 0.0) == -INF and H._div(-2.0, -0.0) == INF
    assert math.isnan(H._div(0.0, 0.0)) and math.isnan(H._div(NAN, 0.0))
    assert H._floordiv(3.0, 0.0) == INF and H._floordiv(-3.0, 0.0) == -INF
    assert math.isnan(H._floordiv(0.0, -0.0))
    assert math.isnan(H._mod(3.0, 0.0)) and math.isnan(H._mod(0.0, 0.0))
    assert H._div(7.0, 2.0) == 3.5 and H._floordiv(-7.0, 2.0) == -4.0 and H._mod(-7.0, 2.0) == 1.0


#: One-argument helpers and their NumPy ufunc, with the ulps allowed (NumPy's own log and exp
#: can differ from libm's in the last place; sqrt, floor and ceil are exact).
UNARY = [("_log", np.log, 1), ("_sqrt", np.sqrt, 0), ("_exp", np.exp, 1)]
UNARY += [("_floor", np.floor, 0), ("_ceil", np.ceil, 0)]


@pytest.mark.parametrize(("name", "ufunc", "ulps"), UNARY)
@pytest.mark.parametrize("x", [*SPECIAL, -0.3, 0.3, 709.0, 710.0, -745.0, -746.0, 2.0**60 + 0.5])
def test_unary_operations_at_special_values(
    name: str, ufunc: Callable[..., Any], ulps: int, x: float
) -> None:
    got = getattr(H, name)(x)
    assert _same(got, _numpy(ufunc, x), ulps), (name, x, got)


@pytest.mark.parametrize(("name", "ufunc", "ulps"), UNARY)
@given(x=floats)
def test_unary_operations_match_numpy(
    name: str, ufunc: Callable[..., Any], ulps: int, x: float
) -> None:
    assert _same(getattr(H, name)(x), _numpy(ufunc, x), ulps)


def test_unary_values() -> None:
    assert H._log(0.0) == -INF and H._log(-0.0) == -INF and math.isnan(H._log(-1.0))
    assert H._log(INF) == INF and math.isnan(H._log(-INF))
    assert math.isnan(H._sqrt(-1e-300)) and math.copysign(1.0, H._sqrt(-0.0)) == -1.0
    assert H._exp(710.0) == INF and H._exp(-INF) == 0.0
    assert H._floor(INF) == INF and H._ceil(-INF) == -INF and math.isnan(H._floor(NAN))
    assert type(H._floor(2.5)) is float and H._floor(2.5) == 2.0 and H._ceil(2.5) == 3.0


def test_floor_and_ceil_keep_the_sign_of_a_zero() -> None:
    """NumPy's and torch's ``ceil(-0.5)`` is -0.0 (so ``1 / ceil(-0.5)`` is -inf in the
    reference and the tensor code); ``float(math.ceil(-0.5))`` was 0.0 (+inf)."""
    for helper, x in [(H._ceil, -0.5), (H._ceil, -0.0), (H._floor, -0.0), (H._ceil, -1e-300)]:
        assert math.copysign(1.0, helper(x)) == -1.0, (helper, x)
    assert math.copysign(1.0, H._floor(0.5)) == 1.0 and H._floor(-0.5) == -1.0
    assert H._div(1.0, H._ceil(-0.5)) == _numpy(np.divide, 1.0, _numpy(np.ceil, -0.5)) == -INF


# --- construction-time checks -----------------------------------------------------------------


def test_integer() -> None:
    assert H._integer("step_size", 3.0) == 3 and type(H._integer("step_size", 3.0)) is int
    assert H._integer("T_0", 2**53) == 2**53
    with pytest.raises(ValueError, match=r"^step_size must be an integer, got 2\.5$"):
        H._integer("step_size", 2.5)
    with pytest.raises(ValueError, match=r"^T_0 must be an integer, got nan$"):
        H._integer("T_0", NAN)
    with pytest.raises(ValueError, match=r"^T_0 must be an integer, got inf$"):
        H._integer("T_0", INF)


def test_require() -> None:
    H._require(True, "gamma", 0.5, "> 0")
    with pytest.raises(ValueError, match=r"^gamma must be > 0, got -0\.5$"):
        H._require(False, "gamma", -0.5, "> 0")
    with pytest.raises(ValueError, match=r"^warmup_steps must be below total_steps$"):
        H._require(False, "warmup_steps must be below total_steps")


def test_argument_error_names_the_passed_arguments() -> None:
    error = ZeroDivisionError("float division by zero")
    arguments = {"warmup": 0, "total": 100, "lr": 0.1}
    defaults = {"warmup": 10, "total": 100, "lr": 0.1}
    made = H._argument_error("WarmupCosine", arguments, defaults, error)
    assert type(made) is ValueError
    assert str(made) == "WarmupCosine(warmup=0): float division by zero"
    made = H._argument_error("WarmupCosine", {**arguments, "lr": 0.5}, defaults, error)
    assert str(made) == (
        "WarmupCosine(warmup=0) for a param group with lr=0.5: float division by zero"
    )
    made = H._argument_error("Step", {"n": 2}, None, ValueError("n must be odd"))
    assert str(made) == "Step(n=2): n must be odd"


# --- _log_split ---------------------------------------------------------------------------------

bases = st.floats(min_value=5e-324, max_value=1e300).filter(lambda b: b != 1.0)
divisors = st.floats(min_value=1e-3, max_value=2.0**53)


def _f32_exact(k: int, x: float) -> bool:
    """``k * x`` is exact in float32 (both factors and the product are float32 values)."""
    k32, x32 = np.float32(k), np.float32(x)
    return float(k32) == k and float(x32) == x and float(k32 * x32) == k * x


@given(bases, divisors, st.integers(min_value=0, max_value=2**31 - 1))
@example(0.96, 1000.0, 2**31 - 1)
@example(0.5, 1.0, 19)  # 0.5 ** 19 is 1.9e-6 of the start: still exact
@example(1.0001, 1.0, 887_900)  # a growth up to float32 overflow
@example(1 - 2**-53, 2.0**53, 2**31 - 1)  # wide: exponents beyond 2**24 matter
@example(5e-324, 1e-3, 1)
def test_log_split(base: float, divisor: float, k: int) -> None:
    """``hi + lo`` is ``log(base) / divisor`` exactly; ``k * hi`` is exact in float32 for every
    integer ``k`` up to the reach (where ``base ** (k / divisor)`` falls below 1e-6 of its start
    or overflows float32), and for wide splits for both integer parts of ``k`` up to 2**31."""
    _check_log_split(base, divisor, k)


@pytest.mark.parametrize("bits", range(1, 26))
@pytest.mark.parametrize("limit", [13.82, 88.8])
def test_log_split_at_every_reach(bits: int, limit: float) -> None:
    """A decay and a growth whose reach is 1.1 * 2**bits, for each width of ``k``."""
    log = (1 if limit > 20 else -1) * limit / (1.1 * 2**bits)
    _check_log_split(math.exp(log), 1.0, 2**31 - 1)
    _check_log_split(math.exp(log * 10), 10.0, 2**bits)


def _check_log_split(base: float, divisor: float, k: int) -> None:
    log = math.log(base) / divisor
    hi, lo, wide = H._log_split(base, divisor)
    assert hi + lo == log and abs(lo) <= abs(log) / 2
    # the exponents that matter: down to 1e-6 of the start, up to float32 overflow
    limit = math.log(float(np.finfo(np.float32).max)) if log > 0 else -math.log(1e-6)
    reach = limit / abs(log)
    if wide:
        assert reach >= 0.99 * 2**24
        assert _f32_exact(k - k % 4096, hi) and _f32_exact(k % 4096, hi)
    else:
        assert reach < 2**24
        k = min(k, math.floor(reach))
        assert _f32_exact(k, hi) and _f32_exact(math.floor(reach), hi)
    # the same split as lrgen.lower's for a literal base (a param base must not change a value)
    bits = 5 if wide else lower._split_bits(log)
    assert hi == lower._leading_bits(log, bits)


def test_log_split_reach_constants() -> None:
    """13.82 and 88.8: the exponents where the result is 1e-6 of its start, float32 overflow."""
    assert math.exp(-13.82) < 1e-6 < math.exp(-13.81)
    assert math.exp(88.8) > float(np.finfo(np.float32).max) > math.exp(88.7)


def test_log_split_special_bases() -> None:
    assert H._log_split(0.0, 10.0) == (-1e30, 0.0, False)  # 0 ** 0 is 1, then 0
    assert 0.0 * -1e30 == 0.0 and math.exp(1 * -1e30) == 0.0
    assert H._log_split(1.0, 10.0) == (0.0, 0.0, False)


# --- the restart tables -------------------------------------------------------------------------

MAX_STEP = 2**31 - 1


def _cycles_by_stepping(first: int, mult: int, steps: int) -> list[tuple[int, int]]:
    """(steps into the cycle, cycle length) at each step, as torch's CosineAnnealingWarmRestarts
    advances its ``T_cur`` and ``T_i`` one step at a time."""
    t_cur, t_i, out = 0, first, []
    for _ in range(steps):
        out.append((t_cur, t_i))
        t_cur += 1
        if t_cur >= t_i:
            t_cur, t_i = t_cur - t_i, t_i * mult
    return out


@given(st.integers(1, 40), st.integers(2, 4))
@example(1, 2)
def test_geometric_cycles_step_by_step(first: int, mult: int) -> None:
    starts, lengths, ends, rests = H._geometric_cycles(first, mult)
    for t, (elapsed, length) in enumerate(_cycles_by_stepping(first, mult, 3000)):
        i = bisect_right(starts, t) - 1
        assert (t - starts[i], lengths[i]) == (elapsed, float(length)), t
        assert float(ends[i] - t) + rests[i] == length - elapsed


@given(st.integers(1, 2**40), st.integers(2, 2**20))
@example(1, 2)
@example(2**31 - 1, 2)
@example(2**31, 3)  # the first cycle already reaches past the last step
@example(3, 2**20)
def test_geometric_cycles_closed_form(first: int, mult: int) -> None:
    """Cycle i starts at first * (mult**i - 1) / (mult - 1), in exact integers, for every cycle
    that starts at or before the last step a 32-bit counter reaches."""
    starts, lengths, ends, rests = H._geometric_cycles(first, mult)
    count = 0
    while first * (mult**count - 1) // (mult - 1) <= MAX_STEP:
        count += 1
    exact = [first * (mult**i - 1) // (mult - 1) for i in range(count + 1)]
    assert starts == tuple(exact[:-1])
    assert lengths == tuple(float(first * mult**i) for i in range(count))
    assert ends == tuple(min(e, MAX_STEP) for e in exact[1:])
    assert rests == tuple(float(e - min(e, MAX_STEP)) for e in exact[1:])
    assert all(isinstance(s, int) for s in (*starts, *ends))
    assert all(r == 0.0 for r in rests[:-1]) and rests[-1] >= 0.0


def test_geometric_cycles_fixed() -> None:
    assert H._geometric_cycles(10, 1) == ((), (), (), ())


t_muls = st.floats(min_value=1.01, max_value=1e6)


@given(st.integers(1, 2**31), t_muls, st.floats(min_value=0.0, max_value=2.0))
@example(20, 1.5, 0.8)
@example(1, 1.01, 1.0)
@example(2**31, 2.0, 0.5)
@example(10, 1e6, 0.5)
@example(1000, 2.0, 1.0)
@example(1, 1.015625, 2.0)  # peaks beyond the largest float: inf
@example(1, 2.0, 0.0)
@example(10, 1e200, 0.5)  # t_mul**2 past the largest float
@example(2**31 - 1, 524289.125, 0.0)
def test_geometric_periods_exact(first: int, t_mul: float, m_mul: float) -> None:
    """Against the real starts S_i = first * (t_mul**i - 1) / (t_mul - 1) in 80-digit decimal
    arithmetic: each period starts at the first integer step at or after S_i (but where S_i is
    within float64 rounding of an integer), its last integer step is the one before S_(i+1) (at
    most the last step), and last + rest is S_(i+1)."""
    starts, lengths, peaks, lasts, rests = H._geometric_periods(first, t_mul, m_mul)
    mu = Decimal(t_mul)  # exact; the arithmetic below to 80 digits

    def real_start(i: int) -> Decimal:
        return first * (mu**i - 1) / (mu - 1)

    def near_integer(x: Decimal) -> bool:
        return abs(x - round(x)) <= Decimal("1e-9") * max(1, abs(x))

    with localcontext(prec=80):
        n = len(starts)
        assert n >= 1 and starts[0] == 0 and lasts[-1] <= MAX_STEP
        for i in range(n + 1):
            s = real_start(i)
            if near_integer(s):
                continue
            if i < n:
                assert starts[i] == math.ceil(s) <= MAX_STEP, i
            else:
                assert math.ceil(s) > MAX_STEP  # every period that starts in range is tabulated
        for i in range(n):
            end = real_start(i + 1)
            assert math.isclose(lasts[i] + rests[i], end, rel_tol=1e-12, abs_tol=1e-9)
            assert 0.0 < rests[i] <= 1.0 or i == n - 1
            if i + 1 < n:
                assert lasts[i] == starts[i + 1] - 1
            elif not near_integer(end):  # (first=2**31 - 1: S_1 rounds up, past the last step)
                assert lasts[i] == min(math.ceil(end) - 1, MAX_STEP)
            assert math.isclose(lengths[i], first * mu**i, rel_tol=1e-12)
            assert _same(peaks[i], _numpy(np.power, m_mul, i), ulps=1)  # the reference's


@given(st.integers(1, 50), st.floats(min_value=1.05, max_value=3.0), st.data())
@example(20, 1.5, None)
def test_geometric_periods_match_the_reference(
    first: int, t_mul: float, data: st.DataObject | None
) -> None:
    """The period of each step, by searching the table, is the NumPy reference's period
    (lrgen.reference, which searches its float64 starts), and the steps remaining in it are
    the reference's (1 - fraction done) * length."""
    from lrgen.reference import _restart_position

    starts, lengths, _, lasts, rests = H._geometric_periods(first, t_mul, 1.0)
    steps = list(range(0, 3000))
    if data is not None:
        steps += data.draw(st.lists(st.integers(0, MAX_STEP), max_size=20))
    steps += [s + d for s in starts for d in (-1, 0, 1) if 0 <= s + d <= MAX_STEP]
    index, fraction = _restart_position(np.asarray(steps, dtype=np.int64), first, t_mul)
    for t, want, done in zip(steps, index.tolist(), fraction.tolist(), strict=True):
        i = bisect_right(starts, t) - 1
        assert i == want, t
        remaining = float(lasts[i] - t) + rests[i]
        assert math.isclose(remaining, (1 - done) * lengths[i], rel_tol=1e-9, abs_tol=1e-6)


def test_geometric_periods_peaks_overflow_to_inf() -> None:
    """m_mul ** i past the largest float is inf, as the NumPy reference has it, not an
    OverflowError that made the constructor of a valid schedule fail."""
    starts, _, peaks, _, _ = H._geometric_periods(1, 1.015625, 2.0)
    assert len(starts) == 1118 and starts[1024] == 502_532_046
    assert peaks[1023] == 2.0**1023 and peaks[1024] == INF == peaks[-1]


@pytest.mark.parametrize(
    ("first", "t_mul"), [(10, 1e200), (2**31 - 1, 1e160), (3, 2.0**600), (7, 1.5e154)]
)
def test_geometric_periods_beyond_the_largest_power(first: int, t_mul: float) -> None:
    """t_mul**2 past the largest float (t_mul > 1.34e154, a valid spec) made the constructor
    raise OverflowError; the second period's end is S_1 + L_1, finite, and each step's period
    and the steps remaining in it are the NumPy reference's."""
    from lrgen.reference import _restart_position

    starts, lengths, peaks, lasts, rests = H._geometric_periods(first, t_mul, 0.5)
    assert starts == (0, first) and peaks == (1.0, 0.5) and lasts == (first - 1, MAX_STEP)
    assert lengths == (float(first), first * t_mul) and rests[0] == 1.0
    assert rests[1] == first + first * t_mul - MAX_STEP
    steps = [0, first - 1, first, first + 1, MAX_STEP]
    index, fraction = _restart_position(np.asarray(steps, dtype=np.int64), first, t_mul)
    for t, want, done in zip(steps, index.tolist(), fraction.tolist(), strict=True):
        i = bisect_right(starts, t) - 1
        assert i == want, t
        remaining = float(lasts[i] - t) + rests[i]
        assert math.isclose(remaining / lengths[i], 1 - done, rel_tol=1e-12, abs_tol=1e-15), t


def _t_mul_for(first: int, count: int) -> float:
    """The smallest t_mul (to float precision) for which lrgen validate counts ``count``
    restart periods."""
    low, high = 1 + 1e-9, 1.01
    for _ in range(200):
        middle = (low + high) / 2
        low, high = (middle, high) if ir.restart_periods(first, middle) > count else (low, middle)
    return high


def test_geometric_periods_limit_is_the_validators() -> None:
    """The table's bound (a backstop for a t_mul that comes from a param) is the one lrgen
    validate applies to a literal t_mul: the most periods validate accepts are tabulated, one
    more raises."""
    assert ir.MAX_RESTART_PERIODS == H._MAX_PERIODS
    t_mul = _t_mul_for(1, H._MAX_PERIODS)
    assert ir.restart_periods(1, t_mul) == H._MAX_PERIODS
    assert len(H._geometric_periods(1, t_mul, 1.0)[0]) == H._MAX_PERIODS
    t_mul = _t_mul_for(1, H._MAX_PERIODS + 1)
    assert ir.restart_periods(1, t_mul) == H._MAX_PERIODS + 1
    with pytest.raises(ValueError, match="more than 16384 restart periods start before step"):
        H._geometric_periods(1, t_mul, 1.0)


def test_geometric_periods_fixed_and_too_many() -> None:
    assert H._geometric_periods(10, 1.0, 0.5) == ((), (), (), (), ())
    with pytest.raises(ValueError) as raised:
        H._geometric_periods(10, 1 + 1e-9, 1.0)
    assert str(raised.value) == (
        "t_mul 1.000000001 is too close to 1: more than 16384 restart periods start before "
        "step 2**31 - 1"
    )


# --- the file and helper_source ------------------------------------------------------------------


def _definitions() -> list[str]:
    names = []
    for statement in ast.parse(SOURCE.read_text()).body:
        if isinstance(statement, ast.FunctionDef):
            names.append(statement.name)
        elif isinstance(statement, ast.Assign):
            names += [t.id for t in statement.targets if isinstance(t, ast.Name)]
    return names


def _strings(node: ast.expr) -> set[str]:
    """The strings ``node`` can evaluate to: a string constant, either branch of ``a if c else
    b``, the items of a tuple."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _strings(node.body) | _strings(node.orelse)
    if isinstance(node, ast.Tuple):
        return set().union(*map(_strings, node.elts))
    return set()


def _called_helpers() -> set[str]:
    """Every helper name lrgen's code can put into a module's ``helpers``, read from its source:
    the first argument of lrgen.lower's ``call(NAME, ...)``, the strings added with
    ``.helpers.add(...)`` or assigned to a variable ``helper``, the values of printers'
    ``_SAFE_HELPERS``."""
    found: set[str] = set()
    for path in sorted((ROOT / "lrgen").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                if isinstance(func, ast.Name) and func.id == "call" and node.args:
                    found |= _strings(node.args[0])
                if (
                    isinstance(func, ast.Attribute)
                    and func.attr == "add"
                    and isinstance(func.value, ast.Attribute)
                    and func.value.attr == "helpers"
                ):
                    found |= _strings(ast.Tuple(node.args, ast.Load()))
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
                name, value = node.targets[0].id, node.value
                if name == "helper":
                    found |= _strings(value)
                if name == "_SAFE_HELPERS" and isinstance(value, ast.Dict):
                    found |= _strings(ast.Tuple(value.values, ast.Load()))
    return found


def test_every_helper_a_module_may_call_is_defined() -> None:
    called = _called_helpers()
    assert {"div", "power", "minimum", "log_split", "geometric_periods", "count_le"} <= called
    defined = set(_definitions())
    for name in sorted(called - generate.TEMPLATE_HELPERS):
        assert f"_{name}" in defined, name
        assert f"def _{name}(" in generate.helper_source([name])
    assert set(generate.CHECK_HELPERS) <= defined
    # and nothing in the file is dead: each definition is called or used by one that is
    reachable = generate.helper_source(called, checks=True)
    for name in defined:
        assert f"\n{name} = " in "\n" + reachable or f"def {name}(" in reachable, name


def test_helper_source_pulls_dependencies_in_file_order() -> None:
    text = SOURCE.read_text()
    source = generate.helper_source(["div"])
    assert source == "\n\n" + _segment(text, "_div_by_zero") + "\n\n" + _segment(text, "_div")
    assert generate.helper_source(["floordiv", "div"]) == generate.helper_source(
        ["div", "floordiv"]
    )
    assert source.count("def _div_by_zero(") == 1
    periods = generate.helper_source(["geometric_periods"])
    assert periods.startswith(
        "#: Restart tables cover every step a 32-bit step counter can reach.\n"
        "_MAX_STEP = 2**31 - 1\n"
        "#: At most this many restart periods are tabulated (lrgen.ir.MAX_RESTART_PERIODS).\n"
        "_MAX_PERIODS = 2**14\n\n\ndef _power("
    )
    assert _defined(periods) == ["_power", "_geometric_periods"]  # its peaks are _power's
    cycles = generate.helper_source(["geometric_cycles"])
    assert "_MAX_PERIODS" not in cycles and cycles.startswith("#: Restart tables")
    checks = generate.helper_source([], checks=True)
    assert _defined(checks) == ["_integer", "_require", "_argument_error"]
    assert generate.helper_source([]) == "" == generate.helper_source(["count_le"])


def _defined(source: str) -> list[str]:
    return [line[4:].split("(")[0] for line in source.splitlines() if line.startswith("def ")]


def _segment(text: str, name: str) -> str:
    """The definition of ``name`` in ``text`` as the file has it (no preceding comments)."""
    for statement in ast.parse(text).body:
        if isinstance(statement, ast.FunctionDef) and statement.name == name:
            segment = ast.get_source_segment(text, statement)
            assert segment is not None
            return segment + "\n"
    raise AssertionError(name)


def test_helper_source_runs_on_its_own() -> None:
    """The copied text needs only what generated modules import (``math``, ``Any``)."""
    everything = generate.helper_source(_called_helpers(), checks=True)
    namespace: dict[str, Any] = {"math": math, "Any": Any}
    exec(compile(everything, "<helpers>", "exec"), namespace)
    assert namespace["_div"](1.0, -0.0) == -INF
    assert namespace["_geometric_cycles"](1, 2) == H._geometric_cycles(1, 2)
    assert {n for n in namespace if n.startswith("_") and not n.startswith("__")} == set(
        _definitions()
    )


def test_helper_source_refuses_unknown_helpers() -> None:
    with pytest.raises(LookupError) as raised:
        generate.helper_source(["div", "tanh", "log"])
    message = str(raised.value)
    assert message.startswith(
        "templates/runtime_helpers.py does not define _tanh (it defines _MAX_STEP, _MAX_PERIODS, "
        "_integer, "
    )
    assert message.endswith(", _geometric_cycles, _geometric_periods)")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("import math\n\nif math.pi:\n    _x = 1\n", ":3: not a function or a constant"),
        ('"""Doc."""\n_a = _b = 1\n', ":2: one name per constant"),
        ("_a, _b = 1, 2\n", ":1: one name per constant"),
        ("def public() -> None:\n    pass\n", ":1: 'public' is defined twice or does not start"),
        ("_x = 1\n_x = 2\n", ":2: '_x' is defined twice or does not start with '_'"),
        ("class _Table:\n    pass\n", ":1: not a function or a constant"),
    ],
)
def test_parse_helpers_refuses_what_it_cannot_copy(source: str, message: str) -> None:
    """Every statement of the file is a definition generated code can take on its own."""
    with pytest.raises(ValueError) as raised:
        generate.parse_helpers(source)
    assert str(raised.value).startswith("templates/runtime_helpers.py" + message)


def test_parse_helpers_texts_and_uses() -> None:
    source = (
        '"""Doc."""\n\nimport math\n\n#: A limit.\n#: Two lines.\n_LIMIT = 3\n_OTHER: int = 4\n'
        "\n\ndef _f(x: float) -> float:\n    return _g(x) + _LIMIT\n"
        "\n\n# plain comment\ndef _g(x: float) -> float:\n    return math.floor(x)\n"
    )
    parsed = generate.parse_helpers(source)
    assert list(parsed) == ["_LIMIT", "_OTHER", "_f", "_g"]
    assert parsed["_LIMIT"].text == "#: A limit.\n#: Two lines.\n_LIMIT = 3\n"
    assert parsed["_OTHER"].text == "_OTHER: int = 4\n"
    assert parsed["_f"].text == "\n\ndef _f(x: float) -> float:\n    return _g(x) + _LIMIT\n"
    assert parsed["_g"].text.startswith("\n\n# plain comment\ndef _g(")
    assert parsed["_f"].uses == {"_g", "_LIMIT"} and parsed["_g"].uses == frozenset()


def test_file_imports_only_math_and_any() -> None:
    imports = [
        ast.unparse(s)
        for s in ast.parse(SOURCE.read_text()).body
        if isinstance(s, ast.Import | ast.ImportFrom)
    ]
    assert imports == [
        "from __future__ import annotations",
        "import math",
        "from typing import Any",
    ]


def test_file_is_strictly_typed_and_lint_clean(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
        )

    path = str(SOURCE.relative_to(ROOT))
    proc = run("mypy", "--strict", "--cache-dir", str(tmp_path / "mypy"), path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = run("ruff", "check", "--no-cache", path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = run("ruff", "format", "--check", "--no-cache", path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
