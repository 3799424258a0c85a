"""Lowering: each kind -> a small typed expression tree, once for all targets.

A schedule lowers to a :class:`Lowered`: the *constants* (``Let``) that depend on the schedule's
runtime parameters — evaluated once, at construction, in plain Python and checked against the
registry's constraints — and the *formula*, a tree over the integer counter ``t`` and those
constants. Fields that do not depend on parameters are folded into literals. One printer per target
(:mod:`lrgen.printers`) turns trees into source text.

Float32 fidelity is built in here, for every target at once: floors, cycles and remaining steps are
integer arithmetic before any conversion to float, and cosine ramps are written as ``sin²`` of the
*remaining* fraction, which stays accurate at the end of a decay where ``1 + cos`` cancels.

This module is deliberately independent of :mod:`lrgen.reference`: the property tests compare the
two, so they must not share formula code.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from lrgen import expr as ex
from lrgen.ir import Node, Schedule
from lrgen.kinds import Check, Param, T, field_path

INT, FLOAT, BOOL = "int", "float", "bool"
INT_TABLE, FLOAT_TABLE = "int_table", "float_table"
#: A helper's tuple of tables: unpacked at construction, never stored in the constants.
TABLES = "tables"

# --- the tree -----------------------------------------------------------------------------------


class L:
    """A node of the lowered tree. ``dtype`` is int/float/bool (or a table); ``varying`` is True
    when the value depends on the counter (a tensor in the torch/Keras printers)."""

    dtype: str
    varying: bool

    # Operator sugar keeps the per-kind lowerings close to their formulas.
    def __add__(self, other: Any) -> L:
        return arith("+", self, other)

    def __radd__(self, other: Any) -> L:
        return arith("+", other, self)

    def __sub__(self, other: Any) -> L:
        return arith("-", self, other)

    def __rsub__(self, other: Any) -> L:
        return arith("-", other, self)

    def __mul__(self, other: Any) -> L:
        return arith("*", self, other)

    def __rmul__(self, other: Any) -> L:
        return arith("*", other, self)

    def __truediv__(self, other: Any) -> L:
        return arith("/", self, other)

    def __rtruediv__(self, other: Any) -> L:
        return arith("/", other, self)

    def __floordiv__(self, other: Any) -> L:
        return arith("//", self, other)

    def __mod__(self, other: Any) -> L:
        return arith("%", self, other)

    def __pow__(self, other: Any) -> L:
        return arith("**", self, other)

    def __rpow__(self, other: Any) -> L:
        return arith("**", other, self)

    def __neg__(self) -> L:
        return op("neg", self)

    def __lt__(self, other: Any) -> L:  # type: ignore[override]
        return compare("<", self, other)

    def __le__(self, other: Any) -> L:  # type: ignore[override]
        return compare("<=", self, other)

    def __gt__(self, other: Any) -> L:  # type: ignore[override]
        return compare(">", self, other)

    def __ge__(self, other: Any) -> L:  # type: ignore[override]
        return compare(">=", self, other)

    # ``node == 0`` would be an identity test, silently False: use :func:`eq` to build a
    # comparison node. Nodes hash by identity.
    def __eq__(self, other: object) -> bool:
        raise TypeError("use lrgen.lower.eq(a, b) to compare tree nodes")

    def __ne__(self, other: object) -> bool:
        raise TypeError("use lrgen.lower.compare('!=', a, b) to compare tree nodes")

    __hash__ = object.__hash__


def eq(a: Any, b: Any) -> L:
    return compare("==", a, b)


@dataclass(frozen=True, eq=False)
class Const(L):
    value: Any
    dtype: str

    @property
    def varying(self) -> bool:  # type: ignore[override]  # a literal never varies
        return False


@dataclass(frozen=True, eq=False)
class Var(L):
    """The counter ``t`` (varying), a constant computed at construction (``c.NAME``), or, with
    ``param``, a runtime parameter (a keyword argument; only construction-time code sees it)."""

    name: str
    dtype: str
    varying: bool = False
    param: bool = False


@dataclass(frozen=True, eq=False)
class Op(L):
    op: str
    args: tuple[L, ...]
    dtype: str
    varying: bool = False


#: Ops that keep their operands' type (after int/float unification).
ARITH = ("+", "-", "*", "/", "//", "%", "**")
COMPARE = ("<", "<=", ">", ">=", "==", "!=")
#: float -> float functions
FUNCS = ("floor", "ceil", "cos", "sin", "exp", "log", "sqrt", "tanh", "abs", "expm1")

_PY_ARITH: Mapping[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": operator.pow,
}
_PY_COMPARE: Mapping[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


def _fold_arith(name: str, a: Any, b: Any) -> Any:
    """``a <name> b`` for literals, with NumPy's float semantics: inf or nan where Python raises
    (``1 / 0``, ``2.0 ** 5000``) and never a complex number (``(-8) ** (1/3)`` is nan)."""
    if isinstance(a, int) and isinstance(b, int) and not (name in ("//", "%") and b == 0):
        return _PY_ARITH[name](a, b)  # exact integers (``**`` is always float here)
    return ex.binary_value(name, float(a), float(b))


def _fold_func(name: str, x: Any) -> Any:
    if name == "abs":
        return abs(x)
    if name == "expm1":  # internal (decays), not in the expression language
        return math.expm1(x) if x < 709 else math.inf
    return ex.function_value(name, float(x))


def lit(value: Any) -> L:
    """A literal: ints stay ints (exact integer arithmetic), floats stay floats."""
    if isinstance(value, L):
        return value
    if isinstance(value, bool):
        return Const(value, BOOL)
    if isinstance(value, int):
        return Const(value, INT)
    return Const(float(value), FLOAT)


def to_float(x: Any) -> L:
    x = lit(x)
    if x.dtype == FLOAT:
        return x
    if isinstance(x, Const):
        return Const(float(x.value), FLOAT)
    return Op("float", (x,), FLOAT, x.varying)


def op(name: str, *args: Any) -> L:
    """A function or unary op; folded when every argument is a literal."""
    items = tuple(lit(a) for a in args)
    if name == "neg":
        (x,) = items
        if isinstance(x, Const):
            return Const(-x.value, x.dtype)
        return Op("neg", items, x.dtype, x.varying)
    if name in ("min", "max"):
        if any(a.dtype == FLOAT for a in items):
            items = tuple(to_float(a) for a in items)
        if all(isinstance(a, Const) for a in items):
            return Const(_pick(name, [a.value for a in items]), items[0].dtype)  # type: ignore[attr-defined]
        return Op(name, items, items[0].dtype, any(a.varying for a in items))
    if name in FUNCS:
        (x,) = items
        x = x if name == "abs" else to_float(x)
        if isinstance(x, Const):
            return Const(_fold_func(name, x.value), x.dtype)
        return Op(name, (x,), x.dtype, x.varying)
    raise ValueError(f"unknown op {name!r}")


def _pick(name: str, values: list[Any]) -> Any:
    """``min`` or ``max`` as NumPy's ``minimum``/``maximum``: nan if any value is nan."""
    if any(isinstance(v, float) and math.isnan(v) for v in values):
        return math.nan
    return min(values) if name == "min" else max(values)


def arith(name: str, a: Any, b: Any) -> L:
    a, b = lit(a), lit(b)
    if name == "/" or name == "**" or FLOAT in (a.dtype, b.dtype):
        a, b = to_float(a), to_float(b)
    dtype = a.dtype
    if isinstance(a, Const) and isinstance(b, Const):
        value = _fold_arith(name, a.value, b.value)
        if dtype != FLOAT or _reads_well(value, a.value, b.value):
            return Const(value, dtype)
        # e.g. 0.01 - 0.0004 stays as written rather than 0.009600000000000001: the same double
        # at run time, and a reader sees where it comes from.
        return Op(name, (a, b), dtype, False)
    # Identities that keep generated code free of "* 1.0" and "+ 0".
    if name == "*" and _is(a, 1):
        return b
    if name in ("*", "/") and _is(b, 1):
        return a
    if name in ("+", "-") and _is(b, 0):
        return a
    if name == "+" and _is(a, 0):
        return b
    return Op(name, (a, b), dtype, a.varying or b.varying)


def _reads_well(value: float, *operands: float) -> bool:
    if not math.isfinite(value):
        return True  # printed as math.inf / math.nan
    return len(repr(value)) <= max(len(repr(v)) for v in operands) + 1


def constant_value(node: L) -> Any:
    """The value of a tree of literals only (None when it reads a variable)."""
    if isinstance(node, Const):
        return node.value
    if not isinstance(node, Op):
        return None
    args = [constant_value(a) for a in node.args]
    if any(a is None for a in args):
        return None
    name = SAFE_BASE.get(node.op, node.op)
    if name in _PY_ARITH:
        return _fold_arith(name, *args)
    if name in FUNCS:
        return _fold_func(name, *args)
    if node.op in ("min", "max"):
        return _pick(node.op, args)
    if node.op == "float":
        return float(args[0])
    if node.op == "neg":
        return -args[0]
    return None


def _is(x: L, value: float) -> bool:
    return isinstance(x, Const) and x.dtype != BOOL and x.value == value


def compare(name: str, a: Any, b: Any) -> L:
    a, b = lit(a), lit(b)
    if FLOAT in (a.dtype, b.dtype):
        a, b = to_float(a), to_float(b)
    va, vb = constant_value(a), constant_value(b)
    if va is not None and vb is not None:
        return Const(_PY_COMPARE[name](va, vb), BOOL)
    return Op(name, (a, b), BOOL, a.varying or b.varying)


def where(cond: Any, a: Any, b: Any) -> L:
    cond, a, b = lit(cond), lit(a), lit(b)
    if isinstance(cond, Const):
        return a if cond.value else b
    if FLOAT in (a.dtype, b.dtype):
        a, b = to_float(a), to_float(b)
    return Op("where", (cond, a, b), a.dtype, cond.varying or a.varying or b.varying)


def count_le(table: L, x: L) -> L:
    """Number of entries of the sorted integer ``table`` that are <= ``x`` (bisect_right)."""
    return Op("count_le", (table, x), INT, x.varying or table.varying)


def take(table: L, index: L) -> L:
    dtype = INT if table.dtype == INT_TABLE else FLOAT
    return Op("take", (table, index), dtype, index.varying or table.varying)


def call(helper: str, *args: Any, dtype: str) -> L:
    """A call of a helper function of the generated module (construction time only)."""
    return Op(f"call:{helper}", tuple(lit(a) for a in args), dtype, False)


def table(items: list[L], dtype: str) -> L:
    if all(isinstance(i, Const) for i in items):
        return Const(tuple(i.value for i in items), dtype)  # type: ignore[attr-defined]
    return Op("tuple", tuple(items), dtype, False)


def index(tup: L, i: int, dtype: str) -> L:
    """Element ``i`` of a construction-time tuple (helpers return several tables)."""
    if isinstance(tup, Const):
        return Const(tup.value[i], dtype)
    return Op(f"index:{i}", (tup,), dtype, False)


def decay(base: L, exponent: L) -> L:
    """``base ** exponent`` for a non-negative constant base, as ``exp(exponent * log(base))``.

    In float32, ``0.9 ** t`` first rounds 0.9, an error that grows with t. Here, for a literal
    base, ``log(base)`` (divided by a literal divisor of the exponent, ``t / decay_steps``) is
    split into ``hi + lo``, and the power is ``exp(k * hi) * (1 + expm1(k * lo))``, with ``hi``
    short enough (:func:`_split_bits`) that ``k * hi`` is exact for every ``k`` where the result
    is >= 1e-6 of its start. Not ``exp(k * hi + k * lo)``: rounding that sum costs half
    an ulp of the exponent, which is 1e-6 relative once ``|k * log(base)| > 16`` — deep in a
    decay, which can still be the peak of a schedule (a ``ChainedScheduler`` whose other factor
    is 0 until then). Each exp's argument is exact or small, so the float32 error stays a few
    ulps of the result wherever the decay goes. A base or divisor that depends on parameters is
    split the same way at construction (the generated ``_log_split``).
    """
    exponent = to_float(exponent)
    if not exponent.varying:
        return to_float(base) ** exponent
    count: L = exponent
    divisor: L = Const(1.0, FLOAT)
    if isinstance(exponent, Op) and exponent.op == "/" and not exponent.args[1].varying:
        count, divisor = exponent.args
    base = to_float(base)
    if isinstance(base, Const) and isinstance(divisor, Const):
        if base.value == 0:  # 0 ** 0 is 1, and 0 after
            return where(eq(count, 0.0), 1.0, 0.0)
        log_base = math.log(base.value) / divisor.value
        counter = _counter_of(count)
        if counter is not None and _reach(log_base) >= 2**24:
            high = _leading_bits(log_base, 5)
            return _wide_power(counter, count, lit(high), lit(log_base - high))
        high = _leading_bits(log_base, _split_bits(log_base))
        low = log_base - high
        scaled = op("exp", count * Const(high, FLOAT))
        return _times_exp(scaled, count * Const(low, FLOAT)) if low else scaled
    # The same split, computed at construction by the generated helper ``_log_split``.
    parts = call("log_split", base, divisor, dtype=TABLES)
    high_part = Op("index:0", (parts,), FLOAT, False)
    low_part = Op("index:1", (parts,), FLOAT, False)
    narrow = _times_exp(op("exp", count * high_part), count * low_part)
    counter = _counter_of(count)
    if counter is None:
        return narrow
    wide = Op("index:2", (parts,), BOOL, False)  # chosen at construction: lazy in every target
    return where(wide, _wide_power(counter, count, high_part, low_part), narrow)


def _times_exp(scaled: L, small: L) -> L:
    """``scaled * exp(small)`` for a small exponent, as ``scaled * (1 + expm1(small))``: XLA
    rewrites ``exp(a) * exp(b)`` as ``exp(a + b)`` under jit, which would round the sum of the
    exponents again; ``expm1`` of a small argument is accurate and is left alone.

    ``small`` is a small part of the whole exponent (``lo`` <= ``hi`` / 2), so where it leaves
    [-80, 80] the whole power is below ``exp(-160)`` or above ``exp(160)``: 0 or inf in float32,
    and clamping keeps ``0 * inf`` (nan) out of the product. (In float64, the Python target, such
    a value is off after the clamp, at under 1e-69 of the decay's start.)"""
    bounded = op("max", op("min", small, 80.0), -80.0)
    return scaled * (1.0 + op("expm1", bounded))


def _counter_of(count: L) -> L | None:
    """The integer ``k`` of an exponent ``float(k)``, else None."""
    if isinstance(count, Op) and count.op == "float" and count.args[0].dtype == INT:
        return count.args[0]
    return None


def _wide_power(counter: L, count: L, high: L, low: L) -> L:
    """``exp(k * (hi + lo))`` where ``k`` beyond 2**24 matters (a base very close to 1) and
    float32(k) is rounded: ``k`` is split in integers as coarse + fine (fine = k % 4096, coarse
    has <= 19 significant bits) and ``hi`` has 5 bits, so coarse * hi is exact and its exp is
    rounded once; the rest, fine * hi + k * lo, is small, so its exp is accurate too."""
    fine = counter % 4096
    rest = to_float(fine) * high + count * low
    return _times_exp(op("exp", to_float(counter - fine) * high), rest)


def _split_bits(log_base: float) -> int:
    """Bits of ``hi`` such that ``k * hi`` is exact in float32 for every ``k`` where it matters:
    up to ``|ln(1e-6)| / |log_base|`` for a decay (beyond, the result is below 1e-6 of its start),
    up to float32 overflow (``exp(88)``) for a growth."""
    if log_base == 0:
        return 12
    return max(1, min(12, 24 - math.ceil(math.log2(_reach(log_base) + 1))))


def _reach(log_base: float) -> float:
    """The largest exponent ``k`` where ``exp(k * log_base)`` matters for the float32 rule."""
    return (88.8 if log_base > 0 else 13.82) / abs(log_base) if log_base else math.inf


def _leading_bits(x: float, bits: int) -> float:
    """``x`` rounded to its ``bits`` leading significant bits (exact in any float type)."""
    if x == 0 or not math.isfinite(x):
        return x
    mantissa, exp2 = math.frexp(x)
    return math.ldexp(round(math.ldexp(mantissa, bits)), exp2 - bits)


#: pi / 2, kept as an expression so that generated code reads ``math.pi / 2``.
HALF_PI = Op("/", (Const(math.pi, FLOAT), Const(2, INT)), FLOAT)


def sin2_remaining(remaining: L, length: L) -> L:
    """``(1 + cos(pi * (1 - remaining/length))) / 2``, written ``sin(pi/2 * remaining/length)²``.

    Accurate in float32 where a decay ends (remaining -> 0), unlike ``1 + cos`` near pi.
    """
    return op("sin", HALF_PI * to_float(remaining) / to_float(length)) ** 2


# --- the lowered schedule -----------------------------------------------------------------------


@dataclass(frozen=True)
class Let:
    """A constant computed at construction: ``name = value``, then its checks."""

    name: str
    value: L
    dtype: str
    field: str | None = None  # the spec field (json path) it comes from, for error messages
    integer: bool = False  # must be integral (checked, then converted to int)
    bounds: tuple[tuple[str, float], ...] = ()  # (op, limit) that must hold


@dataclass(frozen=True)
class Assert:
    """A cross-field check at construction: ``cond`` must hold, else ValueError(message), where
    ``{left}`` and ``{right}`` in the message stand for the ``repr`` of ``values``' trees."""

    cond: L
    message: str
    values: tuple[tuple[str, L], ...] = ()


@dataclass(frozen=True)
class Lowered:
    name: str
    params: tuple[tuple[str, float], ...]
    lets: tuple[Let | Assert, ...]
    lr: L  # the base learning rate (group scaling divides by it)
    formula: L  # learning rate at counter t
    momentum: L | None = None  # momentum (or beta1) at t, when the top-level node cycles it
    helpers: frozenset[str] = field(default_factory=frozenset)


T_VAR = Var("t", INT, varying=True)


class Builder:
    """Collects the constants of one schedule while its nodes are lowered."""

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        self.params = frozenset(schedule.param_defaults)
        self.lets: list[Let | Assert] = []
        self.bound: dict[str, Var] = {}
        self.helpers: set[str] = set()

    def let(self, name: str, value: L, dtype: str | None = None, **kw: Any) -> L:
        """Bind ``value`` to the constant ``name`` (a literal stays a literal).

        Names are unique per node (its prefix), so asking twice for the same name gives the same
        constant: lowering the learning rate and the momentum share their phase constants.
        """
        if isinstance(value, Const) or (constant_value(value) is not None and not kw):
            return value  # literals stay inline, as written
        if isinstance(value, Var) and not value.varying and not value.param and not kw:
            return value
        is_param = isinstance(value, Var) and value.param and value.name == name
        while name in self.params and not is_param:
            # A field or derived value never takes a parameter's name: ``patience:
            # "patience + 1"`` must not read back the parameter, and ``total_steps:
            # total_steps`` must still be checked.
            name += "_"
        if name in self.bound:
            return self.bound[name]
        dtype = dtype or value.dtype
        self.lets.append(Let(name, value, dtype, **kw))
        for node in _walk(value):
            if isinstance(node, Op) and node.op.startswith("call:"):
                self.helpers.add(node.op[5:])
        self.bound[name] = Var(name, dtype)
        return self.bound[name]

    def check(self, cond: L, message: str, values: tuple[tuple[str, L], ...] = ()) -> None:
        if isinstance(cond, Const):
            if not cond.value:  # the loader rejects this for the defaults; params can't fix it
                raise ValueError(message.format(**{k: repr(constant_value(v)) for k, v in values}))
            return
        self.lets.append(Assert(cond, message, values))

    def spec_expr(self, e: ex.Expr, scope: Mapping[str, L]) -> L:
        """A spec expression -> tree. Names resolve through ``scope``, then params."""
        if isinstance(e, ex.Num):
            return lit(e.value)
        if isinstance(e, ex.Name):
            if e.id in ex.CONSTANTS:
                return Const(ex.CONSTANTS[e.id], FLOAT)
            if e.id in scope:
                return scope[e.id]
            # A parameter: a float keyword argument, kept as a constant of the same name.
            return self.let(e.id, Var(e.id, FLOAT, param=True), FLOAT)
        if isinstance(e, ex.Unary):
            inner = self.spec_expr(e.operand, scope)
            return op("neg", inner) if e.op == "-" else inner
        if isinstance(e, ex.Binary):
            result = arith(e.op, self.spec_expr(e.left, scope), self.spec_expr(e.right, scope))
            return _overflow_safe(result)
        if isinstance(e, ex.Call):
            args = [self.spec_expr(a, scope) for a in e.args]
            if e.func in ("min", "max"):
                return op(e.func, *args)
            return _overflow_safe(op(e.func, to_float(args[0])))
        return where(
            compare(
                e.test.op, self.spec_expr(e.test.left, scope), self.spec_expr(e.test.right, scope)
            ),
            self.spec_expr(e.body, scope),
            self.spec_expr(e.orelse, scope),
        )


#: Ops of a user expression that Python raises on (ZeroDivisionError, OverflowError, a domain
#: error) or makes complex where NumPy and torch give inf or nan: the Python printer prints them as
#: helpers with NumPy's semantics; the tensor printers print the plain op.
_RAISING = {
    "/": "safe_div",
    "//": "safe_floordiv",
    "%": "safe_mod",
    "**": "safe_pow",
    "exp": "safe_exp",
    "log": "safe_log",
    "sqrt": "safe_sqrt",
    "floor": "safe_floor",
    "ceil": "safe_ceil",
}

SAFE_BASE = {safe: plain for plain, safe in _RAISING.items()}


def _overflow_safe(node: L, *_: str) -> L:
    """A user expression's op that may raise in Python: ``(1 - t / n) ** 0.9`` past ``n`` must be
    nan, ``2.0 ** (x - 1)`` at a billion cycles inf, ``1 / (t - 5)`` at 5 inf, as the reference
    gives them. A division by a nonzero literal cannot raise and stays plain."""
    if not isinstance(node, Op) or node.op not in _RAISING:
        return node
    if all(isinstance(a, Const) for a in node.args):
        return node  # kept as written only because its value (finite) reads worse
    if node.op in ("/", "//", "%"):
        divisor = node.args[1]
        if isinstance(divisor, Const) and divisor.value != 0 and math.isfinite(divisor.value):
            return node
    return Op(_RAISING[node.op], node.args, node.dtype, node.varying)


def _walk(node: L) -> list[L]:
    out = [node]
    if isinstance(node, Op):
        for arg in node.args:
            out.extend(_walk(arg))
    return out


class Ctx:
    """One node being lowered: its fields as trees, named with the node's prefix."""

    def __init__(self, b: Builder, node: Node, prefix: str, lr: L) -> None:
        self.b, self.node, self.prefix, self.lr = b, node, prefix, lr

    def __getitem__(self, name: str) -> Any:
        """Field ``name``: a tree for numbers, a tuple of trees for lists, else the raw value."""
        param = self.node.spec_kind.param_map[name]
        raw = self.node.arg(name)
        if raw is None or param.type in (T.BOOLEAN, T.CHOICE, T.STRING, T.EXPR_T, T.EXPR_X):
            return raw
        if param.type in (T.INT_LIST, T.NUMBER_LIST):
            integer = param.type is T.INT_LIST
            return tuple(
                self._field(f"{name}_{i}", item, param, f"{self.node.path}.{name}[{i}]", integer)
                for i, item in enumerate(raw)
            )
        return self._field(name, raw, param, f"{self.node.path}.{name}", param.type is T.INTEGER)

    def _field(self, name: str, raw: ex.Expr, param: Param, where: str, integer: bool) -> L:
        value = self.b.spec_expr(raw, {"lr": self.lr})
        known = constant_value(value)
        if known is not None:  # no parameter involved: the loader checked it already
            return lit(int(known) if integer else float(known))
        bounds = tuple(
            (cmp, limit)
            for cmp, limit in (
                (">=", param.minimum),
                (">", param.exclusive_minimum),
                ("<=", param.maximum),
                ("<", param.exclusive_maximum),
            )
            if limit is not None
        )
        return self.b.let(
            self.prefix + name,
            value,
            INT if integer else FLOAT,
            field=where,
            integer=integer,
            bounds=bounds,
        )

    def let(self, name: str, value: L, dtype: str | None = None) -> L:
        return self.b.let(self.prefix + name, value, dtype)

    def child(self, i: int) -> Ctx:
        return Ctx(self.b, self.node.children[i], f"{self.prefix}s{i}_", self.lr)


# --- per-kind lowerings -------------------------------------------------------------------------

Lowering = Callable[[Ctx, L], L]
LOWERINGS: dict[str, Lowering] = {}
MOMENTUM: dict[str, Lowering] = {}


def lowers(kind: str) -> Callable[[Lowering], Lowering]:
    def register(fn: Lowering) -> Lowering:
        LOWERINGS[kind] = fn
        return fn

    return register


def lower_node(c: Ctx, t: L) -> L:
    # Every field is bound and checked at construction, in declaration order, as the reference
    # binds them, whether or not the formula reads it: CyclicLR's gamma in mode triangular and
    # CosineDecay's warmup_steps without a warmup_target must still refuse what the reference
    # refuses. A field the formula never reads is an unused constant, nothing more.
    numeric = (T.NUMBER, T.INTEGER, T.INT_LIST, T.NUMBER_LIST)
    for param in c.node.spec_kind.params:
        if param.type in numeric:
            _ = c[param.name]
    for check in c.node.spec_kind.checks:
        _cross_check(c, check)
    return LOWERINGS[c.node.kind](c, t)


def _cross_check(c: Ctx, check: Check) -> None:
    """The rules of a registry check that params can break, checked at construction with the
    check's own message (the compared values formatted at run time, as binding formats them)."""
    for rule in check.rules(lambda name: c[name]):
        left, right = lit(rule.left), lit(rule.right)
        c.b.check(
            compare(rule.op, left, right),
            f"{field_path(c.node.path, rule.field)}: {rule.message}",
            (("left", left), ("right", right)),
        )


@lowers("Constant")
def _constant(c: Ctx, t: L) -> L:
    return c.lr


@lowers("StepLR")
def _step(c: Ctx, t: L) -> L:
    return c.lr * decay(c["gamma"], t // c["step_size"])


@lowers("MultiStepLR")
def _multistep(c: Ctx, t: L) -> L:
    milestones = c.let("milestones", table(list(c["milestones"]), INT_TABLE))
    return c.lr * decay(c["gamma"], count_le(milestones, t))


@lowers("ConstantLR")
def _constant_lr(c: Ctx, t: L) -> L:
    return where(t < c["total_iters"], c.lr * c["factor"], c.lr)


@lowers("LinearLR")
def _linear(c: Ctx, t: L) -> L:
    start, end, total = c["start_factor"], c["end_factor"], c["total_iters"]
    elapsed = op("min", t, total)
    return c.lr * interpolate(start, end, elapsed, total - elapsed, total, "linear")


@lowers("ExponentialLR")
def _exponential(c: Ctx, t: L) -> L:
    return c.lr * decay(c["gamma"], t)


@lowers("PolynomialLR")
def _polynomial(c: Ctx, t: L) -> L:
    total = c["total_iters"]
    remaining = total - op("min", t, total)
    return c.lr * (to_float(remaining) / total) ** c["power"]


def interpolate(start: L, end: L, elapsed: L, remaining: L, length: L, shape: str) -> L:
    """From ``start`` (elapsed = 0) to ``end`` (remaining = 0), linear or half-cosine.

    Anchored at the smaller endpoint, so a small value keeps its relative accuracy in float32:
    a rise is ``start + (end - start) * f(elapsed)``, a fall ``end + (start - end) * f(remaining)``.
    """

    def ramp(x: L) -> L:
        return to_float(x) / length if shape == "linear" else sin2_remaining(x, length)

    rise = start + (end - start) * ramp(elapsed)
    fall = end + (start - end) * ramp(remaining)
    return where(compare("<=", start, end), rise, fall)


def _cosine_between(low: L, high: L, remaining: L, length: L, elapsed: L | None = None) -> L:
    """``low + (high - low) * (1 + cos(pi * (length - remaining) / length)) / 2``.

    Anchored at the smaller endpoint, as :func:`interpolate`: when ``low`` (eta_min, min_lr) is
    above ``high`` the cosine rises from ``high`` and is written ``high + (low - high) *
    sin²(pi/2 * elapsed / length)``, so a small value near ``high`` keeps its relative accuracy.
    """
    fall = low + (high - low) * sin2_remaining(remaining, length)
    if isinstance(low, Const) and isinstance(high, Const) and low.value <= high.value:
        return fall
    elapsed = length - remaining if elapsed is None else elapsed
    rise = high + (low - high) * sin2_remaining(elapsed, length)
    return where(compare("<=", low, high), fall, rise)


@lowers("CosineAnnealingLR")
def _cosine_annealing(c: Ctx, t: L) -> L:
    t_max = c["T_max"]
    # Periodic like torch's closed form: the distance to the next trough, in integers.
    remaining = op("abs", t_max - t % c.let("period", 2 * t_max))
    return _cosine_between(c["eta_min"], c.lr, remaining, t_max)


@lowers("CosineAnnealingWarmRestarts")
def _warm_restarts(c: Ctx, t: L) -> L:
    t0, mult, eta_min = c["T_0"], c["T_mult"], c["eta_min"]

    def fixed() -> L:
        return _cosine_between(eta_min, c.lr, t0 - t % t0, t0)

    def growing() -> L:
        cycles = c.let("cycles", call("geometric_cycles", t0, mult, dtype=TABLES))
        starts = c.let("cycle_starts", index(cycles, 0, INT_TABLE), INT_TABLE)
        lengths = c.let("cycle_lengths", index(cycles, 1, FLOAT_TABLE), FLOAT_TABLE)
        ends = c.let("cycle_ends", index(cycles, 2, INT_TABLE), INT_TABLE)
        rests = c.let("cycle_end_rests", index(cycles, 3, FLOAT_TABLE), FLOAT_TABLE)
        i = count_le(starts, t) - 1
        length = take(lengths, i)
        elapsed = to_float(t - take(starts, i))  # an integer below 2**31
        # The steps to the cycle's end in integers (plus the part beyond 2**31 - 1): float32
        # ``length - elapsed`` cancels at the end of a cycle longer than 2**24.
        remaining = to_float(take(ends, i) - t) + take(rests, i)
        return _cosine_between(eta_min, c.lr, remaining, length, elapsed)

    if isinstance(mult, Const):
        return fixed() if mult.value == 1 else growing()
    return where(eq(mult, 1), fixed(), growing())


def _cyclic_parts(c: Ctx, t: L) -> tuple[L, L]:
    """CyclicLR's triangle position in [0, 1] and its amplitude scale."""
    up = c["step_size_up"]
    down = c["step_size_down"] if c["step_size_down"] is not None else up
    total = c.let("cycle_length", up + down)
    position = t % total
    triangle = where(position <= up, to_float(position) / up, to_float(total - position) / down)
    cycle = t // total + 1
    scale_fn: ex.Expr | None = c["scale_fn"]
    if scale_fn is not None:
        by_iterations = c["scale_mode"] == "iterations"
        x = to_float(t if by_iterations else cycle)
        scale = c.b.spec_expr(scale_fn, {"x": x})
    elif c["mode"] == "triangular":
        scale = lit(1.0)
    elif c["mode"] == "triangular2":
        # torch's 1 / 2 ** (cycle - 1), as 0.5 ** (cycle - 1): exact, and it underflows to 0
        # where 2 ** (cycle - 1) would overflow (a Python float raises past 2 ** 1023).
        scale = 0.5 ** to_float(cycle - 1)
    else:
        scale = decay(c["gamma"], t)
    return triangle, scale


@lowers("CyclicLR")
def _cyclic(c: Ctx, t: L) -> L:
    triangle, scale = _cyclic_parts(c, t)
    base, peak = c["base_lr"], c["max_lr"]
    return base + (peak - base) * triangle * scale


def _cyclic_momentum(c: Ctx, t: L) -> L:
    triangle, scale = _cyclic_parts(c, t)
    low, high = c["base_momentum"], c["max_momentum"]
    return high - (high - low) * triangle * scale


def _one_cycle_ends(c: Ctx) -> list[tuple[L, L]]:
    """torch's OneCycleLR phase ends (float) with their floors (int): a step is in the first
    phase whose end it does not exceed."""
    if c["total_steps"] is not None:
        total = c["total_steps"]
    else:
        total = c.let("total_steps", c["epochs"] * c["steps_per_epoch"])
    pct = c["pct_start"]
    ends = [c.let("phase1_end", to_float(pct * total) - 1.0)]
    if c["three_phase"]:
        ends.append(c.let("phase2_end", to_float(2.0 * pct * total) - 2.0))
    ends.append(c.let("last_end", to_float(total) - 1.0))
    return [(e, c.let(f"phase{i + 1}_end_floor", int_floor(e), INT)) for i, e in enumerate(ends)]


def int_floor(x: L) -> L:
    """``math.floor`` to an int, for construction-time constants."""
    if isinstance(x, Const):
        return Const(math.floor(x.value), INT)
    return Op("int_floor", (x,), INT, x.varying)


def _anneal_phases(c: Ctx, t: L, values: list[L]) -> L:
    """Piecewise annealing between ``values`` at torch's phase ends.

    lrgen holds torch's value at step total_steps - 1 from then on (torch extrapolates one step,
    then raises), and a phase of zero length gives its end value (torch divides by zero).
    """
    ends = _one_cycle_ends(c)
    shape = "linear" if c["anneal_strategy"] == "linear" else "cos"
    t = op("min", t, ends[-1][1])
    pieces = []
    start: L = lit(0.0)
    start_floor: L = lit(0)
    for i, (end, end_floor) in enumerate(ends):
        length = c.let(f"phase{i + 1}_length", end - start)
        # Distances to the phase ends, exact: integer parts first, then the fractions.
        end_fraction = c.let(f"phase{i + 1}_end_fraction", end - to_float(end_floor))
        start_fraction = c.let(f"phase{i}_end_fraction", start - to_float(start_floor))
        elapsed = to_float(t - start_floor) - start_fraction
        remaining = to_float(end_floor - t) + end_fraction
        ramp = interpolate(values[i], values[i + 1], elapsed, remaining, length, shape)
        pieces.append((end_floor, where(eq(length, 0.0), values[i + 1], ramp)))
        start, start_floor = end, end_floor
    result = pieces[-1][1]
    for end_floor, value in reversed(pieces[:-1]):
        result = where(t <= end_floor, value, result)
    return result


@lowers("OneCycleLR")
def _one_cycle(c: Ctx, t: L) -> L:
    peak = c["max_lr"]
    initial = c.let("initial_lr", peak / c["div_factor"])
    floor_lr = c.let("min_lr", initial / c["final_div_factor"])
    values = [initial, peak, initial, floor_lr] if c["three_phase"] else [initial, peak, floor_lr]
    return _anneal_phases(c, t, values)


def _one_cycle_momentum(c: Ctx, t: L) -> L:
    low, high = c["base_momentum"], c["max_momentum"]
    values = [high, low, high, high] if c["three_phase"] else [high, low, high]
    return _anneal_phases(c, t, values)


MOMENTUM["CyclicLR"] = _cyclic_momentum
MOMENTUM["OneCycleLR"] = _one_cycle_momentum


@lowers("LambdaLR")
def _lambda(c: Ctx, t: L) -> L:
    # User expressions compute in float, as the reference does: no integer overflow in t * t.
    counter = to_float(t)
    scope = {"t": counter, "step": counter, "epoch": counter}
    return c.lr * c.b.spec_expr(c["lr_lambda"], scope)


@lowers("SequentialLR")
def _sequential(c: Ctx, t: L) -> L:
    milestones = c["milestones"]
    starts = [lit(0), *milestones]
    pieces = [lower_node(c.child(i), t - start) for i, start in enumerate(starts)]
    result = pieces[-1]
    for milestone, piece in zip(reversed(milestones), reversed(pieces[:-1]), strict=True):
        result = where(t < milestone, piece, result)
    return result


@lowers("ChainedScheduler")
def _chained(c: Ctx, t: L) -> L:
    result = c.lr
    for i in range(len(c.node.children)):
        result = result * (lower_node(c.child(i), t) / c.lr)
    return result


@lowers("ExponentialDecay")
def _exponential_decay(c: Ctx, t: L) -> L:
    steps = c["decay_steps"]
    exponent = to_float(t // steps) if c["staircase"] else to_float(t) / steps
    return c["initial_learning_rate"] * decay(c["decay_rate"], exponent)


@lowers("PiecewiseConstantDecay")
def _piecewise(c: Ctx, t: L) -> L:
    boundaries = c.let("boundaries", table(list(c["boundaries"]), INT_TABLE))
    values = c.let("values", table(list(c["values"]), FLOAT_TABLE))
    # values[i] for boundaries[i-1] < t <= boundaries[i]: count the boundaries below t.
    return take(values, count_le(boundaries, t - 1))


@lowers("PolynomialDecay")
def _polynomial_decay(c: Ctx, t: L) -> L:
    steps, initial, end = c["decay_steps"], c["initial_learning_rate"], c["end_learning_rate"]
    if c["cycle"]:
        # Keras: the first multiple of decay_steps >= t (1 at t = 0); remaining in integers.
        # ceil(t / steps) without t + steps - 1, which overflows int32 near 2**31.
        cycle_position = t % steps
        started = compare(">", cycle_position, 0)
        multiple = op("max", t // steps + where(started, 1, 0), 1)
        remaining = where(started, steps - cycle_position, where(eq(t, 0), steps, 0))
        fraction = to_float(remaining) / (to_float(multiple) * steps)
    else:
        fraction = to_float(steps - op("min", t, steps)) / steps
    return c.let("decay_range", initial - end) * fraction ** c["power"] + end


@lowers("InverseTimeDecay")
def _inverse_time(c: Ctx, t: L) -> L:
    steps = c["decay_steps"]
    progress = to_float(t // steps) if c["staircase"] else to_float(t) / steps
    return c["initial_learning_rate"] / (1.0 + c["decay_rate"] * progress)


def _keras_cosine(alpha: L, remaining: L, length: L) -> L:
    return (1.0 - alpha) * sin2_remaining(remaining, length) + alpha


@lowers("CosineDecay")
def _cosine_decay(c: Ctx, t: L) -> L:
    initial, steps, alpha = c["initial_learning_rate"], c["decay_steps"], c["alpha"]
    target = c["warmup_target"]
    if target is None:
        return initial * _keras_cosine(alpha, steps - op("min", t, steps), steps)
    warmup = c["warmup_steps"]
    clipped = op("min", t, c.let("horizon", steps + warmup))
    decay = target * _keras_cosine(alpha, steps - (clipped - warmup), steps)
    ramp = interpolate(initial, target, clipped, warmup - clipped, warmup, "linear")
    return where(clipped < warmup, ramp, decay)


@lowers("CosineDecayRestarts")
def _cosine_restarts(c: Ctx, t: L) -> L:
    initial, first = c["initial_learning_rate"], c["first_decay_steps"]
    t_mul, m_mul, alpha = c["t_mul"], c["m_mul"], c["alpha"]

    def fixed() -> L:
        period = t // first
        # m_mul ** period as exp(period * log m_mul): float32 m_mul ** n rounds m_mul first
        peak = decay(m_mul, period)
        return initial * _restart_value(alpha, peak, first - t % first, first)

    def growing() -> L:
        periods = c.let("periods", call("geometric_periods", first, t_mul, m_mul, dtype=TABLES))
        starts = c.let("period_starts", index(periods, 0, INT_TABLE), INT_TABLE)
        lengths = c.let("period_lengths", index(periods, 1, FLOAT_TABLE), FLOAT_TABLE)
        peaks = c.let("period_peaks", index(periods, 2, FLOAT_TABLE), FLOAT_TABLE)
        lasts = c.let("period_last_steps", index(periods, 3, INT_TABLE), INT_TABLE)
        rests = c.let("period_end_rests", index(periods, 4, FLOAT_TABLE), FLOAT_TABLE)
        i = count_le(starts, t) - 1
        # Period i ends at the real S_(i+1) = lasts[i] + rests[i] (its last integer step plus a
        # rest in (0, 1]): the steps remaining are two non-negative terms, exact in integers and
        # in the rest's own precision, where float32 ``length - elapsed`` would cancel.
        remaining = to_float(take(lasts, i) - t) + take(rests, i)
        length = take(lengths, i)
        return initial * _restart_value(alpha, take(peaks, i), remaining, length)

    if isinstance(t_mul, Const):
        return fixed() if t_mul.value == 1 else growing()
    return where(eq(t_mul, 1.0), fixed(), growing())


def _restart_value(alpha: L, peak: L, remaining: L, length: L) -> L:
    return (1.0 - alpha) * peak * sin2_remaining(remaining, length) + alpha


@lowers("LinearWarmup")
def _linear_warmup(c: Ctx, t: L) -> L:
    warmup = c["warmup_steps"]
    return c.lr * to_float(op("min", t, warmup)) / warmup


@lowers("ExponentialWarmup")
def _exponential_warmup(c: Ctx, t: L) -> L:
    warmup, start = c["warmup_steps"], c["start_lr"]
    ratio = c.let("growth", c.lr / start)
    return where(t < warmup, start * decay(ratio, to_float(t) / warmup), c.lr)


@lowers("CosineWarmup")
def _cosine_warmup(c: Ctx, t: L) -> L:
    warmup = c["warmup_steps"]
    # (1 - cos(pi * t / w)) / 2 == sin(pi/2 * t / w)**2
    return where(t < warmup, c.lr * sin2_remaining(t, warmup), c.lr)


@lowers("WarmupWithDecay")
def _warmup_with_decay(c: Ctx, t: L) -> L:
    warmup, total, floor_lr = c["warmup_steps"], c["total_steps"], c["min_lr"]
    decay_length = c.let("decay_length", total - warmup)
    decay = where(t < total, _cosine_between(floor_lr, c.lr, total - t, decay_length), floor_lr)
    return where(t < warmup, c.lr * to_float(t) / warmup, decay)


@lowers("InverseSqrt")
def _inverse_sqrt(c: Ctx, t: L) -> L:
    warmup, timescale = c["warmup_steps"], c["timescale"]
    decay = c.lr * op("sqrt", timescale / (to_float(t - warmup) + timescale))
    return where(t < warmup, c.lr * to_float(t) / warmup, decay)


def _warmup_rise(t: L, warmup_length: L, shape: str) -> L:
    """The warmup's fraction of the peak at ``t < warmup_length`` (warmup_type linear, cosine,
    1-sqrt): WarmupStableDecay's, and transformers' warmup_stable_decay's."""
    if shape == "linear":
        return to_float(t) / warmup_length
    if shape == "cosine":
        return sin2_remaining(t, warmup_length)
    # 1-sqrt: 1 - sqrt(1 - p) == p / (1 + sqrt(1 - p)), no cancellation near p = 0
    return (to_float(t) / warmup_length) / (
        1.0 + op("sqrt", to_float(warmup_length - t) / warmup_length)
    )


@lowers("WarmupStableDecay")
def _warmup_stable_decay(c: Ctx, t: L) -> L:
    warmup, stable, decay = c["warmup_steps"], c["stable_steps"], c["decay_steps"]
    ratio = c["min_lr_ratio"]
    decay_start = c.let("decay_start", warmup + stable)
    decay_end = c.let("decay_end", decay_start + decay)
    warmup_length = c.let("warmup_length", op("max", 1, warmup))
    rise = _warmup_rise(t, warmup_length, c["warmup_type"])
    left = c.let("decay_remaining_scale", 1.0 / decay)
    remaining = to_float(decay_end - t)
    shape = c["decay_type"]
    if shape == "linear":
        fall = remaining * left
    elif shape == "cosine":
        fall = sin2_remaining(decay_end - t, decay)
    else:  # 1-sqrt: 1 - sqrt(p) == (1 - p) / (1 + sqrt(p)), with 1 - p in integer steps
        fall = remaining * left / (1.0 + op("sqrt", to_float(t - decay_start) / decay))
    rest = 1.0 - ratio

    def scaled(factor: L) -> L:
        return op("max", 0.0, factor * rest + ratio)

    value = where(
        t < warmup,
        scaled(rise),
        where(t < decay_start, 1.0, where(t < decay_end, scaled(fall), ratio)),
    )
    return c.lr * value


def _or(value: L | None, default: Any) -> L:
    return lit(default) if value is None else value


def _int_ceil(x: L) -> L:
    """``math.ceil`` to an int, for construction-time constants."""
    return op("neg", int_floor(op("neg", x)))


def _hf_warmup_steps(c: Ctx) -> L:
    """W as ``TrainingArguments.get_warmup_steps`` computes it: ``int(warmup_steps)`` from 1 on,
    else ``ceil(N * ratio)`` (the ratio: ``warmup_steps`` in (0, 1), else ``warmup_ratio``)."""
    total = to_float(c["num_training_steps"])
    steps, ratio = c["warmup_steps"], _or(c["warmup_ratio"], 0.0)
    if steps is None:
        return c.let("warmup", _int_ceil(total * ratio), INT)
    fraction = where(compare(">", steps, 0), steps, ratio)
    whole = where(compare(">=", steps, 1), int_floor(to_float(steps)), _int_ceil(total * fraction))
    return c.let("warmup", whole, INT)


#: The finest fraction of a cycle count whose phase is computed exactly (1/32).
_HF_PHASE_SCALE = 32


def _hf_phase(c: Ctx, name: str, factor: L, elapsed: L, period: L) -> L:
    """``(factor * elapsed) % period``, the phase of transformers' cosines, reduced to one
    period so that the float32 targets keep it at any step.

    With ``factor = m / scale`` for a whole ``m`` and a power of two ``scale`` up to 32 (the
    default half cosine: 1 / 1; a quarter cycle: 1 / 2) the reduction is integer arithmetic,
    exact; decided at construction when the factor reads a param. Other factors reduce in float,
    which float32 loses far past N (docs/kinds.md).
    """
    factor = c.let(name, factor)

    def dyadic(m: L, scale: int) -> L:
        scaled = scale * period
        phase = (m * (elapsed % scaled)) % scaled  # scale times the phase, exactly
        return phase if scale == 1 else to_float(phase) / scale

    def fractional() -> L:
        return (factor * to_float(elapsed)) % to_float(period)

    known = constant_value(factor)
    if known is not None:
        powers = (2**k for k in range(_HF_PHASE_SCALE.bit_length()))
        scale = next((p for p in powers if float(known * p).is_integer()), None)
        return dyadic(lit(int(known * scale)), scale) if scale else fractional()
    whole = c.let(f"{name}_whole", int_floor(factor), INT)
    scaled = c.let(f"{name}_scaled", int_floor(factor * _HF_PHASE_SCALE), INT)
    return where(
        eq(to_float(whole), factor),
        dyadic(whole, 1),
        where(
            eq(to_float(scaled), factor * _HF_PHASE_SCALE),
            dyadic(scaled, _HF_PHASE_SCALE),
            fractional(),
        ),
    )


def _hf_wave(c: Ctx, cycles: L, elapsed: L, length: L) -> L:
    """The distance to the next trough of transformers' ``(1 + cos(2 pi cycles * elapsed /
    length)) / 2``, which is ``sin²(pi/2 * distance / length)``: ``|length - (2 * cycles *
    elapsed) % (2 * length)|``."""
    return op("abs", length - _hf_phase(c, "twice_cycles", 2 * cycles, elapsed, 2 * length))


@lowers("TransformersSchedule")
def _transformers_schedule(c: Ctx, t: L) -> L:
    kind = c["lr_scheduler_type"]
    if kind == "constant":
        return c.lr
    total, warmup = c["num_training_steps"], _hf_warmup_steps(c)
    span = c.let("decay_length", op("max", 1, total - warmup))
    cycles = _or(c["num_cycles"], 1 if kind == "cosine_with_restarts" else 0.5)

    def wave_between(low: L, elapsed: L) -> L:
        return _cosine_between(low, c.lr, _hf_wave(c, cycles, elapsed, span), span)

    def floor_lr() -> L:
        rate = c["min_lr_rate"]
        return c["min_lr"] if rate is None else c.let("min_lr", c.lr * rate)

    warm = c.lr * to_float(t) / c.let("warmup_length", op("max", 1, warmup))
    if kind == "linear":
        after = c.lr * to_float(op("max", total - t, 0)) / span
    elif kind == "cosine":
        after = wave_between(lit(0.0), t - warmup)
    elif kind == "cosine_with_restarts":
        elapsed = t - warmup
        position = _hf_phase(c, "restart_cycles", cycles, elapsed, span)  # restarts exact
        after = where(elapsed >= span, 0.0, c.lr * sin2_remaining(span - position, span))
    elif kind == "polynomial":
        lr_end, power = _or(c["lr_end"], 1e-7), _or(c["power"], 1.0)
        remaining = total - op("min", t, total)
        decay = lr_end + (c.lr - lr_end) * (to_float(remaining) / span) ** power
        after = where(t > total, lr_end, decay)
    elif kind == "constant_with_warmup":
        after = c.lr
    elif kind == "inverse_sqrt":
        timescale = c["timescale"]
        if timescale is None:
            timescale = c.let("timescale", where(eq(warmup, 0), 10_000.0, to_float(warmup)))
        after = c.lr * op("sqrt", timescale / (to_float(t - warmup) + timescale))
    elif kind == "cosine_with_min_lr":
        after = wave_between(floor_lr(), t - warmup)
    elif kind == "cosine_warmup_with_min_lr":
        start = c["warmup_lr_rate"]
        if start is None:
            warm = c.lr * to_float(t + 1) / c.let("warmup_length", op("max", 1, warmup))
        else:
            ramp = c.let("warmup_span", op("max", 1, warmup - 1))
            warm = c.lr * (start + (1.0 - start) * to_float(t) / ramp)
        after = wave_between(floor_lr(), t - warmup + 1)
    else:
        return c.lr * _hf_wsd(c, t, warmup, cycles)
    if isinstance(warmup, Const) and warmup.value == 0:
        return after
    return where(t < warmup, warm, after)


def _hf_wsd(c: Ctx, t: L, warmup: L, cycles: L) -> L:
    """transformers' ``_get_wsd_scheduler_lambda``: the factor of ``lr``."""
    decay = c["num_decay_steps"]
    stable = c["num_stable_steps"]
    if stable is None:
        stable = c.let("stable_steps", c["num_training_steps"] - warmup - decay)
    ratio = _or(c["min_lr_ratio"], 0.0)
    decay_start = c.let("decay_start", warmup + stable)
    decay_end = c.let("decay_end", decay_start + decay)
    warmup_length = c.let("warmup_length", op("max", 1, warmup))
    decay_length = c.let("stable_decay_length", op("max", 1, decay))
    rise = _warmup_rise(t, warmup_length, c["warmup_type"] or "linear")
    elapsed = t - decay_start
    shape = c["decay_type"] or "cosine"
    if shape == "linear":
        fall = to_float(decay_length - elapsed) / decay_length
    elif shape == "cosine":
        fall = sin2_remaining(_hf_wave(c, cycles, elapsed, decay_length), decay_length)
    else:  # 1-sqrt: 1 - sqrt(p) == (1 - p) / (1 + sqrt(p)), with 1 - p in integer steps
        fall = (to_float(decay_length - elapsed) / decay_length) / (
            1.0 + op("sqrt", to_float(elapsed) / decay_length)
        )
    span = 1.0 - ratio  # from min_lr_ratio to 1

    def scaled_by(factor: L) -> L:
        return op("max", 0.0, factor * span + ratio)

    return where(
        t < warmup,
        scaled_by(rise),
        where(t < decay_start, 1.0, where(t < decay_end, scaled_by(fall), ratio)),
    )


# --- entry point --------------------------------------------------------------------------------


def _base_lr(b: Builder, schedule: Schedule) -> L:
    lr = to_float(b.spec_expr(schedule.lr, {}))
    if isinstance(lr, Const) or "lr" in b.params:
        # A literal, or an argument ``lr`` (the torch scheduler's per-group lr, generate.py):
        # used as given; a param group may have lr 0.
        return lr
    bounds = ((">", 0.0),)
    return b.let("lr", lr, FLOAT, field=f"{schedule.path}.lr", bounds=bounds)


def lower(schedule: Schedule) -> Lowered:
    """Lower a closed-form schedule (every kind but the metric-driven ones)."""
    if schedule.metric_driven:
        raise ValueError(f"{schedule.name}: {schedule.node.kind} has no closed form")
    b = Builder(schedule)
    lr = _base_lr(b, schedule)
    root = Ctx(b, schedule.node, "", lr)
    formula = lower_node(root, T_VAR)
    momentum = None
    node = schedule.node
    if node.kind in MOMENTUM and node.arg("cycle_momentum"):
        momentum = MOMENTUM[node.kind](root, T_VAR)
    return Lowered(
        schedule.name, schedule.params, tuple(b.lets), lr, formula, momentum, frozenset(b.helpers)
    )


@dataclass(frozen=True)
class LoweredSettings:
    """A metric-driven schedule: its settings (trees or raw choices) and their constants."""

    name: str
    params: tuple[tuple[str, float], ...]
    lets: tuple[Let | Assert, ...]
    lr: L
    settings: tuple[tuple[str, Any], ...]


def lower_settings(schedule: Schedule) -> LoweredSettings:
    """The settings of a metric-driven schedule (``ReduceLROnPlateau``), evaluated like fields."""
    b = Builder(schedule)
    lr = _base_lr(b, schedule)
    root = Ctx(b, schedule.node, "", lr)
    settings = tuple((p.name, root[p.name]) for p in schedule.node.spec_kind.params)
    return LoweredSettings(schedule.name, schedule.params, tuple(b.lets), lr, settings)


# --- 32-bit counters ----------------------------------------------------------------------------


def exact_quotients(formula: L) -> L:
    """``formula`` with each floor and ceil of a quotient, in a user expression, exact in the
    tensor targets' float arithmetic (the printers call this; the Python target's float64
    division is correctly rounded, as the reference's).

    A float32 quotient can land on the wrong side of an integer: ``(3k - 1) / 3`` rounds up to
    ``k`` near 2**24, and XLA (JAX, TensorFlow's jit) rewrites a division by a constant as a
    multiplication by its rounded reciprocal, so ``ceil(21 / 7)`` there is
    ``ceil(3.0000002) = 4``. ``floor``, ``ceil``, ``//`` and ``%`` of an integer ``x`` and a
    literal ``p / k`` (``k`` a power of two: 7, 7.5, 0.75) are computed in integers. Otherwise
    the floor ``q`` of the float quotient is corrected once with the remainder ``a - q * b``
    (exact where it matters: zero at every multiple of ``b``, and ``q`` is off by at most one;
    a product ``q * b`` beyond 2**24 rounds in float32, within the float32 rule);
    ``ceil(a / b)`` is ``-floor(-a / b)``. Other float ``//`` and ``%`` are left to the
    backends (``%`` is fmod-based there, exact).
    A tree without such a quotient is returned unchanged.
    """
    memo: dict[int, L] = {}
    return _exact(formula, memo)


def _exact(node: L, memo: dict[int, L]) -> L:
    if not (isinstance(node, Op) and node.varying):
        return node
    key = id(node)
    if key in memo:
        return memo[key]
    args = tuple(_exact(a, memo) for a in node.args)
    name = SAFE_BASE.get(node.op, node.op)
    inner = args[0] if args else None
    result: L
    if (
        name in ("floor", "ceil")
        and isinstance(inner, Op)
        and SAFE_BASE.get(inner.op, inner.op) == "/"
        and inner.dtype == FLOAT
    ):
        a, b = inner.args
        if name == "floor":
            result = _floor_quotient(a, b)
        else:
            result = op("neg", _floor_quotient(op("neg", a), b))
    elif (
        name == "//"
        and node.dtype == FLOAT
        and _integer_operand(args[0])
        and _literal_ratio(args[1])
    ):
        result = _floor_quotient(*args)
    elif name == "%" and node.dtype == FLOAT and (remainder := _integer_remainder(*args)):
        result = remainder
    elif all(x is y for x, y in zip(args, node.args, strict=True)):
        result = node
    else:
        result = Op(node.op, args, node.dtype, node.varying)
    memo[key] = result
    return result


#: The largest numerator and power-of-two denominator of a literal divisor floored in integers.
_SMALL = 2**15


def _integer_operand(a: L) -> L | None:
    """The integer ``x`` of ``float(x)`` or ``-float(x)`` (for ``ceil``), else None."""
    if isinstance(a, Op) and a.op == "float" and a.args[0].dtype == INT:
        return a.args[0]
    if isinstance(a, Op) and a.op == "neg":
        inner = _integer_operand(a.args[0])
        return None if inner is None else op("neg", inner)
    return None


def _literal_ratio(b: L) -> tuple[int, int] | None:
    """A literal divisor as ``p / k`` (``k`` a power of two), both small enough that
    ``(x % p) * k`` fits in int32; else None."""
    divisor = constant_value(b)
    if not isinstance(divisor, float) or not math.isfinite(divisor) or divisor == 0:
        return None
    if divisor.is_integer() and abs(divisor) <= INT32_MAX:
        return int(divisor), 1
    numerator, scale = divisor.as_integer_ratio()
    return (numerator, scale) if abs(numerator) <= _SMALL and scale <= _SMALL else None


def _integer_remainder(a: L, b: L) -> L | None:
    """``a % b`` in integers for an integer ``a`` and a literal ``b = p / k``:
    ``((x % p) * k % p) / k``; None when that does not apply."""
    integer, ratio = _integer_operand(a), _literal_ratio(b)
    if integer is None or ratio is None:
        return None
    p, scale = ratio
    rest = arith("%", integer, lit(p))
    if scale == 1:
        return to_float(rest)
    return arith("/", to_float(arith("%", arith("*", rest, lit(scale)), lit(p))), lit(float(scale)))


def _floor_quotient(a: L, b: L) -> L:
    """``floor(a / b)`` for the tensor targets (see :func:`exact_quotients`)."""
    integer, ratio = _integer_operand(a), _literal_ratio(b)
    if integer is not None and ratio is not None:
        p, scale = lit(ratio[0]), ratio[1]
        if scale == 1:
            return to_float(arith("//", integer, p))
        # b = p / k: floor(x * k / p) in integers, as (x // p) * k + ((x % p) * k) // p, whose
        # terms stay small.
        whole = arith("*", to_float(arith("//", integer, p)), lit(float(scale)))
        part = arith("//", arith("*", arith("%", integer, p), lit(scale)), p)
        return arith("+", whole, to_float(part))
    varying = a.varying or b.varying
    q = Op("floor", (Op("/", (a, b), FLOAT, varying),), FLOAT, varying)
    # Mirrored for a negative divisor: with s = sign(b), the exact floor has
    # 0 <= (a - q * b) * s < |b|.
    sign = where(compare(">", b, lit(0.0)), lit(1.0), lit(-1.0))
    scaled = arith("*", arith("-", a, arith("*", q, b)), sign)
    size = op("abs", b)
    return where(
        compare("<", scaled, lit(0.0)),
        arith("-", q, lit(1.0)),
        where(compare(">=", scaled, size), arith("+", q, lit(1.0)), q),
    )


#: The largest value of an int32: the Keras counter's range is [0, INT32_MAX].
INT32_MAX = 2**31 - 1
_INT32_MIN = -(2**31)
_Range = tuple[int, int]


def narrow_int32(formula: L) -> L:
    """``formula`` for a counter ``t`` held in int32, clamped to ``[0, INT32_MAX]`` (the Keras
    and JAX targets): every integer the generated code computes fits in int32.

    An integer literal beyond int32 (``decay_steps: 10000000000``, a milestone at ``3e9``, a
    derived ``2 * T_max``) is decided where it meets the counter, from the counter's range:
    a milestone beyond it is never reached, ``t // D`` is 0 and ``t % D`` is ``t``, ``min(t, D)``
    is ``t``; a remaining count ``D - t`` that is converted to float is split as
    ``float(D - INT32_MAX) + float(INT32_MAX - t)``, two non-negative terms (no cancellation).
    Constants computed at construction (from runtime parameters) are checked to fit by the
    generated class instead. A tree without such literals is returned unchanged; a literal left
    over raises ``ValueError`` (a kind this pass does not cover).
    """
    if not any(_wide_const(n) for n in _walk(formula)):
        return formula
    memo: dict[tuple[int, _Range], tuple[L, L]] = {}
    result = _narrow(formula, memo, _COUNTER)
    for node in _walk(result):
        if _wide_const(node):
            raise ValueError(
                f"an integer beyond int32 ({_source(node)}) is left in the 32-bit counter "
                "arithmetic"
            )
    return result


#: The counter's range in the 32-bit targets.
_COUNTER: _Range = (0, INT32_MAX)


def _source(node: L) -> str:
    value = constant_value(node)
    return repr(value) if value is not None else type(node).__name__


def _wide_const(node: L) -> bool:
    if not isinstance(node, Const) or node.dtype not in (INT, INT_TABLE):
        return False
    items = node.value if node.dtype == INT_TABLE else (node.value,)
    return any(not _INT32_MIN <= v <= INT32_MAX for v in items)


def _wider(r: _Range | None) -> bool:
    return r is not None and (r[0] < _INT32_MIN or r[1] > INT32_MAX)


def _int_range(node: L, counter: _Range = _COUNTER) -> _Range | None:
    """Bounds of an integer node for ``t`` in ``counter``; None where unknown (a constant
    computed at construction: checked to fit in int32)."""
    if node.dtype != INT:
        return None
    if isinstance(node, Const):
        return (node.value, node.value)
    if isinstance(node, Var):
        return counter if node.varying else None
    assert isinstance(node, Op)
    if node.op == "count_le":
        table = node.args[0]
        return (0, len(table.value)) if isinstance(table, Const) else None
    if node.op == "take":
        table = node.args[0]
        return (min(table.value), max(table.value)) if isinstance(table, Const) else None
    ranges = [_int_range(a, counter) for a in node.args if a.dtype == INT]
    if node.op == "where":
        ranges = ranges[-2:] if node.args[1].dtype == INT else []
        if len(ranges) != 2 or None in ranges:
            return None
        return (min(r[0] for r in ranges), max(r[1] for r in ranges))  # type: ignore[index]
    if None in ranges or not ranges:
        return None
    a = ranges[0]
    assert a is not None
    if node.op == "neg":
        return (-a[1], -a[0])
    if node.op == "abs":
        low = 0 if a[0] <= 0 <= a[1] else min(abs(a[0]), abs(a[1]))
        return (low, max(abs(a[0]), abs(a[1])))
    if len(ranges) != 2:
        return None
    b = ranges[1]
    assert b is not None
    if node.op == "+":
        return (a[0] + b[0], a[1] + b[1])
    if node.op == "-":
        return (a[0] - b[1], a[1] - b[0])
    if node.op == "*":
        products = [x * y for x in a for y in b]
        return (min(products), max(products))
    if node.op in ("min", "max"):
        pick = min if node.op == "min" else max
        return (pick(a[0], b[0]), pick(a[1], b[1]))
    if node.op == "//" and b[0] > 0:
        return (min(a[0] // b[0], a[0] // b[1]), max(a[1] // b[0], a[1] // b[1]))
    if node.op == "%" and b[0] > 0:
        return (0, b[1] - 1)
    return None


_Memo = dict[tuple[int, _Range], tuple[L, L]]


def _narrow(node: L, memo: _Memo, counter: _Range) -> L:
    """``node`` narrowed for ``t`` in ``counter``. Shared subtrees stay shared (the tensor
    printers hoist them); the memo holds the node itself too, so that an id is never reused
    while the pass runs."""
    key = (id(node), counter)
    if key in memo:
        return memo[key][1]
    result = _narrow_op(node, memo, counter) if isinstance(node, Op) else node
    memo[key] = (node, result)
    return result


def _branch_ranges(cond: L, counter: _Range) -> tuple[_Range, _Range]:
    """The counter's range where ``cond`` holds and where it does not (``t < M`` and such)."""
    if not (isinstance(cond, Op) and cond.op in ("<", "<=", ">", ">=") and len(cond.args) == 2):
        return counter, counter
    left, right = cond.args
    name = cond.op
    if isinstance(left, Const) and isinstance(right, Var) and right.varying:
        left, right, name = right, left, {"<": ">", "<=": ">=", ">": "<", ">=": "<="}[name]
    if not (isinstance(left, Var) and left.varying and isinstance(right, Const)):
        return counter, counter
    if right.dtype != INT:
        return counter, counter
    low, high, m = counter[0], counter[1], right.value
    below = {"<": m - 1, "<=": m, ">": m, ">=": m - 1}[name]  # t <= below, or t > below
    under, over = (low, min(high, below)), (max(low, below + 1), high)
    return (under, over) if name in ("<", "<=") else (over, under)


def _narrow_op(node: Op, memo: _Memo, counter: _Range) -> L:
    name = node.op
    if name == "where":
        cond = _narrow(node.args[0], memo, counter)
        if isinstance(cond, Const):
            return _narrow(node.args[1] if cond.value else node.args[2], memo, counter)
        when, otherwise = _branch_ranges(cond, counter)
        return where(
            cond, _narrow(node.args[1], memo, when), _narrow(node.args[2], memo, otherwise)
        )
    if name == "float":
        return _float_of(_narrow(node.args[0], memo, counter), counter)
    args = [_narrow(a, memo, counter) for a in node.args]
    ranges = [_int_range(a, counter) for a in args]
    wide = any(_wider(r) for r in ranges)
    if wide and name in COMPARE and None not in ranges:
        (a0, a1), (b0, b1) = ranges  # type: ignore[misc]
        decided = {
            "<": (a1 < b0, a0 >= b1),
            "<=": (a1 <= b0, a0 > b1),
            ">": (a0 > b1, a1 <= b0),
            ">=": (a0 >= b1, a1 < b0),
            "==": (a0 == a1 == b0 == b1, a1 < b0 or b1 < a0),
            "!=": (a1 < b0 or b1 < a0, a0 == a1 == b0 == b1),
        }[name]
        if decided[0] or decided[1]:
            return Const(decided[0], BOOL)
    a = ranges[0] if ranges else None
    b = ranges[1] if len(ranges) > 1 else None
    if wide and name == "abs" and a is not None:
        if a[0] >= 0:
            return args[0]
        if a[1] <= 0:
            return op("neg", args[0])
    if wide and a is not None and b is not None:
        if name == "//" and b[0] > 0 and a[0] >= 0 and a[1] < b[0]:
            return Const(0, INT)
        if name == "%" and b[0] > 0 and a[0] >= 0 and a[1] < b[0]:
            return args[0]
        if name == "min":
            if a[1] <= b[0]:
                return args[0]
            if b[1] <= a[0]:
                return args[1]
        if name == "max":
            if a[1] <= b[0]:
                return args[1]
            if b[1] <= a[0]:
                return args[0]
    if name == "count_le" and isinstance(args[0], Const) and _wide_const(args[0]):
        span = _int_range(args[1], counter)
        high = INT32_MAX if span is None else span[1]
        kept = tuple(v for v in args[0].value if v <= high)  # the others are never <= x
        if not kept:
            return Const(0, INT)
        return count_le(Const(kept, INT_TABLE), args[1])
    return _rebuild(node, args)


def _float_of(x: L, counter: _Range) -> L:
    """``float(x)`` of a narrowed integer ``x``; ``M - y`` or ``y - M`` with an integer literal
    ``M`` beyond int32 and ``y`` within it as two terms of one sign, each exact in int32."""
    if isinstance(x, Op) and x.op == "where":  # convert each branch: one may be split
        when, otherwise = _branch_ranges(x.args[0], counter)
        return where(x.args[0], _float_of(x.args[1], when), _float_of(x.args[2], otherwise))
    split = _split_float(x, counter) if isinstance(x, Op) and x.dtype == INT else None
    return split if split is not None else to_float(x)


def _split_float(x: Op, counter: _Range) -> L | None:
    if x.op not in ("-", "+"):
        return None
    left, right = x.args
    if x.op == "+":
        if isinstance(right, Const) and _wide_const(right):
            left, right = right, left
        if isinstance(left, Const) and _wide_const(left):
            return Const(float(left.value), FLOAT) + to_float(right)
        return None
    if isinstance(left, Const) and _wide_const(left):
        y = _int_range(right, counter)
        if y is None or left.value < y[1]:
            return None
        anchor = y[1]  # M - y == (M - anchor) + (anchor - y), both >= 0
        return Const(float(left.value - anchor), FLOAT) + to_float(anchor - right)
    if isinstance(right, Const) and _wide_const(right):
        y = _int_range(left, counter)
        if y is None or right.value < y[1]:
            return None
        anchor = y[1]  # y - M == (y - anchor) - (M - anchor), both <= 0
        return to_float(left - anchor) - Const(float(right.value - anchor), FLOAT)
    return None


def _rebuild(node: Op, args: list[L]) -> L:
    if all(a is b for a, b in zip(args, node.args, strict=True)):
        return node
    name = node.op
    if name in ARITH:
        return arith(name, *args)
    if name in COMPARE:
        return compare(name, *args)
    if name in FUNCS or name in ("min", "max", "neg"):
        return op(name, *args)
    if name == "count_le":
        return count_le(*args)
    if name == "take":
        return take(*args)
    varying = any(a.varying for a in args)
    return Op(name, tuple(args), node.dtype, varying)


# --- named spans --------------------------------------------------------------------------------

_PHASE_PREFIX = re.compile(r"^(?:s\d+_)*")


def name_spans(lowered: Lowered) -> Lowered:
    """``lowered`` with the span of each interpolation a named constant: in ``a + (x - y) * f``
    (``f`` depending on the counter), ``x - y`` computed at construction when it depends on no
    step (``c.lr - 1e-06`` becomes ``c.s1_span``). The constant is the same float64 subtraction
    of the same operands, done once: every target's values stay bit-identical. Its name is the
    phase's prefix (``s1_``, from the constants ``f`` reads) and ``span``, numbered from the
    second on; never a parameter's or another constant's name. The same difference written
    twice (a phase's rise and its momentum's fall) is one constant."""
    taken = {name for name, _ in lowered.params} | {"lr", "t"}
    taken |= {item.name for item in lowered.lets if isinstance(item, Let)}
    lets: list[Let] = []
    named: dict[tuple[Any, ...], Var] = {}
    memo: dict[int, L] = {}

    def span(diff: Op, factor: L) -> Var:
        key = _structure(diff)
        if key in named:
            return named[key]
        prefixes = [_phase_prefix(name) for name in constant_names(factor)]
        base = f"{max(prefixes, key=len, default='')}span"
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name)
        lets.append(Let(name, diff, FLOAT))
        named[key] = Var(name, FLOAT)
        return named[key]

    def visit(node: L) -> L:
        if not isinstance(node, Op):
            return node
        if id(node) in memo:
            return memo[id(node)]
        args = tuple(visit(a) for a in node.args)
        if node.op == "*" and node.dtype == FLOAT and node.varying:
            diff, factor = node.args
            if (
                isinstance(diff, Op)
                and diff.op == "-"
                and diff.dtype == FLOAT
                and not diff.varying
                and factor.varying
            ):
                args = (span(diff, factor), args[1])
        same = all(new is old for new, old in zip(args, node.args, strict=True))
        result = node if same else Op(node.op, args, node.dtype, node.varying)
        memo[id(node)] = result
        return result

    formula = visit(lowered.formula)
    momentum = visit(lowered.momentum) if lowered.momentum is not None else None
    if not lets:
        return lowered
    return replace(lowered, lets=(*lowered.lets, *lets), formula=formula, momentum=momentum)


def _structure(node: L) -> tuple[Any, ...]:
    """What a construction-time tree computes, comparable: equal for two trees that print
    (and evaluate) the same."""
    if isinstance(node, Const):
        return ("const", node.dtype, repr(node.value))
    if isinstance(node, Var):
        return ("var", node.name, node.param)
    assert isinstance(node, Op)
    return (node.op, node.dtype, *(_structure(a) for a in node.args))


def _phase_prefix(name: str) -> str:
    """``s1_s0_`` of ``s1_s0_T_max``: the node a constant belongs to."""
    found = _PHASE_PREFIX.match(name)
    return found[0] if found else ""


def constant_names(node: L) -> list[str]:
    """The constants (``Let`` names) that ``node`` reads, in the order they are met."""
    found: list[str] = []
    nodes = [node]
    while nodes:
        item = nodes.pop()
        if isinstance(item, Var) and not item.varying and not item.param:
            found.append(item.name)
        elif isinstance(item, Op):
            nodes.extend(item.args)
    return found
