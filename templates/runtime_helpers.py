"""The plain-Python helpers of generated modules: construction-time checks, and the operations
Python floats raise on (``ZeroDivisionError``, ``OverflowError``, a domain error) or make complex
where NumPy and torch give inf or nan, with NumPy's results.

Generated code never imports this file: ``lrgen.generate.helper_source`` copies into each
generated module the definitions it calls, plus the definitions those use (found from the names
each definition's code reads), as they are written here, each with the ``#:`` or ``#`` comment
lines right above it, in this file's order. So every top-level statement below the imports is one
definition (a function or a constant) whose name starts with ``_``, and it may use only what every
generated module that calls it imports: ``math`` and ``typing.Any``. tests/test_runtime_helpers.py
holds each helper to NumPy's semantics.
"""

from __future__ import annotations

import math
from typing import Any

#: Restart tables cover every step a 32-bit step counter can reach.
_MAX_STEP = 2**31 - 1
#: At most this many restart periods are tabulated (lrgen.ir.MAX_RESTART_PERIODS).
_MAX_PERIODS = 2**14


def _integer(field: str, value: float) -> int:
    """``value`` as an int, or a ValueError naming the field it came from."""
    if not float(value).is_integer():
        raise ValueError(f"{field} must be an integer, got {value!r}")
    return int(value)


def _require(ok: bool, field: str, value: object = None, rule: str = "") -> None:
    """Raise a ValueError naming the field unless ``ok``: ``field`` is the whole message when
    no ``rule`` (such as ``>= 1``) is given."""
    if not ok:
        raise ValueError(f"{field} must be {rule}, got {value!r}" if rule else field)


def _argument_error(
    schedule: str, arguments: dict[str, Any], defaults: dict[str, Any] | None, error: Exception
) -> ValueError:
    """``error``, raised while computing a schedule's constants, as a ValueError that names the
    schedule and the arguments that differ from their defaults: the ones the caller passed."""
    defaults = defaults or {}
    passed = [f"{k}={v!r}" for k, v in arguments.items() if k != "lr" and v != defaults.get(k)]
    where = f"{schedule}({', '.join(passed)})"
    lr = arguments.get("lr")
    if lr is not None and defaults.get("lr") is not None and lr != defaults["lr"]:
        where += f" for a param group with lr={lr!r}"
    return ValueError(f"{where}: {error}")


def _power(base: float, exponent: float) -> float:
    """``base ** exponent`` as NumPy and torch give it: inf on overflow and for ``0.0 **``
    a negative exponent, nan for a negative base to a fractional power (never complex)."""
    try:
        result = base**exponent
    except ZeroDivisionError:
        odd = float(exponent).is_integer() and exponent % 2 == 1
        return math.copysign(math.inf, base) if odd else math.inf
    except OverflowError:
        if base < 0 and not float(exponent).is_integer():
            return math.nan
        return -math.inf if base < 0 and exponent % 2 == 1 else math.inf
    return math.nan if isinstance(result, complex) else float(result)


def _minimum(*values: float) -> float:
    """``min`` as NumPy's ``minimum``: nan when any value is nan, whatever its position."""
    return math.nan if any(math.isnan(v) for v in values) else min(values)


def _maximum(*values: float) -> float:
    """``max`` as NumPy's ``maximum``: nan when any value is nan, whatever its position."""
    return math.nan if any(math.isnan(v) for v in values) else max(values)


def _div_by_zero(a: float, b: float) -> float:
    """NumPy's ``a / 0.0`` (and ``a // 0.0``): inf signed by both zeros' signs, nan for 0 / 0."""
    if a == 0 or math.isnan(a):
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _div(a: float, b: float) -> float:
    """``a / b``, inf or nan for a zero divisor as NumPy and torch give it (Python raises)."""
    return a / b if b != 0 else _div_by_zero(a, b)


def _floordiv(a: float, b: float) -> float:
    """``a // b``, inf or nan for a zero divisor as NumPy gives it (Python raises)."""
    return a // b if b != 0 else _div_by_zero(a, b)


def _mod(a: float, b: float) -> float:
    """``a % b``, nan for a zero divisor as NumPy gives it (Python raises)."""
    return a % b if b != 0 else math.nan


def _log(x: float) -> float:
    """``math.log(x)``, -inf at 0 and nan below as NumPy gives it (Python raises)."""
    if x > 0:
        return math.log(x)
    return -math.inf if x == 0 else math.nan


def _sqrt(x: float) -> float:
    """``math.sqrt(x)``, nan below 0 as NumPy gives it (Python raises)."""
    return math.sqrt(x) if x >= 0 else math.nan


def _floor(x: float) -> float:
    """``math.floor(x)`` as a float; inf and nan stay themselves as in NumPy (Python raises),
    and ``floor(-0.0)`` is -0.0 (the result has the sign of ``x``)."""
    return math.copysign(math.floor(x), x) if math.isfinite(x) else x


def _ceil(x: float) -> float:
    """``math.ceil(x)`` as a float; inf and nan stay themselves as in NumPy (Python raises),
    and ``ceil(-0.5)`` is -0.0 as in NumPy and torch (the result has the sign of ``x``)."""
    return math.copysign(math.ceil(x), x) if math.isfinite(x) else x


def _exp(x: float) -> float:
    """``math.exp(x)``, inf on overflow as NumPy and torch give it (Python raises)."""
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _log_split(base: float, divisor: float) -> tuple[float, float, bool]:
    """``log(base) / divisor`` as ``hi + lo`` for ``exp(k * hi + k * lo)``: ``hi`` has few
    enough bits that ``k * hi`` is exact in float32 wherever ``base ** (k / divisor)`` is at least
    1e-6 of its start (up to float32 overflow for a growth), so float32 rounds the exponent once.
    The flag: exponents beyond 2**24 matter (``hi`` then has 5 bits, for ``k`` split in
    integers as ``k - k % 4096`` and ``k % 4096``).
    """
    if base == 0:
        return -1e30, 0.0, False  # 0 ** 0 is 1 (0 * -1e30 is 0), then 0
    log = math.log(base) / divisor
    if log == 0:
        return 0.0, 0.0, False
    reach = (88.8 if log > 0 else 13.82) / abs(log)
    wide = reach >= 2**24
    bits = 5 if wide else max(1, min(12, 24 - math.ceil(math.log2(reach + 1))))
    mantissa, exponent = math.frexp(log)
    high = math.ldexp(round(math.ldexp(mantissa, bits)), exponent - bits)
    return high, log - high, wide


def _geometric_cycles(
    first: int, mult: int
) -> tuple[tuple[int, ...], tuple[float, ...], tuple[int, ...], tuple[float, ...]]:
    """Start and length of each SGDR cycle (lengths first * mult**i) up to ``_MAX_STEP``, and
    its end as ``min(end, _MAX_STEP)`` plus the rest: the steps remaining in cycle i are
    ``float(ends[i] - t) + rests[i]``, exact where ``length - elapsed`` would cancel.

    Integer arithmetic: a restart lands exactly on its step, at any step count.
    """
    starts: list[int] = []
    lengths: list[float] = []
    if mult == 1:  # fixed cycles are found with a modulo instead
        return (), (), (), ()
    start, length = 0, first
    while start <= _MAX_STEP:
        starts.append(start)
        lengths.append(float(length))
        start, length = start + length, length * mult
    following = (*starts[1:], start)
    ends = tuple(min(end, _MAX_STEP) for end in following)
    rests = tuple(float(end - kept) for end, kept in zip(following, ends, strict=True))
    return tuple(starts), tuple(lengths), ends, rests


def _geometric_periods(first: int, t_mul: float, m_mul: float) -> tuple[tuple[Any, ...], ...]:
    """Keras restart periods up to ``_MAX_STEP``: for period i, the first integer step in it,
    its length, its peak factor, and its exact end as its last integer step (at most
    ``_MAX_STEP``) plus the rest, which is in (0, 1] but for the last period: the steps remaining
    in period i are ``float(lasts[i] - t) + rests[i]``, two non-negative terms, where float32
    ``length - elapsed`` cancels near the end of a period.

    Period i starts at first * (t_mul**i - 1) / (t_mul - 1); searching this table replaces
    Keras's floating-point logarithm, which can put a restart one step late.
    """
    starts: list[int] = []
    exacts: list[float] = []
    lengths: list[float] = []
    peaks: list[float] = []
    if t_mul == 1.0:  # fixed periods are found with a modulo instead
        return (), (), (), (), ()
    i = 0
    while True:
        if i > _MAX_PERIODS:  # bounded work: lrgen validate rejects such a literal t_mul
            raise ValueError(
                f"t_mul {t_mul!r} is too close to 1: more than {_MAX_PERIODS} restart periods "
                "start before step 2**31 - 1"
            )
        exact = first * (_power(t_mul, i) - 1.0) / (t_mul - 1.0)
        if exact == math.inf:  # t_mul**i beyond the largest float; this sum is finite
            exact = exacts[-1] + lengths[-1]
        start = math.ceil(exact) if exact <= _MAX_STEP else _MAX_STEP + 1
        if start > _MAX_STEP:
            break
        starts.append(start)
        exacts.append(exact)
        lengths.append(first * _power(t_mul, i))
        peaks.append(_power(m_mul, i))  # inf past the largest float, as in NumPy
        i += 1
    lasts = tuple(min(end - 1, _MAX_STEP) for end in (*starts[1:], start))
    rests = tuple(end - last for end, last in zip((*exacts[1:], exact), lasts, strict=True))
    return tuple(starts), tuple(lengths), tuple(peaks), lasts, rests
