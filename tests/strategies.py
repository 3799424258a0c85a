"""Hypothesis strategies for random schedules, built from the IR constructors.

Every closed-form kind of :data:`lrgen.kinds.KINDS` is drawn with parameters in the ranges where
its schedule is meaningful and finite, respecting the registry's bounds and cross-field checks
(strictly increasing milestones, one milestone fewer than ``SequentialLR`` children, one value more
than ``PiecewiseConstantDecay`` boundaries, ``OneCycleLR``'s total_steps or epochs and
steps_per_epoch, ``WarmupWithDecay``'s warmup < total). Composites nest up to two levels.

Numeric fields are sometimes expressions over declared params (``"p1"``, ``"p1 + 3"``,
``"2 * p1"``, a param shared between fields), and a :class:`Case` may override the params at
evaluation time. ``LambdaLR`` and ``CyclicLR.scale_fn`` draw from well-behaved expression
templates (no division by zero, no log of a non-positive number, no periodic function of a raw
step, which float32 cannot represent past 2**24).

Also here: :func:`steps_for` (0, every boundary -1/0/+1, the end of the horizon and beyond, steps
up to 2**31 - 1), :func:`spec_json` (an IR -> JSON writer for load round trips), and the
strategies restricted to the cases where a framework built-in means the same as lrgen.
"""

from __future__ import annotations

import atexit
import dataclasses
import functools
import hashlib
import itertools
import json
import math
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import reject
from hypothesis import strategies as st

from lrgen import expr as ex
from lrgen import ir, loader, reference
from lrgen import kinds as kinds_module
from lrgen.kinds import KIND_MAP, KINDS, Increasing, Kind, LenMatch, Less, Param, Ref, T
from tests.frameworks import KERAS_KINDS, TORCH_KINDS, boundary_steps, import_path

#: Every kind with a closed form: all of them but the metric-driven ReduceLROnPlateau.
CLOSED_FORM_KINDS = tuple(k.name for k in KINDS if not k.metric_driven)
#: Kinds with child nodes (a ``NODES`` field).
COMPOSITE_KINDS = tuple(
    k for k in CLOSED_FORM_KINDS if any(p.type is T.NODES for p in KIND_MAP[k].params)
)
LEAF_KINDS = tuple(k for k in CLOSED_FORM_KINDS if k not in COMPOSITE_KINDS)
#: Leaf kinds that mirror a torch scheduler (``Kind.origin``, tests/frameworks.py).
TORCH_LEAF_KINDS = tuple(k for k in LEAF_KINDS if k in TORCH_KINDS)
KERAS_KIND_NAMES = tuple(sorted(KERAS_KINDS))
#: torch schedulers that set absolute values (and the group's initial_lr when built).
ABSOLUTE_TORCH_KINDS = ("CyclicLR", "OneCycleLR")
#: torch schedulers whose recurrent ``get_lr`` multiplies the incoming lr by a factor, so that
#: torch's ``ChainedScheduler`` of them is lrgen's product of multipliers (docs/differences.md §7).
MULTIPLICATIVE_TORCH_KINDS = (
    "StepLR",
    "MultiStepLR",
    "ConstantLR",
    "LinearLR",
    "ExponentialLR",
    "PolynomialLR",
    "CosineAnnealingLR",
)

MAX_STEP = 2**31 - 1  # the generated Keras code counts in int32
SCHEDULE_NAME = "sched"


# --- params ---------------------------------------------------------------------------------------


@dataclass
class Pool:
    """The params declared while one schedule is drawn: name -> default."""

    defaults: dict[str, float] = field(default_factory=dict)

    def new(self, default: float) -> str:
        name = f"p{len(self.defaults) + 1}"
        self.defaults[name] = default
        return name

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.defaults)


def _offset(name: str, k: int) -> str:
    return name if k == 0 else f"{name} + {k}" if k > 0 else f"{name} - {-k}"


@st.composite
def int_field(draw: st.DrawFn, pool: Pool, lo: int, hi: int) -> tuple[Any, int]:
    """An integer field in [lo, hi]: a literal, or an expression over a (new or shared) param.

    Returns the raw field (int or expression text) and its value at the params' defaults.
    """
    value = draw(st.integers(lo, hi))
    form = draw(st.sampled_from(("lit", "lit", "lit", "param", "plus", "times", "shared")))
    if form == "param":
        return pool.new(value), value
    if form == "plus":
        k = draw(st.integers(-3, 5))
        return _offset(pool.new(value - k), k), value
    if form == "times" and value % 2 == 0:
        return f"2 * {pool.new(value // 2)}", value
    if form == "shared":
        integral = [n for n, d in pool.defaults.items() if isinstance(d, int)]
        if integral:
            name = draw(st.sampled_from(sorted(integral)))
            return _offset(name, value - int(pool.defaults[name])), value
    return value, value


@st.composite
def float_field(draw: st.DrawFn, pool: Pool, lo: float, hi: float) -> tuple[Any, float]:
    """A number in [lo, hi]: a literal, a param, or half a param.

    Nothing between 0 and 1e-6: float32 flushes such a number (a power of 1e-38) to zero or a
    subnormal, which is a limit of float32, not of lrgen.
    """
    numbers = st.floats(lo, hi)
    if lo < 1e-6 < hi:
        numbers = st.just(lo) | st.floats(1e-6, hi)
    value = draw(numbers)
    form = draw(st.sampled_from(("lit", "lit", "lit", "param", "half")))
    if form == "param":
        return pool.new(value), value
    if form == "half" and math.isfinite(value * 2) and (value * 2) / 2 == value:
        return f"{pool.new(value * 2)} / 2", value
    return value, value


def _increasing(draw: st.DrawFn, pool: Pool, count: int, lo: int, gap: int) -> list[Any]:
    """``count`` strictly increasing integer fields starting at >= lo."""
    raw, at = [], lo
    for _ in range(count):
        item, value = draw(int_field(pool, at, at + gap))
        raw.append(item)
        at = value + 1
    return raw


# --- expressions ----------------------------------------------------------------------------------

#: lr_lambda templates: finite and >= 0 for every t >= 0 and every positive ``{p}``; none is
#: periodic in t (float32 steps are exact only below 2**24). Constant bases of powers are exact
#: in binary (0.5), and ramps to zero are written from the remaining part (``(p - t) / p``, not
#: ``1 - t / p``; ``sin(...) ** 2``, not ``(1 + cos(...)) / 2``): lrgen prints user expressions as
#: written, so a float32 target raises float32(0.9) = 0.9 * (1 - 2.6e-8) to the power t, and
#: computes 1 - 41/42 with the absolute error of the 1 (docs/verification.md). The float32 rule
#: is meant to measure lrgen, not the conditioning of the user's expression.
LAMBDA_TEMPLATES = (
    "0.5 ** (t / {p})",
    "min(1.0, (t + 1) / {p})",
    "1 / sqrt(max(t, 1))",
    "exp(-t / {p})",
    "1.0 if t < {p} else 0.1",
    "max(0.0, ({p} - t) / {p})",
    "sin(pi / 2 * ({p} - min(t, {p})) / {p}) ** 2",
    "0.5 ** floor(t / {p})",
    "0.5 ** (step // {p})",
    "{p} / (epoch + {p})",
    "e ** (-abs(t - {p}) / {p})",
    "tanh((t + 1) / {p})",
)
#: CyclicLR.scale_fn templates in x: the cycle number (>= 1) or the iteration (>= 0).
SCALE_FN_TEMPLATES = {
    "cycle": ("0.5 ** (x - 1)", "1 / x", "max(0.1, ({p} - x) / {p})", "exp(-(x - 1) / {p})"),
    "iterations": (
        "0.5 ** (x / {p})",
        "exp(-x / {p})",
        "{p} / (x + {p})",
        "max(0.1, ({p} - x) / {p})",
    ),
}


@st.composite
def positive_param(draw: st.DrawFn, pool: Pool) -> str:
    """A param (new, or an existing positive one) for an expression template, as text.

    New ones are multiples of 1/8, exact in float32 (so are their overrides): in ``(p - t) / p``
    the float32 rounding of an arbitrary p would be magnified near t = p, a property of the
    user's number, not of lrgen.
    """
    existing = [n for n, d in pool.defaults.items() if d >= 1 and float(d * 8).is_integer()]
    if existing and draw(st.booleans()):
        return draw(st.sampled_from(sorted(existing)))
    if draw(st.booleans()):
        return pool.new(draw(st.integers(8, 4000)) / 8)
    return repr(draw(st.integers(1, 500)))


# --- kinds ----------------------------------------------------------------------------------------

Fields = dict[str, Any]


@dataclass
class Ctx:
    """What a node's fields may depend on, and the options of the drawing."""

    pool: Pool
    lr: float  # the schedule's base lr at the defaults
    torch_safe: bool = False  # only parameters where torch's built-in means the same


Leaf = Callable[[st.DrawFn, Ctx], Fields]
LEAVES: dict[str, Leaf] = {}


def leaf(kind: str) -> Callable[[Leaf], Leaf]:
    def register(fn: Leaf) -> Leaf:
        LEAVES[kind] = fn
        return fn

    return register


def _ints(draw: st.DrawFn, c: Ctx, lo: int, hi: int) -> Any:
    return draw(int_field(c.pool, lo, hi))[0]


def _num(draw: st.DrawFn, c: Ctx, lo: float, hi: float) -> Any:
    return draw(float_field(c.pool, lo, hi))[0]


def _gamma(draw: st.DrawFn, c: Ctx) -> Any:
    return _num(draw, c, 0.05, 0.999)


@leaf("StepLR")
def _step_lr(draw: st.DrawFn, c: Ctx) -> Fields:
    return {"step_size": _ints(draw, c, 1, 200), "gamma": _gamma(draw, c)}


@leaf("MultiStepLR")
def _multistep(draw: st.DrawFn, c: Ctx) -> Fields:
    count = draw(st.integers(1, 4))
    return {"milestones": _increasing(draw, c.pool, count, 1, 150), "gamma": _gamma(draw, c)}


@leaf("ConstantLR")
def _constant_lr(draw: st.DrawFn, c: Ctx) -> Fields:
    # torch divides by the factor at total_iters, and with total_iters = 0 its stepping form
    # keeps lr * factor forever (a quirk pinned in tests/test_reference_torch.py)
    low = 1 if c.torch_safe else 0
    return {"factor": _num(draw, c, low / 100, 1.0), "total_iters": _ints(draw, c, low, 200)}


@leaf("LinearLR")
def _linear_lr(draw: st.DrawFn, c: Ctx) -> Fields:
    return {
        "start_factor": _num(draw, c, 1e-3, 1.0),
        "end_factor": _num(draw, c, 0.0, 1.0),
        "total_iters": _ints(draw, c, 1, 200),
    }


@leaf("ExponentialLR")
def _exponential_lr(draw: st.DrawFn, c: Ctx) -> Fields:
    return {"gamma": _num(draw, c, 0.5, 1.0)}


@leaf("PolynomialLR")
def _polynomial_lr(draw: st.DrawFn, c: Ctx) -> Fields:
    return {"total_iters": _ints(draw, c, 1, 200), "power": _num(draw, c, 0.0, 3.0)}


@leaf("CosineAnnealingLR")
def _cosine_annealing(draw: st.DrawFn, c: Ctx) -> Fields:
    return {"T_max": _ints(draw, c, 1, 300), "eta_min": _num(draw, c, 0.0, c.lr)}


@leaf("CosineAnnealingWarmRestarts")
def _warm_restarts(draw: st.DrawFn, c: Ctx) -> Fields:
    t_mult = draw(st.integers(1, 4))
    return {
        "T_0": _ints(draw, c, 1, 100),
        "T_mult": _ints(draw, c, t_mult, t_mult),  # a param choosing the branch at times
        "eta_min": _num(draw, c, 0.0, c.lr),
    }


@leaf("CyclicLR")
def _cyclic(draw: st.DrawFn, c: Ctx) -> Fields:
    base_raw, base = draw(float_field(c.pool, 1e-5, 0.5))
    fields: Fields = {
        "base_lr": base_raw,
        "max_lr": _num(draw, c, base, 1.0),
        "step_size_up": _ints(draw, c, 1, 100),
        "step_size_down": draw(st.none() | st.integers(1, 100)),
        "mode": draw(st.sampled_from(("triangular", "triangular2", "exp_range"))),
        "gamma": _num(draw, c, 0.99, 1.0),
        "cycle_momentum": draw(st.booleans()),
    }
    if draw(st.integers(0, 3)) == 0:
        scale_mode = draw(st.sampled_from(("cycle", "iterations")))
        template = draw(st.sampled_from(SCALE_FN_TEMPLATES[scale_mode]))
        fields["scale_fn"] = template.format(p=draw(positive_param(c.pool)))
        fields["scale_mode"] = scale_mode
    return fields


def _one_cycle_ok(total: int, pct: float, three_phase: bool) -> bool:
    """torch divides by each phase's length: none may be zero."""
    ends = [0.0, pct * total - 1]
    if three_phase:
        ends.append(2 * pct * total - 2)
    ends.append(float(total - 1))
    return all(b != a for a, b in itertools.pairwise(ends))


@leaf("OneCycleLR")
def _one_cycle(draw: st.DrawFn, c: Ctx) -> Fields:
    fields: Fields = {
        "max_lr": _num(draw, c, 1e-4, 1.0),
        "pct_start": draw(st.floats(0.05, 0.95)),
        "anneal_strategy": draw(st.sampled_from(("cos", "linear"))),
        "div_factor": _num(draw, c, 1.0, 100.0),
        "final_div_factor": _num(draw, c, 1.0, 1e4),
        "three_phase": draw(st.booleans()),
        "cycle_momentum": draw(st.booleans()),
    }
    if draw(st.booleans()):
        fields["total_steps"], total = draw(int_field(c.pool, 2, 400))
    else:
        fields["epochs"], epochs = draw(int_field(c.pool, 1, 10))
        fields["steps_per_epoch"], per_epoch = draw(int_field(c.pool, 1, 40))
        total = epochs * per_epoch
    if c.torch_safe and not _one_cycle_ok(total, fields["pct_start"], fields["three_phase"]):
        fields["pct_start"] = 0.3 if _one_cycle_ok(total, 0.3, fields["three_phase"]) else 0.45
    return fields


@leaf("LambdaLR")
def _lambda(draw: st.DrawFn, c: Ctx) -> Fields:
    template = draw(st.sampled_from(LAMBDA_TEMPLATES))
    return {"lr_lambda": template.format(p=draw(positive_param(c.pool)))}


@leaf("ExponentialDecay")
def _exponential_decay(draw: st.DrawFn, c: Ctx) -> Fields:
    fields = {
        "decay_steps": _ints(draw, c, 1, 300),
        "decay_rate": _num(draw, c, 0.05, 1.0),
        "staircase": draw(st.booleans()),
    }
    return _maybe_initial(draw, c, fields)


def _maybe_initial(draw: st.DrawFn, c: Ctx, fields: Fields) -> Fields:
    if draw(st.booleans()):
        fields["initial_learning_rate"] = _num(draw, c, 1e-4, 1.0)
    return fields


@leaf("PiecewiseConstantDecay")
def _piecewise(draw: st.DrawFn, c: Ctx) -> Fields:
    count = draw(st.integers(1, 4))
    boundaries = _increasing(draw, c.pool, count, 0, 150)
    values = [_num(draw, c, 0.0, 1.0) for _ in range(count + 1)]
    if all(v == 0 for v in values if isinstance(v, float)) and not any(
        isinstance(v, str) for v in values
    ):
        values[0] = 0.1  # a schedule of zeros only compares zeros
    return {"boundaries": boundaries, "values": values}


@leaf("PolynomialDecay")
def _polynomial_decay(draw: st.DrawFn, c: Ctx) -> Fields:
    fields = {
        "decay_steps": _ints(draw, c, 1, 300),
        "end_learning_rate": _num(draw, c, 0.0, 1e-3),
        "power": _num(draw, c, 0.25, 3.0),
        "cycle": draw(st.booleans()),
    }
    return _maybe_initial(draw, c, fields)


@leaf("InverseTimeDecay")
def _inverse_time(draw: st.DrawFn, c: Ctx) -> Fields:
    fields = {
        "decay_steps": _ints(draw, c, 1, 300),
        "decay_rate": _num(draw, c, 0.0, 5.0),
        "staircase": draw(st.booleans()),
    }
    return _maybe_initial(draw, c, fields)


@leaf("CosineDecay")
def _cosine_decay(draw: st.DrawFn, c: Ctx) -> Fields:
    fields: Fields = {"decay_steps": _ints(draw, c, 1, 300), "alpha": _num(draw, c, 0.0, 1.0)}
    if draw(st.booleans()):
        fields["initial_learning_rate"] = _num(draw, c, 1e-4, 1.0)
    if draw(st.booleans()):
        fields["warmup_target"] = _num(draw, c, 1e-4, 1.0)  # below initial: a falling warmup
        fields["warmup_steps"] = _ints(draw, c, 0, 200)
    return fields


@leaf("CosineDecayRestarts")
def _cosine_restarts(draw: st.DrawFn, c: Ctx) -> Fields:
    t_mul = draw(st.sampled_from((1.0, 2.0, 3.0)) | st.floats(1.05, 3.0))
    fields = {
        "first_decay_steps": _ints(draw, c, 1, 100),
        "t_mul": _num(draw, c, t_mul, t_mul),
        "m_mul": _num(draw, c, 0.0, 1.0),
        "alpha": _num(draw, c, 0.0, 1.0),
    }
    return _maybe_initial(draw, c, fields)


@leaf("Constant")
def _constant(draw: st.DrawFn, c: Ctx) -> Fields:
    return {}


@leaf("LinearWarmup")
def _linear_warmup(draw: st.DrawFn, c: Ctx) -> Fields:
    return {"warmup_steps": _ints(draw, c, 1, 200)}


@leaf("ExponentialWarmup")
def _exponential_warmup(draw: st.DrawFn, c: Ctx) -> Fields:
    return {"warmup_steps": _ints(draw, c, 1, 200), "start_lr": _num(draw, c, 1e-8, c.lr)}


@leaf("CosineWarmup")
def _cosine_warmup(draw: st.DrawFn, c: Ctx) -> Fields:
    return {"warmup_steps": _ints(draw, c, 1, 200)}


@leaf("WarmupWithDecay")
def _warmup_with_decay(draw: st.DrawFn, c: Ctx) -> Fields:
    warmup, w = draw(int_field(c.pool, 0, 150))
    total = draw(int_field(c.pool, w + 1, w + 300))[0]
    return {"warmup_steps": warmup, "total_steps": total, "min_lr": _num(draw, c, 0.0, c.lr)}


@leaf("InverseSqrt")
def _inverse_sqrt(draw: st.DrawFn, c: Ctx) -> Fields:
    fields: Fields = {"warmup_steps": _ints(draw, c, 1, 200)}
    if draw(st.booleans()):
        fields["timescale"] = _num(draw, c, 1.0, 1000.0)
    return fields


@leaf("WarmupStableDecay")
def _wsd(draw: st.DrawFn, c: Ctx) -> Fields:
    shapes = ("linear", "cosine", "1-sqrt")
    return {
        "warmup_steps": _ints(draw, c, 0, 100),
        "stable_steps": _ints(draw, c, 0, 100),
        "decay_steps": _ints(draw, c, 1, 100),
        "min_lr_ratio": _num(draw, c, 0.0, 1.0),
        "warmup_type": draw(st.sampled_from(shapes)),
        "decay_type": draw(st.sampled_from(shapes)),
    }


#: Hand-written leaves are of leaf kinds only; every other leaf kind is drawn by the derived
#: strategy below.
assert set(LEAVES) <= set(LEAF_KINDS), sorted(set(LEAVES) - set(LEAF_KINDS))


# --- the default: a strategy derived from the registry ----------------------------------------
# A kind without a hand-written ``@leaf`` is drawn from its registry entry alone (types, bounds,
# defaults, choices, nullable fields, Refs and cross-field checks), so that a new kind needs no
# test code: it is drawn by every property test that draws leaves or composites.

#: Fresh draws of one derived node before the example is rejected.
DERIVED_ATTEMPTS = 8
#: A number without an upper bound is drawn up to the largest of this, twice its default and
#: four times its lower bound (a factor, a rate or a multiplier; beyond, most schedules overflow).
NUMBER_CAP = 1.0
#: An integer without an upper bound is drawn up to one of these above its lower bound: small
#: (multipliers, short phases) or up to the 300 dense steps of :func:`steps_for`.
INTEGER_SPANS = (8, 200)


def _inside(bound: float, up: bool) -> float:
    """The nearest value drawn beside an exclusive bound (nothing within 1e-6 of it, as in
    :func:`float_field`)."""
    step = max(1e-6, abs(bound) * 1e-6)
    return bound + step if up else bound - step


def number_range(p: Param) -> tuple[float, float]:
    """Where a NUMBER field (or a NUMBER_LIST item) is drawn: its bounds, capped (NUMBER_CAP)."""
    if p.minimum is not None:
        lo = float(p.minimum)
    elif p.exclusive_minimum is not None:
        lo = _inside(p.exclusive_minimum, up=True)
    else:
        lo = 0.0
    if p.maximum is not None:
        hi = float(p.maximum)
    elif p.exclusive_maximum is not None:
        hi = _inside(p.exclusive_maximum, up=False)
    else:
        default = p.default if _is_number(p.default) and p.default > 0 else 0.0
        hi = max(NUMBER_CAP, 2.0 * default, 4.0 * lo)
    return lo, max(lo, hi)


def integer_range(p: Param, span: int = INTEGER_SPANS[-1]) -> tuple[int, int]:
    """Where an INTEGER field (or an INT_LIST item) is drawn: its bounds, at most ``span`` wide."""
    if p.minimum is not None:
        lo = math.ceil(p.minimum)
    elif p.exclusive_minimum is not None:
        lo = math.floor(p.exclusive_minimum) + 1
    else:
        lo = 0
    hi = lo + span
    if p.maximum is not None:
        hi = min(hi, math.floor(p.maximum))
    if p.exclusive_maximum is not None:
        hi = min(hi, math.ceil(p.exclusive_maximum) - 1)
    return lo, max(lo, hi)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _draw_order(kind: Kind) -> list[Param]:
    """Child nodes first, then the fields another field's length follows, then the rest (in the
    registry's order, which puts the low side of a ``Less`` first)."""
    others = {c.other for c in kind.checks if isinstance(c, LenMatch)}
    return sorted(kind.params, key=lambda p: (p.type is not T.NODES, p.name not in others))


def _field_range(kind: Kind, p: Param, known: Mapping[str, Any], span: int) -> tuple[Any, Any]:
    """The range of a numeric field, narrowed by the ``Less`` checks on fields drawn before."""
    integer = p.type in (T.INTEGER, T.INT_LIST)
    lo, hi = integer_range(p, span) if integer else number_range(p)
    for check in kind.checks:
        if isinstance(check, Less) and check.high == p.name and _is_number(known.get(check.low)):
            low = known[check.low]
            lo = max(lo, math.floor(low) + 1 if integer else _inside(low, up=True))
            hi = max(hi, lo + (span if integer else 0))
        if isinstance(check, Less) and check.low == p.name and _is_number(known.get(check.high)):
            high = known[check.high]
            hi = min(hi, math.ceil(high) - 1 if integer else _inside(high, up=False))
    return lo, max(lo, hi)


def _derived_value(
    draw: st.DrawFn, c: Ctx, kind: Kind, p: Param, known: dict[str, Any], depth: int
) -> tuple[Any, Any]:
    """One field: (its raw value, its value at the params' defaults, or its length for lists)."""
    span = draw(st.sampled_from(INTEGER_SPANS))
    if p.type is T.NODES:
        count = draw(st.integers(max(p.min_items, 1), max(p.min_items, 1) + 2))
        return [draw(node(c, max(depth - 1, 0))) for _ in range(count)], count
    if p.type is T.BOOLEAN:
        flag = draw(st.booleans())
        return flag, flag
    if p.type is T.CHOICE:
        choice = draw(st.sampled_from(p.choices))
        return choice, choice
    if p.type is T.STRING:
        return "derived", "derived"
    if p.type in (T.EXPR_T, T.EXPR_X):
        templates = LAMBDA_TEMPLATES if p.type is T.EXPR_T else SCALE_FN_TEMPLATES["iterations"]
        template = draw(st.sampled_from(templates))  # iterations: x >= 0, a cycle number too
        return template.format(p=draw(positive_param(c.pool))), None
    if p.type in (T.INT_LIST, T.NUMBER_LIST):
        matched = [
            known[check.other] + check.offset
            for check in kind.checks
            if isinstance(check, LenMatch) and check.field == p.name and check.other in known
        ]
        low_count = max(p.min_items, 1)
        count = matched[0] if matched else draw(st.integers(low_count, low_count + 3))
        lo, hi = _field_range(kind, p, known, span)
        increasing = any(isinstance(k, Increasing) and k.field == p.name for k in kind.checks)
        if p.type is T.INT_LIST and increasing:
            items = _increasing(draw, c.pool, count, lo, max(1, (hi - lo) // max(count, 1)))
        elif p.type is T.INT_LIST:
            items = [draw(int_field(c.pool, lo, hi))[0] for _ in range(count)]
        else:
            values = [draw(float_field(c.pool, lo, hi)) for _ in range(count)]
            if increasing:  # literals sorted; an expression item is left to the checks
                values = sorted(values, key=lambda v: v[1])
            items = [raw for raw, _ in values]
        return items, count
    lo, hi = _field_range(kind, p, known, span)
    if p.type is T.INTEGER:
        return draw(int_field(c.pool, lo, hi))
    return draw(float_field(c.pool, lo, hi))


def _default_length(p: Param) -> int | None:
    return len(p.default) if isinstance(p.default, list | tuple) else None


@st.composite
def derived_fields(draw: st.DrawFn, c: Ctx, kind_name: str, depth: int = 1) -> Fields:
    """A random node's fields from the registry entry of ``kind_name`` alone, within its bounds
    (:func:`number_range`, :func:`integer_range`), lists as long as their ``LenMatch`` says and
    increasing where ``Increasing`` says, ``Less`` pairs in order; an optional field is sometimes
    left out (its default, a ``Ref`` included) and a nullable one sometimes null; numbers are
    sometimes expressions over a new or shared param. Not yet checked: see :func:`derived_node`."""
    kind = KIND_MAP[kind_name]
    fields: Fields = {}
    known: dict[str, Any] = {}
    for p in _draw_order(kind):
        if not p.required:
            form = draw(st.sampled_from(("given", "given", "default", "null")))
            if form == "null" and p.nullable:
                fields[p.name] = None
                continue
            if form != "given":
                default = p.default
                known[p.name] = _default_length(p) if p.type in _LIST_TYPES else default
                continue
        fields[p.name], known[p.name] = _derived_value(draw, c, kind, p, known, depth)
    return fields


_LIST_TYPES = (T.INT_LIST, T.NUMBER_LIST, T.NODES)
_NODE_PATH = re.compile(rf"^schedules\.{SCHEDULE_NAME}\.schedule(?:\.(?P<field>\w+))?")


def derived_problem(kind: str, fields: Fields, c: Ctx) -> tuple[str, str] | None:
    """Why a node of ``kind`` with ``fields`` is not kept, or None: (the field at fault, or ""
    for the node, and the reason). Kept are the nodes the loader accepts as a spec (schema, the
    registry's cross-field checks, ``ir.bind``) whose reference values are finite, >= 0 and not
    all 0 at :func:`steps_for`'s steps (every boundary, up to 2**31 - 1), with the schedule's
    lr."""
    problems = _derived_problems(kind, fields, c)
    return problems[0] if problems else None


def _derived_problems(kind: str, fields: Fields, c: Ctx) -> list[tuple[str, str]]:
    """Every problem the loader finds (field, message), else the reference's, else none."""
    try:
        root = ir.make_node(kind, param_names=c.pool.names, **fields)
    except ValueError as error:  # an expression the parser refuses (ExprError)
        return [("", str(error))]
    schedule = schedule_from(root, c.lr, dict(c.pool.defaults))
    _, problems = loader.analyze(spec_json(schedule), "derived.json")
    errors = []
    for problem in problems:
        if problem.severity == "error":
            match = _NODE_PATH.match(problem.path)
            errors.append(((match["field"] or "") if match else "", problem.message))
    if errors:
        return errors
    with np.errstate(all="ignore"):
        values = reference.evaluate(schedule, steps_for(ir.bind(schedule)))
    if not np.all(np.isfinite(values)):
        return [("", "a reference value is not finite")]
    if np.any(values < 0):
        return [("", "a reference value is negative")]
    if not np.any(values > 0):
        return [("", "the reference is 0 at every step (a comparison of zeros only)")]
    return []


@st.composite
def derived_node(draw: st.DrawFn, c: Ctx, kind: str, depth: int = 1) -> ir.Node:
    """A node of ``kind`` drawn by :func:`derived_fields` and kept only where
    :func:`derived_problem` finds nothing. The fields at fault that have a default are set back
    to it (a problem of the node as a whole sets back the last optional field given) and the
    node checked again; else the node is drawn afresh, DERIVED_ATTEMPTS times at most, its new
    params forgotten, before the example is rejected."""
    spec_kind = KIND_MAP[kind]
    for _ in range(DERIVED_ATTEMPTS):
        before = dict(c.pool.defaults)
        fields = draw(derived_fields(c, kind, depth))
        while True:
            problems = _derived_problems(kind, fields, c)
            if not problems:
                return ir.make_node(kind, param_names=c.pool.names, **fields)
            optional = [n for n in fields if not spec_kind.param_map[n].required]
            at_fault = [n for n in optional if n in {at for at, _ in problems}]
            if at_fault:
                for name in at_fault:
                    del fields[name]
            elif problems[0][0] == "" and optional:
                del fields[optional[-1]]
            else:
                break
        c.pool.defaults.clear()
        c.pool.defaults.update(before)
    reject()


# --- nodes ----------------------------------------------------------------------------------------


@st.composite
def leaf_node(draw: st.DrawFn, c: Ctx, kinds: tuple[str, ...] = LEAF_KINDS) -> ir.Node:
    """A node of one of ``kinds``: its hand-written ``@leaf`` where it has one, else derived from
    the registry (:func:`derived_node`)."""
    kind = draw(st.sampled_from(kinds))
    if kind not in LEAVES:
        return draw(derived_node(c, kind))
    fields = LEAVES[kind](draw, c)
    return ir.make_node(kind, param_names=c.pool.names, **fields)


@st.composite
def node(draw: st.DrawFn, c: Ctx, depth: int = 2, kind: str | None = None) -> ir.Node:
    """A closed-form node (of ``kind`` if given); composites nest ``depth`` levels at most."""
    if kind is None:
        composite = depth > 0 and draw(st.integers(0, 3)) == 0
        kind = draw(st.sampled_from(COMPOSITE_KINDS)) if composite else None
    if kind not in COMPOSITE_KINDS:
        return draw(leaf_node(c, (kind,) if kind else LEAF_KINDS))
    if kind not in ("SequentialLR", "ChainedScheduler"):  # no hand-written composite
        return draw(derived_node(c, kind, depth))
    count = draw(st.integers(1, 3))
    children = [draw(node(c, depth - 1)) for _ in range(count)]
    if kind == "ChainedScheduler":
        return ir.make_node(kind, schedulers=children)
    milestones = _increasing(draw, c.pool, count - 1, 1, 200)
    return ir.make_node(kind, param_names=c.pool.names, schedulers=children, milestones=milestones)


def one_kind(kind: str) -> Callable[[Ctx], st.SearchStrategy[ir.Node]]:
    """A root for :func:`cases`: a node of ``kind`` (its children, if any, of any kind)."""
    return lambda c: node(c, kind=kind)


def derived_kind(kind: str) -> Callable[[Ctx], st.SearchStrategy[ir.Node]]:
    """A root for :func:`cases`: a node of ``kind`` drawn by the derived strategy even where a
    hand-written one exists (the evidence that it draws a new kind: it draws every kind)."""
    return lambda c: derived_node(c, kind, depth=2)


# --- schedules and cases --------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """A schedule, the param values to evaluate it with, and its binding for those values."""

    schedule: ir.Schedule
    params: Mapping[str, float]
    bound: ir.Bound
    #: A pinned case (``@example``): compared by the rules as they are, without steering around
    #: the open findings, so that its example fails until the finding is fixed.
    strict: bool = False
    #: The open finding this pinned case shows (see FINDING_SIGNATURES), if any.
    finding: str | None = None

    @property
    def lr(self) -> float:
        return self.bound.lr

    @property
    def spec(self) -> ir.Spec:
        return ir.Spec(path="prop.json", sha256="0" * 64, version=1, entries=(self.schedule,))

    def __repr__(self) -> str:  # what Hypothesis prints for a falsifying example
        return f"Case(spec={spec_json(self.schedule)!r}, params={dict(self.params)!r})"


def make_case(
    schedule: ir.Schedule, params: Mapping[str, float] | None = None, strict: bool = False
) -> Case:
    params = dict(params or {})
    return Case(schedule, params, ir.bind(schedule, params), strict)


def schedule_from(
    root: ir.Node, lr: Any = 0.1, params: Mapping[str, float] | None = None, unit: str = "step"
) -> ir.Schedule:
    names = frozenset(params or {})
    lr_expr = ex.parse(lr, names) if isinstance(lr, str) else ex.Num(lr)
    return ir.Schedule(
        name=SCHEDULE_NAME,
        lr=lr_expr,
        node=root,
        unit=unit,
        params=tuple((params or {}).items()),
        path=f"schedules.{SCHEDULE_NAME}",
    )


def example_case(
    kind: str,
    lr: float = 0.1,
    params: Mapping[str, float] | None = None,
    overrides: Mapping[str, float] | None = None,
    unit: str = "step",
    finding: str | None = None,
    **fields: Any,
) -> Case:
    """A pinned case (strict): one node of ``kind`` (``schedulers`` may hold child nodes);
    ``finding`` names the open finding it shows."""
    root = ir.make_node(kind, param_names=frozenset(params or {}), **fields)
    case = make_case(schedule_from(root, lr, params, unit), overrides, strict=True)
    return dataclasses.replace(case, finding=finding)


@st.composite
def _overrides(
    draw: st.DrawFn, schedule: ir.Schedule, keep: Callable[[ir.Bound], bool]
) -> dict[str, float]:
    """New values for some params: integers moved by a few, numbers scaled down; kept only if the
    schedule still binds (the generated constructors reject the others, tested elsewhere)."""
    if not schedule.params or draw(st.booleans()):
        return {}
    out: dict[str, float] = {}
    for name, default in schedule.params:
        if draw(st.booleans()):
            if isinstance(default, int):  # a param drawn for an integer field
                out[name] = int(default) + draw(st.integers(-2, 3))
            else:  # scaled down: a factor such as gamma stays <= 1 (no overflow at 2**31);
                # by a multiple of 1/8, so that a number exact in float32 stays exact
                out[name] = default * draw(st.sampled_from((0.5, 0.625, 0.75, 0.875, 1.0)))
    try:
        bound = ir.bind(schedule, out)
    except ir.BindError:
        return {}
    return out if keep(bound) else {}


@st.composite
def _lr(draw: st.DrawFn, pool: Pool) -> tuple[Any, float]:
    value = draw(st.sampled_from((0.1, 1.0, 3e-4)) | st.floats(1e-4, 1.0))
    if draw(st.integers(0, 3)) == 0:
        return pool.new(value), value
    return value, value


@st.composite
def cases(
    draw: st.DrawFn,
    root: Callable[[Ctx], st.SearchStrategy[ir.Node]] | None = None,
    torch_safe: bool = False,
) -> Case:
    """A random closed-form schedule (any kind, nested composites) with param overrides."""
    pool = Pool()
    lr_raw, lr_value = draw(_lr(pool))
    c = Ctx(pool, lr_value, torch_safe)
    root_node = draw(root(c) if root else node(c))
    unit = draw(st.sampled_from(("step", "epoch")))
    schedule = ir.Schedule(
        name=SCHEDULE_NAME,
        lr=ex.parse(lr_raw, pool.names) if isinstance(lr_raw, str) else ex.Num(lr_raw),
        node=root_node,
        unit=unit,
        params=tuple(pool.defaults.items()),
        path=f"schedules.{SCHEDULE_NAME}",
    )
    ir.bind(schedule)  # valid at the defaults by construction
    keep = torch_compatible if torch_safe else (lambda bound: True)
    return make_case(schedule, draw(_overrides(schedule, keep)))


def momentum_cases(torch_safe: bool = False) -> st.SearchStrategy[Case]:
    """A top-level CyclicLR or OneCycleLR that cycles the momentum (random otherwise)."""

    @st.composite
    def root(draw: st.DrawFn, c: Ctx) -> ir.Node:
        kind = draw(st.sampled_from(("CyclicLR", "OneCycleLR")))
        fields = LEAVES[kind](draw, c)
        low = draw(st.sampled_from((0.0, 0.5, 0.75, 0.85)) | st.floats(0.0, 1.0))
        high = draw(st.sampled_from((low, 0.9, 0.95, 1.0)) | st.floats(low, 1.0))
        fields.update(cycle_momentum=True, base_momentum=low, max_momentum=high)
        return ir.make_node(kind, param_names=c.pool.names, **fields)

    return cases(lambda c: root(c), torch_safe=torch_safe)


def torch_compatible(bound: ir.Bound) -> bool:
    """Whether torch's built-in computes what lrgen means for these values (see the leaves)."""
    if bound.kind == "ConstantLR" and (bound["factor"] == 0 or bound["total_iters"] == 0):
        return False
    if bound.kind == "OneCycleLR" and not _one_cycle_ok(
        ir.one_cycle_total_steps(bound), bound["pct_start"], bound["three_phase"]
    ):
        return False
    return all(torch_compatible(child) for child in bound.children)


def keras_cases() -> st.SearchStrategy[Case]:
    """A single Keras-mirrored node (compared with ``keras.optimizers.schedules``)."""
    return cases(lambda c: leaf_node(c, KERAS_KIND_NAMES))


@st.composite
def _torch_mirrored_node(draw: st.DrawFn, c: Ctx) -> ir.Node:
    shape = draw(st.sampled_from(("leaf", "leaf", "sequential", "chained")))
    if shape == "leaf":
        return draw(leaf_node(c, TORCH_LEAF_KINDS))
    count = draw(st.integers(1, 3))
    if shape == "chained":
        children = [draw(leaf_node(c, MULTIPLICATIVE_TORCH_KINDS)) for _ in range(count)]
        return ir.make_node("ChainedScheduler", schedulers=children)
    # torch's OneCycleLR and CyclicLR overwrite the group's initial_lr when built, which shifts
    # the other children of a torch SequentialLR (construction order, differences.md §8)
    relative = tuple(k for k in TORCH_LEAF_KINDS if k not in ABSOLUTE_TORCH_KINDS)
    children = [draw(leaf_node(c, relative)) for _ in range(count)]
    milestones = _increasing(draw, c.pool, count - 1, 1, 200)
    return ir.make_node(
        "SequentialLR", param_names=c.pool.names, schedulers=children, milestones=milestones
    )


def torch_cases() -> st.SearchStrategy[Case]:
    """A torch-mirrored schedule where torch's built-in means what lrgen means: a leaf, a
    SequentialLR of leaves, or a ChainedScheduler of multiplicative leaves (§7, §8 of
    docs/differences.md)."""
    return cases(_torch_mirrored_node, torch_safe=True)


def torch_horizon(bound: ir.Bound, limit: int = 600) -> int:
    """How many steps torch's built-in can be compared for: OneCycleLR ends at total_steps - 1
    (torch raises after); in a ChainedScheduler, CosineAnnealingLR's recurrence is a multiplier
    only up to T_max (past it torch adds a term, §7)."""
    n = limit
    if bound.kind == "OneCycleLR":
        n = min(n, ir.one_cycle_total_steps(bound))
    if bound.kind == "SequentialLR":
        starts = (0, *bound["milestones"])
        for start, child in zip(starts, bound.children, strict=True):
            if child.kind == "OneCycleLR":
                n = min(n, start + ir.one_cycle_total_steps(child))
    if bound.kind == "ChainedScheduler":
        for child in bound.children:
            if child.kind == "CosineAnnealingLR":
                n = min(n, child["T_max"] + 1)
                if child["eta_min"] != 0:
                    n = min(n, 1)  # an additive term: only t = 0 is a product
    return max(n, 1)


# --- steps ----------------------------------------------------------------------------------------

LARGE_STEPS = (2**24 - 1, 2**24, 2**24 + 1, 2**31 - 2, 2**31 - 1)


def extra_steps() -> st.SearchStrategy[list[int]]:
    """A few random steps: mid-range and anywhere up to 2**31 - 1."""
    return st.lists(st.integers(0, 100_000) | st.integers(0, MAX_STEP), max_size=8)


def steps_for(bound: ir.Bound, extra: Sequence[int] = (), horizon: int = 300) -> np.ndarray:
    """0..horizon, every integer of the tree -1/0/+1 and doubled (the end of each phase and
    beyond), the largest int32 steps and ``extra``."""
    base = boundary_steps(bound, horizon)
    return np.unique(np.concatenate([base, np.asarray(extra, dtype=np.int64), LARGE_STEPS]))


# --- IR -> JSON -----------------------------------------------------------------------------------


def _expr_json(value: ex.Expr) -> Any:
    return value.value if isinstance(value, ex.Num) else ex.to_source(value)


def node_json(n: ir.Node) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": n.kind}
    if n.description is not None:
        out["description"] = n.description
    for param in n.spec_kind.params:
        if param.type is T.NODES:
            out[param.name] = [node_json(child) for child in n.children]
            continue
        value = n.arg(param.name)
        if value is None or isinstance(value, bool | str):
            out[param.name] = value
        elif isinstance(value, tuple):
            out[param.name] = [_expr_json(item) for item in value]
        elif param.type in (T.EXPR_T, T.EXPR_X):
            out[param.name] = ex.to_source(value)
        else:
            out[param.name] = _expr_json(value)
    return out


def schedule_json(s: ir.Schedule) -> dict[str, Any]:
    out: dict[str, Any] = {"lr": _expr_json(s.lr), "unit": s.unit}
    if s.description is not None:
        out["description"] = s.description
    if s.params:
        out["params"] = dict(s.params)
    out["schedule"] = node_json(s.node)
    return out


def spec_json(*schedules: ir.Schedule, indent: int | None = None) -> str:
    """A JSON spec holding ``schedules``: every field written out, expressions as text."""
    doc = {"lrgen": 1, "schedules": {s.name: schedule_json(s) for s in schedules}}
    return json.dumps(doc, indent=indent)


def without_positions(s: ir.Schedule) -> ir.Schedule:
    """``s`` without what depends on the file's text (source, json paths)."""

    def strip(n: ir.Node) -> ir.Node:
        return dataclasses.replace(n, path="", children=tuple(strip(c) for c in n.children))

    return dataclasses.replace(s, source="", path="", node=strip(s.node))


# --- generated modules ----------------------------------------------------------------------------

_MODULES: dict[str, Any] = {}
_MODULE_DIR: list[Path] = []


def generated_module(spec: ir.Spec, target: str) -> Any:
    """``generate.render(spec, target)`` written to a temporary directory and imported; cached
    by the hash of the source, so an example shrunk to a spec seen before costs nothing."""
    from lrgen import generate

    source = generate.render(spec, target)
    key = f"{hashlib.sha256(source.encode()).hexdigest()[:20]}_{target}"
    if key not in _MODULES:
        if not _MODULE_DIR:
            _MODULE_DIR.append(Path(tempfile.mkdtemp(prefix="lrgen-prop-")))
            atexit.register(shutil.rmtree, _MODULE_DIR[0], True)
        path = _MODULE_DIR[0] / f"prop_{key}.py"
        path.write_text(source, encoding="utf-8")
        _MODULES[key] = import_path(path, prefix="_lrgen_prop")
    return _MODULES[key]


# --- open findings --------------------------------------------------------------------------------

#: Bugs these tests found, reported and not yet fixed: name -> what is wrong. Each has an
#: xfail-pinned ``@example`` in tests/test_properties.py; Hypothesis fails such an example as
#: soon as it passes, which is the signal to delete its entry here. While an entry is open the
#: helpers below steer the random examples around it (and only around it), so that they keep
#: testing everything else.
OPEN_FINDINGS: dict[str, str] = {
    "reference-polynomial-cycle": (
        "lrgen.reference.polynomial_decay with cycle: true computes 1 - t / D' in float64, "
        "which cancels just past a multiple of decay_steps; with power < 1 the error shows: "
        "decay_steps=5, power=0.5, lr=0.1 at t=2**31-2 gives 4.31583728751555e-06 for "
        "4.3158372855058305e-06 (the generated code's integer remaining steps are exact)"
    ),
}

#: Float32 steps are exact below 2**24, but a periodic function of a counter-dependent argument
#: needs its phase to ~1e-7: in float32 that holds for arguments of a few units only.
PERIODIC_EXPRESSION_HORIZON = 2**14
_PERIODIC = frozenset({"sin", "cos"})


def _nodes(bound: ir.Bound) -> list[ir.Bound]:
    return [bound, *(n for child in bound.children for n in _nodes(child))]


class FindingReproduced(AssertionError):
    """A pinned example failed exactly as its open finding says (target precision and step)."""


@dataclass(frozen=True)
class Signature:
    """How an open finding shows: the precision of the comparison and the steps it fails at."""

    precision: str  # "float64" or "float32"
    steps: frozenset[int]


#: The failure each open finding's pinned example must show; any other failure of the example
#: (another step, another precision, an exception) fails the test instead of passing as xfail.
FINDING_SIGNATURES: dict[str, Signature] = {
    "reference-polynomial-cycle": Signature("float64", frozenset({2**31 - 2})),
}
#: One exception class per open finding, for ``xfail(raises=...)``.
FINDING_ERRORS: dict[str, type[FindingReproduced]] = {
    name: type(f"Finding_{name.replace('-', '_')}", (FindingReproduced,), {})
    for name in OPEN_FINDINGS
}
assert set(FINDING_SIGNATURES) == set(OPEN_FINDINGS), "each open finding needs its signature"


def finding_error(case: Case, precision: str, step: int) -> type[AssertionError]:
    """The exception for a failure of ``case`` at ``step``: its finding's own class if the case
    pins an open finding and the failure is that finding's, else AssertionError."""
    if case.finding in OPEN_FINDINGS:
        signature = FINDING_SIGNATURES[case.finding]
        if signature.precision == precision and step in signature.steps:
            return FINDING_ERRORS[case.finding]
    return AssertionError


def _open(case: Case, finding: str) -> bool:
    return finding in OPEN_FINDINGS and not case.strict


def periodic_in_counter(bound: ir.Bound) -> bool:
    """Whether a user expression applies sin/cos to something that grows with the counter, or
    takes it modulo something (``t % 10``: float32 has no units digit above 2**24)."""
    for b in _nodes(bound):
        for name in ("lr_lambda", "scale_fn"):
            tree = b.values.get(name)
            if tree is None:
                continue
            for sub in ex.walk(tree):
                if (
                    isinstance(sub, ex.Call)
                    and sub.func in _PERIODIC
                    and ex.names_in(sub.args[0]) & COUNTERS
                ) or (
                    isinstance(sub, ex.Binary)
                    and sub.op == "%"
                    and ex.names_in(sub.left) & COUNTERS
                ):
                    return True
    return False


def float64_steps(case: Case, steps: np.ndarray) -> np.ndarray:
    """The steps at which a float64 target is compared with the reference."""
    if _open(case, "reference-polynomial-cycle") and any(
        b.kind == "PolynomialDecay" and b["cycle"] and b["power"] < 1 for b in _nodes(case.bound)
    ):
        return steps[steps <= 10_000]
    return steps


def float32_steps(case: Case, steps: np.ndarray) -> np.ndarray:
    """The steps at which a float32 target is compared with the reference.

    A periodic user expression is compared where float32 can resolve its phase (a limitation of
    evaluating user expressions in the target's float type, docs/verification.md).
    """
    if periodic_in_counter(case.bound):
        steps = steps[steps <= PERIODIC_EXPRESSION_HORIZON]
    return steps


def exponential_in_counter(bound: ir.Bound) -> bool:
    """Whether a user expression has ``a ** b`` or ``exp(b)`` with ``b`` growing with the counter.

    In float32 the exponent's own rounding (up to 2**-23 relative) is multiplied by its size,
    up to |ln(1e-6)| ~ 14 where the rule is relative: ~1.7e-6 plus the rounding of the power.
    """
    for b in _nodes(bound):
        for name in ("lr_lambda", "scale_fn"):
            tree = b.values.get(name)
            for sub in ex.walk(tree) if tree is not None else ():
                exponent = (
                    sub.right
                    if isinstance(sub, ex.Binary) and sub.op == "**"
                    else sub.args[0]
                    if isinstance(sub, ex.Call) and sub.func == "exp"
                    else None
                )
                if exponent is not None and ex.names_in(exponent) & COUNTERS:
                    return True
    return False


COUNTERS = frozenset({"t", "step", "epoch", "x"})
#: The float32 rule's relative tolerance where an exponent grows with the counter (see above).
FLOAT32_EXPONENTIAL_REL = 3e-6


def float32_rule(case: Case) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """:func:`float32_close`, or that rule with FLOAT32_EXPONENTIAL_REL in place of 1e-6
    relative for a user expression exponential in the counter (a float32 limit of the user's
    expression, for float32 targets only)."""
    from tests.frameworks import float32_close

    if not exponential_in_counter(case.bound):
        return float32_close

    def relaxed(got: np.ndarray, ref: np.ndarray) -> np.ndarray:
        rel_ok = np.abs(got - ref) <= FLOAT32_EXPONENTIAL_REL * np.abs(ref)
        return float32_close(got, ref) | rel_ok

    return relaxed


# --- explicit cases: every kind x every mode ------------------------------------------------------

#: A small valid node of every closed-form kind, its boundaries within the first ~100 steps.
#: Numbers are exact in binary where they can be (float32 inputs then equal the float64 ones).
BASE_FIELDS: dict[str, Fields] = {
    "StepLR": {"step_size": 7, "gamma": 0.5},
    "MultiStepLR": {"milestones": [3, 10, 25], "gamma": 0.5},
    "ConstantLR": {"factor": 0.25, "total_iters": 9},
    "LinearLR": {"start_factor": 0.125, "end_factor": 0.75, "total_iters": 12},
    "ExponentialLR": {"gamma": 0.96875},
    "PolynomialLR": {"total_iters": 30, "power": 1.5},
    "CosineAnnealingLR": {"T_max": 25, "eta_min": 0.001},
    "CosineAnnealingWarmRestarts": {"T_0": 5, "T_mult": 2, "eta_min": 0.001},
    "CyclicLR": {
        "base_lr": 0.01,
        "max_lr": 0.1,
        "step_size_up": 5,
        "gamma": 0.96875,
        "base_momentum": 0.75,
        "max_momentum": 0.875,
    },
    "OneCycleLR": {
        "max_lr": 0.5,
        "total_steps": 40,
        "pct_start": 0.25,
        "div_factor": 8.0,
        "final_div_factor": 16.0,
        "base_momentum": 0.75,
        "max_momentum": 0.875,
    },
    "LambdaLR": {"lr_lambda": "0.5 ** (t / 10)"},
    "SequentialLR": {
        "schedulers": [
            ir.make_node("LinearWarmup", warmup_steps=6),
            ir.make_node("StepLR", step_size=4, gamma=0.5),
            ir.make_node("CosineAnnealingLR", T_max=20),
        ],
        "milestones": [6, 20],
    },
    "ChainedScheduler": {
        "schedulers": [
            ir.make_node("ConstantLR", factor=0.5, total_iters=4),
            ir.make_node("ExponentialLR", gamma=0.9375),
        ]
    },
    "ExponentialDecay": {"decay_steps": 6, "decay_rate": 0.5},
    "PiecewiseConstantDecay": {"boundaries": [5, 12], "values": [0.1, 0.05, 0.01]},
    "PolynomialDecay": {"decay_steps": 12, "end_learning_rate": 0.001, "power": 2.0},
    "InverseTimeDecay": {"decay_steps": 5, "decay_rate": 0.5},
    "CosineDecay": {"decay_steps": 30, "alpha": 0.125, "warmup_steps": 8},
    "CosineDecayRestarts": {"first_decay_steps": 6, "t_mul": 2.0, "m_mul": 0.75, "alpha": 0.125},
    "Constant": {},
    "LinearWarmup": {"warmup_steps": 10},
    "ExponentialWarmup": {"warmup_steps": 10, "start_lr": 0.001},
    "CosineWarmup": {"warmup_steps": 10},
    "WarmupWithDecay": {"warmup_steps": 10, "total_steps": 40, "min_lr": 0.01},
    "InverseSqrt": {"warmup_steps": 8, "timescale": 12.0},
    "WarmupStableDecay": {
        "warmup_steps": 8,
        "stable_steps": 6,
        "decay_steps": 12,
        "min_lr_ratio": 0.125,
    },
}
#: The value a nullable field takes in the "given" column of the mode matrix.
GIVEN_VALUES: dict[tuple[str, str], Any] = {
    ("CyclicLR", "step_size_down"): 3,
    ("CyclicLR", "scale_fn"): "0.5 ** (x / 8)",
    ("OneCycleLR", "total_steps"): 40,
    ("OneCycleLR", "epochs"): 5,
    ("OneCycleLR", "steps_per_epoch"): 9,
    ("CosineDecay", "warmup_target"): 0.25,
}
#: Variants that are not a choice or a flag but that take another code path.
VARIANT_FIELDS: dict[str, tuple[Fields, ...]] = {
    "CosineAnnealingWarmRestarts": ({"T_mult": 1}, {"T_mult": 3}),
    # integer and fractional growth; fractional period starts are not integers
    "CosineDecayRestarts": ({"t_mul": 1.0}, {"t_mul": 1.5}, {"t_mul": 1.25, "m_mul": 1.0}),
    "ConstantLR": ({"total_iters": 0},),
    "PolynomialDecay": ({"power": 0.5, "cycle": True},),
    "CosineDecay": ({"warmup_target": 0.02, "warmup_steps": 8},),  # a falling warmup
}

#: Values for the fields whose default is another field (``Ref``): each kind is drawn with the
#: field given and with it defaulted.
REF_GIVEN: dict[str, Any] = {"initial_learning_rate": 0.25, "timescale": 12.0}

#: How a mode is written in the matrix: a nullable field is "null" or "given".
NULL, GIVEN = "null", "given"


def example_fields(kind: str) -> Fields:
    """The fields of ``kind``'s registry example (what docs/kinds.md draws), children as nodes."""
    fields = dict(KIND_MAP[kind].example.fields)  # type: ignore[union-attr]
    for p in KIND_MAP[kind].params:
        if p.type is T.NODES and p.name in fields:
            fields[p.name] = [ir.make_node(k, **f) for k, f in fields[p.name]]
    return fields


def given_value(kind: str, p: Param) -> Any:
    """A value for field ``p`` of ``kind`` in the "given" column of the mode matrix (or for a
    ``Ref`` field given): the registry example's where it gives one, else one inside the bounds."""
    example = KIND_MAP[kind].example.fields  # type: ignore[union-attr]
    if example.get(p.name) is not None:
        return example[p.name]
    if p.type is T.INTEGER:
        low, high = integer_range(p, INTEGER_SPANS[0])
        return min(low + 3, high)
    if p.type is T.NUMBER:
        lo, hi = number_range(p)
        return 0.25 if lo <= 0.25 <= hi else lo
    given: dict[T, Any] = {
        T.EXPR_T: "0.5 ** (t / 8)",
        T.EXPR_X: "0.5 ** (x / 8)",
        T.INT_LIST: [3, 10],
        T.NUMBER_LIST: [0.5, 0.25],
        T.BOOLEAN: True,
        T.CHOICE: p.choices[0] if p.choices else None,
        T.STRING: "derived",
    }
    return given.get(p.type)


def _fill_from_registry() -> None:
    """A kind without a hand-picked base node takes its registry example, and a nullable or
    ``Ref`` field without a hand-picked value :func:`given_value`: a new kind needs no entry."""
    for kind in CLOSED_FORM_KINDS:
        BASE_FIELDS.setdefault(kind, example_fields(kind))
        for p in KIND_MAP[kind].params:
            if p.nullable and p.type is not T.CHOICE:
                GIVEN_VALUES.setdefault((kind, p.name), given_value(kind, p))
            if isinstance(p.default, Ref):
                REF_GIVEN.setdefault(p.name, given_value(kind, p))


_fill_from_registry()


def mode_axes(kind: str) -> list[tuple[str, tuple[Any, ...]]]:
    """The registry's options of ``kind``: every choice (and null, if nullable), every flag, every
    nullable field (null or given). The matrix is their product."""
    axes: list[tuple[str, tuple[Any, ...]]] = []
    for p in KIND_MAP[kind].params:
        if p.type is T.CHOICE:
            axes.append((p.name, (*p.choices, *((None,) if p.nullable else ()))))
        elif p.type is T.BOOLEAN:
            axes.append((p.name, (False, True)))
        elif p.nullable:
            axes.append((p.name, (NULL, GIVEN)))
    return axes


def mode_of(bound: ir.Bound) -> tuple[Any, ...]:
    """Where ``bound`` sits in its kind's matrix (the order of :func:`mode_axes`)."""
    out = []
    for name, values in mode_axes(bound.kind):
        value = bound[name]
        out.append((NULL if value is None else GIVEN) if NULL in values else value)
    return tuple(out)


#: A kind's matrix holds all its combinations up to this many; beyond, a subset that holds every
#: pair of values of two axes that any combination holds (TransformersSchedule: ten types, each
#: with fields of its own, which multiply to some 600 valid combinations).
MAX_FULL_MATRIX = 256


@functools.cache
def mode_matrix(kind: str) -> list[tuple[Any, ...]]:
    """Every combination of :func:`mode_axes`, less those that a static check of the registry
    (one that reads only the axes and fields written in the base node: ``AppliesTo``,
    ``NeedsOne``) refuses; the ones binding refuses are included (OneCycleLR's length forms).
    Beyond MAX_FULL_MATRIX, the valid ones that together hold every pair (:func:`_pairwise`)."""
    axes = mode_axes(kind)
    combos = _combinations(kind, axes)
    if len(combos) <= MAX_FULL_MATRIX:
        return combos
    return _pairwise([c for c in combos if _explicit("probe", kind, _mode_fields(kind, c))])


def _check_names(kind: Kind, check: Any) -> set[str]:
    """The fields of ``kind`` that a check reads (its dataclass fields that name one)."""
    names: set[str] = set()
    for f in dataclasses.fields(check):
        value = getattr(check, f.name)
        for item in value if isinstance(value, tuple) else (value,):
            if isinstance(item, str) and item in kind.param_map:
                names.add(item)
    return names


def _static_value(kind: Kind, fields: Fields) -> Callable[[str], Any]:
    """``value(name)`` for a check's ``violation``: the literal written (lists as tuples),
    None for null, and the registry's UNKNOWN for an expression, a Ref or a child node."""
    unknown = getattr(kinds_module, "UNKNOWN", None)

    def value(name: str) -> Any:
        p = kind.param_map[name]
        raw = fields.get(name, None if p.required else p.default)
        if isinstance(raw, list | tuple):
            return tuple(unknown if isinstance(i, str | ir.Node) else i for i in raw)
        if isinstance(raw, Ref) or (isinstance(raw, str) and p.type is not T.CHOICE):
            return unknown
        return raw

    return value


def _combinations(kind_name: str, axes: list[tuple[str, tuple[Any, ...]]]) -> list[tuple]:
    """The product of ``axes``, built one axis at a time: a partial combination is dropped as soon
    as a check (with a ``violation`` method) that reads only assigned axes and other fields
    refuses it, so a kind whose fields apply to one choice each does not enumerate the rest."""
    kind = KIND_MAP[kind_name]
    axis_names = [name for name, _ in axes]
    static = [
        (check, _check_names(kind, check))
        for check in kind.checks
        if callable(getattr(check, "violation", None))
    ]
    partial: list[tuple[Any, ...]] = [()]
    for i, (_, values) in enumerate(axes):
        assigned = set(axis_names[: i + 1])
        ready = [
            check
            for check, names in static
            if names & {axis_names[i]} and not names & (set(axis_names) - assigned)
        ]
        grown = []
        for combo in partial:
            for value in values:
                candidate = (*combo, value)
                if ready:
                    fields = _mode_fields(kind_name, candidate, axes[: i + 1])
                    read = _static_value(kind, fields)
                    if any(check.violation(read) for check in ready):
                        continue
                grown.append(candidate)
        partial = grown
    return partial


def _pairwise(combos: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """A subset of ``combos`` that holds every pair ((axis i, value), (axis j, value)) that one of
    them holds: greedily, the combination that holds the most pairs not yet held, first first."""

    def pairs(combo: tuple[Any, ...]) -> set[tuple[Any, ...]]:
        items = [(i, repr(v)) for i, v in enumerate(combo)]
        return {(a, b) for a, b in itertools.combinations(items, 2)} | {(a,) for a in items}

    held = [pairs(c) for c in combos]
    missing = set().union(*held) if held else set()
    chosen: list[tuple[Any, ...]] = []
    while missing:
        best = max(range(len(combos)), key=lambda k: len(held[k] & missing))
        chosen.append(combos[best])
        missing -= held[best]
    return chosen


def _mode_fields(
    kind: str,
    combo: Sequence[Any],
    axes: Sequence[tuple[str, tuple[Any, ...]]] | None = None,
) -> Fields:
    fields = dict(BASE_FIELDS[kind])
    axes = mode_axes(kind) if axes is None else axes
    for (name, values), value in zip(axes, combo, strict=True):
        if NULL in values:
            fields[name] = GIVEN_VALUES[(kind, name)] if value == GIVEN else None
        else:
            fields[name] = value
    if kind == "CyclicLR" and fields.get("scale_mode") == "cycle" and fields.get("scale_fn"):
        fields["scale_fn"] = "max(0.25, (6 - x) / 5)"  # of the cycle number, from 1
    return fields


def _with_params(schedule: ir.Schedule) -> tuple[ir.Schedule, dict[str, float]]:
    """``schedule`` with every numeric literal of its tree (lr included) a param of that default,
    and overrides that move each (integers +1, numbers by 7/8) where the schedule still binds."""
    pool = Pool()

    def lift(value: Any) -> Any:
        if isinstance(value, ex.Num) and not isinstance(value.value, bool):
            return ex.Name(pool.new(value.value))
        if isinstance(value, tuple):
            return tuple(lift(item) for item in value)
        return value

    def walk(n: ir.Node) -> ir.Node:
        args = tuple(
            (
                name,
                value
                if KIND_MAP[n.kind].param_map[name].type in (T.EXPR_T, T.EXPR_X)
                else lift(value),
            )
            for name, value in n.args
        )
        return dataclasses.replace(n, args=args, children=tuple(walk(c) for c in n.children))

    lr = lift(schedule.lr)
    node_ = walk(schedule.node)
    lifted = dataclasses.replace(schedule, lr=lr, node=node_, params=tuple(pool.defaults.items()))
    overrides: dict[str, float] = {}
    for name, default in pool.defaults.items():
        moved = int(default) + 1 if isinstance(default, int) else default * 0.875
        try:
            ir.bind(lifted, {**overrides, name: moved})
        except ir.BindError:
            continue
        overrides[name] = moved
    return lifted, overrides


def fields_giving(kind: str, name: str) -> Fields:
    """A valid node's fields of ``kind`` in which the nullable field ``name`` can be given:
    BASE_FIELDS, or where the registry's checks refuse ``name`` with them (TransformersSchedule:
    ``power`` applies only to ``polynomial``), the fields of the first combination of the mode
    matrix that gives it and binds."""
    axes = [axis for axis, _ in mode_axes(kind)]
    given = GIVEN_VALUES.get((kind, name))
    if (
        name not in axes
        or given is None
        or _explicit("probe", kind, {**BASE_FIELDS[kind], name: given})
    ):
        return dict(BASE_FIELDS[kind])
    for combo in mode_matrix(kind):
        if combo[axes.index(name)] == GIVEN:
            fields = _mode_fields(kind, combo)
            if _explicit("probe", kind, fields):
                return fields
    return dict(BASE_FIELDS[kind])


@dataclass(frozen=True)
class Explicit:
    """One explicit case: what it covers (for messages) and the case."""

    label: str
    case: Case


def _explicit(label: str, kind: str, fields: Fields, unit: str = "step") -> list[Explicit]:
    root = ir.make_node(kind, **fields)
    schedule = schedule_from(root, 0.1, unit=unit)
    try:
        ir.bind(schedule)
    except ir.BindError:
        return []  # a combination the registry's checks reject (OneCycleLR's length forms)
    return [Explicit(label, make_case(schedule))]


#: ``lr_lambda`` cases: every operator and function of the expression language, written so that
#: a wrong operator (``<`` for ``<=``, floor for ceil, min for max) changes a value at some step.
LAMBDA_CASES = (
    "(t + 4) / (t + 8)",
    "max(0.125, (40 - t) / 40)",
    "0.5 * (1 + 1 / (t + 1))",
    "0.5 ** (t // 7)",
    "1 - (t % 10) / 20",
    "0.5 ** (t / 9)",
    "1.0 if t < 10 else 0.5",
    "1.0 if t <= 10 else 0.5",
    "0.5 if t > 10 else 1.0",
    "0.5 if t >= 10 else 1.0",
    "0.5 if t == 10 else 1.0",
    "1.0 if t != 10 else 0.5",
    "min(1.0, (t + 1) / 10)",
    "abs(t - 20) / 20 + 0.125",
    "0.5 ** floor(t / 7)",
    "0.5 ** ceil(t / 7)",
    "exp(-t / 30)",
    "1 / (1 + log(t + 1))",
    "1 / sqrt(t + 1)",
    "0.625 + 0.375 * cos(pi * min(t, 50) / 50)",
    "0.625 + 0.375 * sin(pi / 2 * min(step, 50) / 50)",
    "tanh((epoch + 1) / 10)",
    "e ** (-t / 20) + +0.125",
)
#: Numeric fields computed from params with every operator and function: (kind, fields,
#: params). Each value sits where the wrong operator gives another valid value.
NUMERIC_EXPRESSION_CASES: tuple[tuple[str, Fields, dict[str, float]], ...] = (
    ("StepLR", {"step_size": "floor(p / 2)", "gamma": "p ** 2 / 400"}, {"p": 15}),
    ("StepLR", {"step_size": "ceil(p / 2)", "gamma": "sqrt(p) / 4"}, {"p": 9}),
    ("StepLR", {"step_size": "p // 2 + p % 4", "gamma": "exp(-p / 30)"}, {"p": 15}),
    ("StepLR", {"step_size": "min(p, 9) - 1", "gamma": "log(p) / 3"}, {"p": 6}),
    ("StepLR", {"step_size": "max(p, 9) * 1", "gamma": "cos(p / 10)"}, {"p": 6}),
    ("StepLR", {"step_size": "abs(p - 20)", "gamma": "(sin(p / 10) + tanh(p / 10)) / 2"}, {"p": 6}),
    ("StepLR", {"step_size": "5 if p <= 8 else 9", "gamma": "0.5 if p < 8 else 0.75"}, {"p": 8}),
    ("StepLR", {"step_size": "5 if p >= 8 else 9", "gamma": "0.5 if p > 8 else 0.75"}, {"p": 8}),
    ("StepLR", {"step_size": "5 if p == 8 else 9", "gamma": "0.5 if p != 8 else 0.75"}, {"p": 8}),
    ("LinearWarmup", {"warmup_steps": "-p + 20 + floor(e) - floor(pi)"}, {"p": 6}),
)


def _numeric_expression_case(kind: str, fields: Fields, params: dict[str, float]) -> Case:
    root = ir.make_node(kind, param_names=frozenset(params), **fields)
    return make_case(schedule_from(root, 0.1, params))


@functools.cache
def explicit_cases() -> tuple[Explicit, ...]:
    """Coverage by construction: every closed-form kind in every combination of its modes
    (:func:`mode_matrix`), literal and with every field a param (overridden); the variants of
    :data:`VARIANT_FIELDS`; each kind with ``unit: epoch``; every operator and function in
    lambdas, in ``scale_fn`` and in numeric fields."""
    missing = sorted(set(CLOSED_FORM_KINDS) - set(BASE_FIELDS))
    assert not missing, f"BASE_FIELDS has no node of {missing}: add a small valid one of each"
    nullable = {
        (k, p.name)
        for k in CLOSED_FORM_KINDS
        for p in KIND_MAP[k].params
        if p.nullable and p.type is not T.CHOICE
    }
    assert nullable <= set(GIVEN_VALUES), (
        f"GIVEN_VALUES lacks {sorted(nullable - set(GIVEN_VALUES))}"
    )
    out: list[Explicit] = []
    for kind in CLOSED_FORM_KINDS:
        for combo in mode_matrix(kind):
            names = [name for name, _ in mode_axes(kind)]
            label = f"{kind}[{', '.join(f'{n}={v}' for n, v in zip(names, combo, strict=True))}]"
            out += _explicit(label, kind, _mode_fields(kind, combo))
        for p in KIND_MAP[kind].params:
            if isinstance(p.default, Ref):  # given if the base leaves it out, else defaulted
                fields = {k: v for k, v in BASE_FIELDS[kind].items() if k != p.name}
                if p.name not in BASE_FIELDS[kind]:
                    fields[p.name] = REF_GIVEN[p.name]
                out += _explicit(f"{kind}:{p.name}", kind, fields)
        for i, variant in enumerate(VARIANT_FIELDS.get(kind, ())):
            out += _explicit(f"{kind}:variant{i}", kind, {**BASE_FIELDS[kind], **variant})
        out += _explicit(f"{kind}:epoch", kind, dict(BASE_FIELDS[kind]), unit="epoch")
    lifted = []
    for item in out:
        schedule, overrides = _with_params(item.case.schedule)
        lifted.append(Explicit(f"{item.label}:params", make_case(schedule, overrides)))
    out += lifted
    for i, text in enumerate(LAMBDA_CASES):
        out += _explicit(f"LambdaLR:expr{i}", "LambdaLR", {"lr_lambda": text})
    for i, text in enumerate(SCALE_FN_TEMPLATES["iterations"] + SCALE_FN_TEMPLATES["cycle"]):
        mode = "iterations" if i < len(SCALE_FN_TEMPLATES["iterations"]) else "cycle"
        fields = {**BASE_FIELDS["CyclicLR"], "scale_fn": text.format(p=12), "scale_mode": mode}
        out += _explicit(f"CyclicLR:scale_fn{i}", "CyclicLR", fields)
    for i, (kind, fields, params) in enumerate(NUMERIC_EXPRESSION_CASES):
        out.append(Explicit(f"{kind}:numeric{i}", _numeric_expression_case(kind, fields, params)))
    return tuple(out)


def with_paths(schedule: ir.Schedule) -> ir.Schedule:
    """``schedule`` with the JSON paths the loader gives its nodes (``schedules.NAME.schedule``,
    ``...schedulers[i]``), which the generated checks name."""

    def place(n: ir.Node, path: str) -> ir.Node:
        children = tuple(place(c, f"{path}.schedulers[{i}]") for i, c in enumerate(n.children))
        return dataclasses.replace(n, path=path, children=children)

    path = f"schedules.{schedule.name}"
    return dataclasses.replace(schedule, path=path, node=place(schedule.node, f"{path}.schedule"))


def coverage_spec(items: Iterable[Explicit]) -> tuple[ir.Spec, tuple[Case, ...]]:
    """One spec holding every explicit case's schedule, renamed ``c<i>`` (same params)."""
    cases = tuple(
        dataclasses.replace(
            item.case,
            schedule=dataclasses.replace(item.case.schedule, name=f"c{i}", path=f"schedules.c{i}"),
        )
        for i, item in enumerate(items)
    )
    spec = ir.Spec("coverage.json", "0" * 64, 1, tuple(c.schedule for c in cases))
    return spec, cases
