"""The one registry of schedule kinds: parameters, defaults, constraints, shape, documentation.

Everything else derives from this table: the JSON Schema (:mod:`lrgen.schema`), the loader's
checks, the binding of parameters at construction (:mod:`lrgen.ir`), the lint and the default
horizon of the tools (:mod:`lrgen.lint`: each kind's ``length``, ``warmup``, ``horizon``), the
docs' kinds reference (each kind's ``formula`` and ``example``). Adding a kind takes its entry
here, a reference definition (``@defines`` in :mod:`lrgen.reference`), a lowering (``@lowers`` in
:mod:`lrgen.lower`) and a test strategy (``@leaf`` in ``tests/strategies.py``);
``tests/test_registry.py`` fails when one is missing.
"""

from __future__ import annotations

import enum
import keyword
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar


class T(enum.StrEnum):
    """Parameter types. Numbers and integers may also be expressions over params."""

    NUMBER = "number"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    CHOICE = "choice"
    STRING = "string"
    INT_LIST = "int_list"
    NUMBER_LIST = "number_list"
    EXPR_T = "expr_t"  # expression of the counter t (aliases step, epoch) and params
    EXPR_X = "expr_x"  # expression of x (CyclicLR.scale_fn) and params
    NODES = "nodes"  # a list of child schedule nodes


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True, slots=True)
class Ref:
    """A default that is the value of another field of the same node, or the schedule's ``lr``."""

    field: str


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    type: T
    doc: str
    default: Any = REQUIRED
    minimum: float | None = None
    exclusive_minimum: float | None = None
    maximum: float | None = None
    exclusive_maximum: float | None = None
    choices: tuple[str, ...] = ()
    nullable: bool = False  # None (YAML null) is a valid value
    min_items: int = 0

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    def bounds_text(self) -> str:
        """Human-readable constraint, e.g. ``> 0`` or ``in [0, 1]``."""
        parts = []
        if self.minimum is not None:
            parts.append(f">= {_num(self.minimum)}")
        if self.exclusive_minimum is not None:
            parts.append(f"> {_num(self.exclusive_minimum)}")
        if self.maximum is not None:
            parts.append(f"<= {_num(self.maximum)}")
        if self.exclusive_maximum is not None:
            parts.append(f"< {_num(self.exclusive_maximum)}")
        return " and ".join(parts)

    def violation(self, value: float) -> str | None:
        """The message for a number that breaks this parameter's bounds, or None."""
        if self.minimum is not None and value < self.minimum:
            return f"{_num(value)} is less than the minimum of {_num(self.minimum)}"
        if self.exclusive_minimum is not None and value <= self.exclusive_minimum:
            return f"{_num(value)} is not greater than {_num(self.exclusive_minimum)}"
        if self.maximum is not None and value > self.maximum:
            return f"{_num(value)} is greater than the maximum of {_num(self.maximum)}"
        if self.exclusive_maximum is not None and value >= self.exclusive_maximum:
            return f"{_num(value)} is not less than {_num(self.exclusive_maximum)}"
        return None


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(value)


# --- cross-field checks (the schema cannot express them) ---------------------------------------
# Each check states its rule and its message once, in ``violation``: the loader asks it about the
# literal values of a file (positioning the answer at the field), :func:`lrgen.ir.bind` about the
# bound values (raising a BindError with the same message), and the generated constructors check
# its ``rules`` (the comparisons params can break) with the same message, formatted at run time.


class _Unknown:
    def __repr__(self) -> str:
        return "UNKNOWN"


#: A field's value that is not known yet: an expression over params, seen by the loader (binding
#: checks it). A check skips what it cannot tell.
UNKNOWN: Any = _Unknown()

#: ``value(name)``: a field's concrete value (defaults filled in): a number, a tuple for a list
#: field (an item may be :data:`UNKNOWN`), the children of a NODES field, a string for a choice,
#: None for a null field, or :data:`UNKNOWN`.
Values = Callable[[str], Any]

_COMPARE: Mapping[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    ">": operator.gt,
    "!=": operator.ne,
}


@dataclass(frozen=True, slots=True)
class Violation:
    """A broken check, as a value: where (the path under the node: ``("milestones", 2)``; ``()``
    for the node itself) and what (the message, without the path)."""

    field: tuple[str | int, ...]
    message: str

    def path(self, node_path: str) -> str:
        """The JSON path of the field under the node at ``node_path``."""
        return field_path(node_path, self.field)


def field_path(node_path: str, field: tuple[str | int, ...]) -> str:
    """``field_path("schedules.a.schedule", ("milestones", 2))``: ``...schedule.milestones[2]``."""
    return node_path + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in field)


@dataclass(frozen=True, slots=True)
class Rule:
    """A comparison params can break: ``left op right`` must hold, else ``message`` at
    ``field``, where ``{left}`` and ``{right}`` stand for the values' ``repr``. The values are
    numbers (the loader, binding) or the generated code's trees (:mod:`lrgen.lower`), which print
    the message as an f-string of the same template."""

    field: tuple[str | int, ...]
    left: Any
    op: str  # a key of _COMPARE
    right: Any
    message: str

    def violation(self) -> Violation | None:
        """The violation, or None when the rule holds or a value is :data:`UNKNOWN` (or null:
        a rule on a nullable field holds while it is not given)."""
        if not _known(self.left) or not _known(self.right):
            return None
        if _COMPARE[self.op](self.left, self.right):
            return None
        text = self.message.format(left=repr(self.left), right=repr(self.right))
        return Violation(self.field, text)


class _Check:
    """What every check has: ``rules`` (none: a check that is no comparison states its
    ``violation`` directly) and ``violation`` (the first broken rule)."""

    __slots__ = ()
    #: Params cannot break it (which fields are null, a choice, a list's length): the loader
    #: reports it, and the generated code has nothing to check.
    static: ClassVar[bool] = False

    def rules(self, value: Values) -> tuple[Rule, ...]:
        return ()

    def violation(self, value: Values) -> Violation | None:
        return next(filter(None, (rule.violation() for rule in self.rules(value))), None)


def _known(value: Any) -> bool:
    return value is not None and value is not UNKNOWN


@dataclass(frozen=True, slots=True)
class Increasing(_Check):
    """The list ``field`` is strictly increasing."""

    field: str

    def rules(self, value: Values) -> tuple[Rule, ...]:
        items = value(self.field)
        if not _known(items):
            return ()
        message = (
            "{left} is not greater than the previous value {right}; "
            "the list must be strictly increasing"
        )
        return tuple(
            Rule((self.field, i), items[i], ">", items[i - 1], message)
            for i in range(1, len(items))
        )


@dataclass(frozen=True, slots=True)
class Less(_Check):
    """``low < high`` (both numeric fields)."""

    low: str
    high: str

    def rules(self, value: Values) -> tuple[Rule, ...]:
        low, high = value(self.low), value(self.high)
        message = f"{{left}} must be less than {self.high} ({{right}})"
        return (Rule((self.low,), low, "<", high, message),)


@dataclass(frozen=True, slots=True)
class LenMatch(_Check):
    """``len(field) == len(other) + offset`` (list or NODES fields). Static: a list's length is
    written in the spec, whatever params its items read."""

    static = True

    field: str
    other: str
    offset: int

    def violation(self, value: Values) -> Violation | None:
        items, others = value(self.field), value(self.other)
        if not _known(items) or not _known(others):
            return None
        have, other = len(items), len(others)
        if have == other + self.offset:
            return None
        relation = {-1: "one fewer than", 0: "as many as", 1: "one more than"}.get(
            self.offset, f"{self.offset:+d} compared with"
        )
        return Violation(
            (self.field,),
            f"{have} {self.field} for {other} {self.other}: expected {other + self.offset} "
            f"({relation} {self.other})",
        )


@dataclass(frozen=True, slots=True)
class TotalSteps(_Check):
    """OneCycleLR: ``total_steps`` or both ``epochs`` and ``steps_per_epoch``, not both forms.
    Static: which fields are null is written in the spec."""

    static = True

    def violation(self, value: Values) -> Violation | None:
        forms = ("total_steps", "epochs", "steps_per_epoch")
        given = {name for name in forms if value(name) is not None}
        if given in ({"total_steps"}, {"epochs", "steps_per_epoch"}):
            return None
        if "total_steps" in given:
            message = "give either total_steps or both epochs and steps_per_epoch, not both"
        elif given:
            missing = ({"epochs", "steps_per_epoch"} - given).pop()
            message = f"{missing} is missing: give both epochs and steps_per_epoch, or total_steps"
        else:
            message = "missing total_steps (or both epochs and steps_per_epoch)"
        return Violation((), message)


@dataclass(frozen=True, slots=True)
class ZeroNeeds(_Check):
    """``field`` (bounded ``>= 0``) may be 0 only when ``needs`` is given (not null)."""

    field: str
    needs: str

    def rules(self, value: Values) -> tuple[Rule, ...]:
        if value(self.needs) is not None:
            return ()
        message = (
            f"0 is allowed only with a {self.needs} (the warmup starts from it); "
            "else it must be > 0"
        )
        return (Rule((self.field,), value(self.field), "!=", 0, message),)


def _one_of(values: tuple[str, ...]) -> str:
    return values[0] if len(values) == 1 else "one of " + ", ".join(values)


#: Restart periods the generated code tabulates at most (periods starting up to 2**31 - 1):
#: ``CosineDecayRestarts`` with ``t_mul`` closer to 1 would need more (a table of millions).
MAX_RESTART_PERIODS = 2**14


def restart_periods(first: int, t_mul: float) -> int:
    """How many ``CosineDecayRestarts`` periods start at or before step ``2**31 - 1``."""
    if t_mul == 1:
        return 0  # fixed periods: a modulo, no table
    ratio = (2**31 - 1) / first
    growth = ratio * (t_mul - 1)
    # log1p(growth), in logarithms where the product overflows (t_mul near the float maximum)
    log_growth = (
        math.log1p(growth) if math.isfinite(growth) else math.log(ratio) + math.log(t_mul - 1)
    )
    return math.floor(log_growth / math.log(t_mul)) + 1


@dataclass(frozen=True, slots=True)
class RestartPeriods(_Check):
    """Periods of length ``first`` growing by ``t_mul``: at most :data:`MAX_RESTART_PERIODS`
    start before step 2**31 - 1. Params can break it, but it is no comparison the constructors
    check: the generated helper that tabulates the periods stops at the limit."""

    first: str
    t_mul: str

    def violation(self, value: Values) -> Violation | None:
        first, t_mul = value(self.first), value(self.t_mul)
        if first is UNKNOWN or t_mul is UNKNOWN:
            return None
        count = restart_periods(first, t_mul)
        if count <= MAX_RESTART_PERIODS:
            return None
        return Violation(
            (self.t_mul,),
            f"{t_mul!r} is too close to 1: about {count} restart periods start before step "
            f"2**31 - 1, more than the {MAX_RESTART_PERIODS} the generated code tabulates; use "
            f"{self.t_mul}: 1 (fixed periods), a larger {self.t_mul} or a longer {self.first}",
        )


@dataclass(frozen=True, slots=True)
class AppliesTo(_Check):
    """``field`` may be given (not null) only when the choice ``selector`` is one of ``values``.
    Static: which fields are written, and a choice, are in the spec."""

    static = True

    field: str
    selector: str
    values: tuple[str, ...]

    def violation(self, value: Values) -> Violation | None:
        chosen = value(self.selector)
        if value(self.field) is None or chosen in self.values:
            return None
        return Violation(
            (self.field,),
            f"{self.field} applies only when {self.selector} is {_one_of(self.values)}; "
            f"{self.selector} is {chosen}",
        )


@dataclass(frozen=True, slots=True)
class NeedsOne(_Check):
    """When the choice ``selector`` is one of ``values``, exactly one of ``fields`` is given (not
    null). Static, as :class:`AppliesTo`."""

    static = True

    fields: tuple[str, ...]
    selector: str
    values: tuple[str, ...]

    def violation(self, value: Values) -> Violation | None:
        chosen = value(self.selector)
        if chosen not in self.values:
            return None
        given = [name for name in self.fields if value(name) is not None]
        if not given:
            return Violation((), f"{self.selector} {chosen} needs {' or '.join(self.fields)}")
        if len(given) > 1:
            return Violation((given[1],), f"give only one of {' and '.join(given)}")
        return None


Check = (
    Increasing | Less | LenMatch | TotalSteps | ZeroNeeds | RestartPeriods | AppliesTo | NeedsOne
)


# --- shape: what the lint, the plots and the tables know of a kind -----------------------------
# The functions below take an ``lrgen.ir.Bound`` (a node with concrete field values; ``ir``
# imports this module, hence ``Any``).

#: ``length(bound, length_of)``: ticks after which the node's shape has been fully shown (its last
#: change, or a few periods of a periodic or open-ended schedule), None when it has no length;
#: ``length_of`` is the same question for a child node.
LengthFn = Callable[[Any, Callable[[Any], "int | None"]], "int | None"]
#: ``warmup(bound)``: the node's own warmup, (ticks, the field that sets it), or None.
WarmupFn = Callable[[Any], "tuple[float, str] | None"]


@dataclass(frozen=True, slots=True)
class DecayEnd:
    """Where a decay ends (the ``short-horizon`` warning): past ``end`` the rate stops decaying."""

    field: str  # the field the warning points at
    shown: str  # how the end is written in the message: the field, or a sum of fields
    end: int  # the last local tick of the decay
    value: int  # the value of ``shown``


#: ``horizon(bound)``: where the node's decay ends, or None when it has no end to reach.
HorizonFn = Callable[[Any], "DecayEnd | None"]


def _no_warmup(bound: Any) -> tuple[float, str] | None:
    return None


@dataclass(frozen=True, slots=True)
class Example:
    """The example of the kinds reference (docs/kinds.md): fields (a child of a SequentialLR or
    ChainedScheduler is a ``(kind, fields)`` pair), the base lr, and how many steps to draw."""

    fields: Mapping[str, Any]
    lr: float
    steps: int


#: Constructor arguments of torch's and Keras's classes that are not fields of a spec, and why.
NOT_SPEC_FIELDS: Mapping[str, str] = {
    "last_epoch": "not a spec field: the generated torch scheduler takes last_epoch as an "
    "argument (and resumes with load_state_dict)",
    "verbose": "not a spec field: torch's verbose flag is deprecated, and lrgen's schedulers "
    "print nothing",
    "optimizer": "not a spec field: the optimizer is the generated scheduler's first argument",
    "name": "not a spec field: a schedule's name is its key under schedules (the generated "
    "Keras class also takes name=)",
}
#: Warmup fields users bring to a kind that has none.
WARMUP_NAMES = ("warmup_steps", "warmup", "num_warmup_steps", "warmup_ratio", "warmup_epochs")
NO_WARMUP = (
    "{this} has no warmup: put a LinearLR (or LinearWarmup) before it in a SequentialLR, or use "
    "WarmupWithDecay, CosineDecay (warmup_target, warmup_steps) or TransformersSchedule"
)


@dataclass(frozen=True, slots=True)
class Kind:
    name: str
    family: str  # "torch" | "keras" | "neutral"
    summary: str
    formula: str  # the meaning, in math-ish text, for docstrings and docs
    params: tuple[Param, ...]
    checks: tuple[Check, ...] = ()
    metric_driven: bool = False
    origin: str = ""  # the framework class mirrored, if any
    notes: str = ""  # where lrgen deliberately differs from the original
    #: the default horizon of ``plot``/``table`` and the lint's training length (required: a
    #: kind without one is an error at import, not a silent 1000-step plot)
    length: LengthFn | None = None
    warmup: WarmupFn = _no_warmup
    horizon: HorizonFn | None = None  # a decay that has an end
    after_horizon: str = ""  # what the rate does past that end
    cycles_momentum: bool = False  # has ``cycle_momentum`` (and the momentum fields)
    #: How a kind with child nodes runs them: "sequential" (one after another, each on its own
    #: clock from its ``milestones``) or "chained" (all at once, rates multiplied); "" for a leaf.
    children: str = ""
    #: ``decay_start(bound)``: where a decay starts after a plateau, (ticks, the field that sets
    #: it), or None (the ``decay start`` mark of the plots).
    decay_start: WarmupFn = _no_warmup
    #: A list field of the node's own ticks at which the rate changes: under a sequential parent
    #: the ``global-milestones`` lint checks that each falls inside the node's segment.
    local_milestones: str = ""
    #: For a kind meant to step once per batch, what to write instead of ``unit: epoch`` (the
    #: ``one-cycle-epoch`` lint); "" for the others.
    per_batch: str = ""
    example: Example | None = None  # required: the docs draw every kind
    #: A kind whose formula depends on a choice (``TransformersSchedule``'s
    #: ``lr_scheduler_type``): that field, and the formula of each of its values (the docstring of a
    #: generated schedule shows the one it uses; the kinds reference lists them all).
    selector: str = ""
    formulas: Mapping[str, str] = field(default_factory=dict)
    #: Fields users bring from another framework (torch, Keras, transformers) -> what to write
    #: instead; the loader says it where the field is unknown.
    foreign: Mapping[str, str] = field(default_factory=dict)
    #: Values of a choice that lrgen refuses for this kind: field -> value -> what to use instead.
    foreign_values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.length is None:
            raise TypeError(f"kind {self.name!r} has no length (see lrgen.kinds.LengthFn)")
        if self.example is None:
            raise TypeError(f"kind {self.name!r} has no example (see lrgen.kinds.Example)")
        if (self.horizon is None) != (not self.after_horizon):
            raise TypeError(f"kind {self.name!r}: horizon and after_horizon go together")
        if self.selector and set(self.formulas) != set(self.param_map[self.selector].choices):
            raise TypeError(f"kind {self.name!r}: one formula for each {self.selector}")

    @property
    def param_map(self) -> Mapping[str, Param]:
        return {p.name: p for p in self.params}

    def pointer(self, key: str) -> str | None:
        """What to write instead of ``key``, a field this kind does not have that users bring
        from torch, Keras or transformers (``foreign``, then what every kind says), or None."""
        text = self.foreign.get(key) or NOT_SPEC_FIELDS.get(key)
        if text is None and key in WARMUP_NAMES and not any("warmup" in p for p in self.param_map):
            text = NO_WARMUP
        label = {"torch": "torch's", "keras": "Keras's"}.get(self.family, "lrgen's")
        return text.format(this=f"{label} {self.name}") if text else None


def _field(name: str, times: int = 1) -> LengthFn:
    """A length that is ``times`` the value of one field (None when it is 0)."""
    return lambda b, _: times * b[name] or None


def _sum(*names: str) -> LengthFn:
    return lambda b, _: sum(b[name] for name in names) or None


def _hundredfold(rate: float, period: int) -> int | None:
    """Ticks until ``rate ** (t / period)`` has fallen a hundredfold (None if it never falls)."""
    if not 0 < rate < 1:
        return None
    return math.ceil(period * math.log(0.01) / math.log(rate))


def _three_periods(first: float, mult: float) -> int:
    return math.ceil(first * (1 + mult + mult**2))


def _one_cycle_total(b: Any) -> int:
    from lrgen.ir import one_cycle_total_steps

    return one_cycle_total_steps(b)


def _sequential_length(b: Any, length_of: Callable[[Any], int | None]) -> int:
    last = length_of(b.children[-1])
    milestone = b["milestones"][-1] if b["milestones"] else 0
    return milestone + (last if last is not None else max(milestone, 1))


def _chained_length(b: Any, length_of: Callable[[Any], int | None]) -> int | None:
    return max((n for n in map(length_of, b.children) if n is not None), default=None)


#: Params that count ticks (what a LambdaLR's length can be read from).
TICK_PARAM = re.compile(r"(?:steps|iters|iterations|epochs)$|^warmup")


def _lambda_length(b: Any, _: Any) -> int | None:
    """A LambdaLR's expression knows lengths only through params."""
    lengths = [
        int(value) for name, value in b.env.items() if TICK_PARAM.search(name) and value >= 1
    ]
    return max(lengths, default=None)


def _warmup_steps(b: Any) -> tuple[float, str] | None:
    return (b["warmup_steps"], "warmup_steps") if b["warmup_steps"] > 0 else None


def _ends(field: str, *fields: str) -> HorizonFn:
    """The decay ends at ``field`` (or at the sum of ``fields``)."""
    names = fields or (field,)

    def horizon(b: Any) -> DecayEnd:
        end = sum(b[name] for name in names)
        return DecayEnd(field, " + ".join(names), end, end)

    return horizon


def _one_cycle_end(b: Any) -> DecayEnd:
    """OneCycleLR holds its final value from total_steps - 1 on."""
    total = _one_cycle_total(b)
    if b["total_steps"] is None:
        return DecayEnd("epochs", "epochs * steps_per_epoch", total - 1, total)
    return DecayEnd("total_steps", "total_steps", total - 1, total)


def _polynomial_decay_end(b: Any) -> DecayEnd | None:
    return None if b["cycle"] else _ends("decay_steps")(b)


def _p(name: str, type: T, doc: str, default: Any = REQUIRED, **kw: Any) -> Param:
    return Param(name, type, doc, default, **kw)


_STEPS = "number of counter ticks (steps or epochs, per the schedule's `unit`)"


def _torch(name: str) -> str:
    return f"torch.optim.lr_scheduler.{name}"


def _keras(name: str) -> str:
    return f"keras.optimizers.schedules.{name}"


_INITIAL_LR = _p(
    "initial_learning_rate",
    T.NUMBER,
    "Learning rate at step 0 (defaults to the schedule's `lr`).",
    Ref("lr"),
    exclusive_minimum=0,
)

_MOMENTUM = (
    _p(
        "cycle_momentum",
        T.BOOLEAN,
        "Cycle the optimizer's momentum (or Adam's beta1) inversely to the learning rate.",
        True,
    ),
)

#: ``transformers.SchedulerType`` values with a closed form (``get_scheduler`` gives a LambdaLR).
HF_TYPES = (
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "constant",
    "constant_with_warmup",
    "inverse_sqrt",
    "cosine_with_min_lr",
    "cosine_warmup_with_min_lr",
    "warmup_stable_decay",
)
HF_MIN_LR_TYPES = ("cosine_with_min_lr", "cosine_warmup_with_min_lr")
WSD_SHAPES = ("linear", "cosine", "1-sqrt")
_HF_COSINES = ("cosine", "cosine_with_restarts", *HF_MIN_LR_TYPES, "warmup_stable_decay")
#: TransformersSchedule's optional fields -> the types that take them (transformers'
#: ``lr_scheduler_kwargs`` of each type, and the warmup that every type but ``constant`` has).
HF_KWARGS: Mapping[str, tuple[str, ...]] = {
    "warmup_steps": HF_TYPES[:4] + HF_TYPES[5:],
    "warmup_ratio": HF_TYPES[:4] + HF_TYPES[5:],
    "num_cycles": _HF_COSINES,
    "power": ("polynomial",),
    "lr_end": ("polynomial",),
    "timescale": ("inverse_sqrt",),
    "min_lr": HF_MIN_LR_TYPES,
    "min_lr_rate": HF_MIN_LR_TYPES,
    "warmup_lr_rate": ("cosine_warmup_with_min_lr",),
    "num_stable_steps": ("warmup_stable_decay",),
    "num_decay_steps": ("warmup_stable_decay",),
    "warmup_type": ("warmup_stable_decay",),
    "decay_type": ("warmup_stable_decay",),
    "min_lr_ratio": ("warmup_stable_decay",),
}
_HF_WARM = "lr * t / max(1, W) for t < W; then "
_HF_COSINE = "(1 + cos(2 pi num_cycles p)) / 2"
_HF_FORMULAS = {
    "linear": _HF_WARM + "lr * max(0, (N - t) / max(1, N - W))",
    "cosine": _HF_WARM + f"lr * {_HF_COSINE}, p = (t - W) / max(1, N - W)",
    "cosine_with_restarts": _HF_WARM + "lr * (1 + cos(pi * ((num_cycles * p) % 1))) / 2 "
    "for p = (t - W) / max(1, N - W) < 1, then 0",
    "polynomial": _HF_WARM + "lr_end + (lr - lr_end) * ((N - t) / max(1, N - W)) ** power "
    "for t <= N, then lr_end",
    "constant": "lr (no warmup)",
    "constant_with_warmup": _HF_WARM + "lr",
    "inverse_sqrt": _HF_WARM + "lr / sqrt((t - W + timescale) / timescale)",
    "cosine_with_min_lr": _HF_WARM + f"lr * (r + (1 - r) * {_HF_COSINE}), "
    "p = (t - W) / max(1, N - W), r = min_lr_rate or min_lr / lr",
    "cosine_warmup_with_min_lr": "lr * (t + 1) / max(1, W) (with warmup_lr_rate a: lr * (a + "
    "(1 - a) * t / max(1, W - 1))) for t < W; then "
    f"lr * (r + (1 - r) * {_HF_COSINE}), p = (t - W + 1) / max(1, N - W), "
    "r = min_lr_rate or min_lr / lr",
    "warmup_stable_decay": "lr * (r + (1 - r) * warm(t / max(1, W))) for t < W; lr until "
    "W + S; lr * (r + (1 - r) * decay((t - W - S) / max(1, D))) until W + S + D; then lr * r; "
    "r = min_lr_ratio, S = num_stable_steps or N - W - D, D = num_decay_steps; warm(p) by "
    "warmup_type: linear p, cosine (1 - cos(pi p)) / 2, 1-sqrt 1 - sqrt(1 - p); decay(p) by "
    f"decay_type: linear 1 - p, cosine {_HF_COSINE}, 1-sqrt 1 - sqrt(p)",
}
HF_FORMULAS: Mapping[str, str] = {
    name: text if name == "constant" else f"{text} (W: the warmup steps, N: num_training_steps)"
    for name, text in _HF_FORMULAS.items()
}


def hf_warmup_steps(b: Any) -> int:
    """TransformersSchedule's W, as ``TrainingArguments.get_warmup_steps`` computes it."""
    steps, ratio = b["warmup_steps"] or 0, b["warmup_ratio"] or 0
    if steps >= 1:
        return int(steps)
    return math.ceil(b["num_training_steps"] * (steps if steps > 0 else ratio))


def _hf_warmup(b: Any) -> tuple[float, str] | None:
    if b["lr_scheduler_type"] == "constant" or not hf_warmup_steps(b):
        return None
    return hf_warmup_steps(b), "warmup_steps" if b["warmup_steps"] else "warmup_ratio"


def _hf_wsd_end(b: Any) -> int:
    decay = b["num_decay_steps"] or 0
    stable = b["num_stable_steps"]
    warmup = hf_warmup_steps(b)
    return (
        warmup
        + (stable if stable is not None else b["num_training_steps"] - warmup - decay)
        + decay
    )


def _hf_length(b: Any) -> int:
    if b["lr_scheduler_type"] == "warmup_stable_decay":
        return max(_hf_wsd_end(b), 1)
    return int(b["num_training_steps"])


def _hf_decay_end(b: Any) -> DecayEnd | None:
    kind = b["lr_scheduler_type"]
    if kind in ("constant", "constant_with_warmup", "inverse_sqrt"):
        return None
    if kind == "warmup_stable_decay":
        end = _hf_wsd_end(b)
        return DecayEnd("num_decay_steps", "W + S + num_decay_steps", end, end)
    total = int(b["num_training_steps"])
    return DecayEnd("num_training_steps", "num_training_steps", total, total)


KINDS: tuple[Kind, ...] = (
    # --- torch-mirrored -------------------------------------------------------------------------
    Kind(
        "StepLR",
        "torch",
        "Decay by `gamma` every `step_size` ticks.",
        "lr * gamma ** (t // step_size)",
        (
            _p("step_size", T.INTEGER, f"Period of decay, in {_STEPS}.", minimum=1),
            _p("gamma", T.NUMBER, "Multiplicative factor of decay.", 0.1, exclusive_minimum=0),
        ),
        origin=_torch("StepLR"),
        length=_field("step_size", 4),
        foreign={
            "decay_steps": (
                "{this} calls it step_size (Keras's ExponentialDecay with staircase: true is the "
                "same schedule)"
            ),
            "decay_rate": "{this} calls it gamma (the factor per step_size ticks)",
            "staircase": (
                "{this} always decays in steps; for a smooth decay use ExponentialLR or "
                "ExponentialDecay"
            ),
        },
        example=Example({"step_size": 30}, 0.1, 100),
    ),
    Kind(
        "MultiStepLR",
        "torch",
        "Decay by `gamma` at each milestone.",
        "lr * gamma ** (number of milestones <= t)",
        (
            _p(
                "milestones",
                T.INT_LIST,
                "Ticks at which the rate is multiplied by `gamma`; strictly increasing.",
                minimum=1,
                min_items=1,
            ),
            _p("gamma", T.NUMBER, "Multiplicative factor of decay.", 0.1, exclusive_minimum=0),
        ),
        checks=(Increasing("milestones"),),
        origin=_torch("MultiStepLR"),
        local_milestones="milestones",
        length=lambda b, _: b["milestones"][-1],
        foreign={
            "boundaries": (
                "{this} calls them milestones; note Keras's boundary rule differs: "
                "PiecewiseConstantDecay changes one step later (from boundary + 1)"
            ),
            "values": (
                "{this} multiplies by gamma at each milestone; for absolute values per interval "
                "use PiecewiseConstantDecay"
            ),
            "decay_rate": "{this} calls it gamma",
        },
        example=Example({"milestones": [30, 60, 80]}, 0.1, 100),
    ),
    Kind(
        "ConstantLR",
        "torch",
        "Scale by `factor` until `total_iters`, then the full rate.",
        "lr * (factor if t < total_iters else 1)",
        (
            _p(
                "factor",
                T.NUMBER,
                "Scale applied before `total_iters`.",
                1 / 3,
                minimum=0,
                maximum=1,
            ),
            _p("total_iters", T.INTEGER, f"Length of the scaled phase, in {_STEPS}.", 5, minimum=0),
        ),
        origin=_torch("ConstantLR"),
        length=_field("total_iters"),
        warmup=lambda b: (
            (b["total_iters"], "total_iters") if b["factor"] < 1 and b["total_iters"] > 0 else None
        ),
        notes="`total_iters: 0` means no scaled phase (torch's closed form); torch's stepped "
        "form keeps the factor forever in that case.",
        foreign={
            "value": (
                "{this} scales lr by factor until total_iters; a rate that never changes is the "
                "kind Constant"
            ),
        },
        example=Example({"factor": 0.5, "total_iters": 20}, 0.1, 60),
    ),
    Kind(
        "LinearLR",
        "torch",
        "Scale linearly from `start_factor` to `end_factor` over `total_iters`, then hold.",
        "lr * (start_factor + (end_factor - start_factor) * min(t, total_iters) / total_iters)",
        (
            _p("start_factor", T.NUMBER, "Scale at t = 0.", 1 / 3, exclusive_minimum=0, maximum=1),
            _p("end_factor", T.NUMBER, "Scale from t = total_iters on.", 1.0, minimum=0, maximum=1),
            _p("total_iters", T.INTEGER, f"Length of the ramp, in {_STEPS}.", 5, minimum=1),
        ),
        origin=_torch("LinearLR"),
        length=_field("total_iters"),
        warmup=lambda b: (
            (b["total_iters"], "total_iters") if b["start_factor"] < b["end_factor"] else None
        ),
        foreign={
            "warmup_steps": (
                "{this} calls the ramp's length total_iters (from start_factor to end_factor)"
            ),
            "num_warmup_steps": (
                "{this} calls the ramp's length total_iters (from start_factor to end_factor)"
            ),
        },
        example=Example({"start_factor": 0.1, "total_iters": 40}, 0.1, 60),
    ),
    Kind(
        "ExponentialLR",
        "torch",
        "Decay by `gamma` every tick.",
        "lr * gamma ** t",
        (_p("gamma", T.NUMBER, "Multiplicative factor of decay per tick.", exclusive_minimum=0),),
        origin=_torch("ExponentialLR"),
        length=lambda b, _: _hundredfold(b["gamma"], 1),
        foreign={
            "decay_rate": (
                "{this} calls it gamma and applies it every tick (Keras's decay_rate is per "
                "decay_steps: gamma = decay_rate ** (1 / decay_steps)); or use ExponentialDecay"
            ),
            "decay_steps": (
                "{this} decays every tick; for a rate per decay_steps use ExponentialDecay"
            ),
            "staircase": "{this} decays every tick; for a staircase use StepLR or ExponentialDecay",
        },
        example=Example({"gamma": 0.95}, 0.1, 100),
    ),
    Kind(
        "PolynomialLR",
        "torch",
        "Polynomial decay to 0 over `total_iters`, then 0.",
        "lr * (1 - min(t, total_iters) / total_iters) ** power",
        (
            _p("total_iters", T.INTEGER, f"Length of the decay, in {_STEPS}.", 5, minimum=1),
            _p("power", T.NUMBER, "Power of the polynomial.", 1.0, minimum=0),
        ),
        origin=_torch("PolynomialLR"),
        length=_field("total_iters"),
        horizon=_ends("total_iters"),
        after_horizon="the rate stays at 0",
        foreign={
            "decay_steps": "{this} calls it total_iters",
            "end_learning_rate": (
                "{this} decays to 0; for an end rate use PolynomialDecay (or "
                "TransformersSchedule's polynomial with lr_end)"
            ),
            "lr_end": (
                "{this} decays to 0; for an end rate use PolynomialDecay (or "
                "TransformersSchedule's polynomial with lr_end)"
            ),
            "num_training_steps": "{this} calls it total_iters",
        },
        example=Example({"total_iters": 80, "power": 2.0}, 0.1, 100),
    ),
    Kind(
        "CosineAnnealingLR",
        "torch",
        "Cosine annealing from `lr` to `eta_min` over `T_max` (torch's closed form, periodic).",
        "eta_min + (lr - eta_min) * (1 + cos(pi * t / T_max)) / 2",
        (
            _p("T_max", T.INTEGER, f"Half period of the cosine, in {_STEPS}.", minimum=1),
            _p("eta_min", T.NUMBER, "Minimum learning rate.", 0.0, minimum=0),
        ),
        origin=_torch("CosineAnnealingLR"),
        length=_field("T_max"),
        horizon=_ends("T_max"),
        after_horizon="the cosine rises again (torch's closed form is periodic)",
        notes="Past `T_max` the closed form rises again, as torch's does; `lrgen validate` "
        "warns about it.",
        foreign={
            "decay_steps": "{this} calls it T_max",
            "alpha": (
                "{this} has eta_min, an absolute lr (Keras's alpha is a fraction of the initial "
                "lr: eta_min = alpha * lr)"
            ),
            "min_lr": "{this} calls it eta_min",
            "num_training_steps": "{this} calls it T_max",
            "total_steps": "{this} calls it T_max",
            "warmup_target": (
                "{this} has no warmup: put a LinearLR (or LinearWarmup) before it in a "
                "SequentialLR, or use WarmupWithDecay, or CosineDecay (its warmup_target and "
                "warmup_steps)"
            ),
        },
        example=Example({"T_max": 80, "eta_min": 0.001}, 0.1, 100),
    ),
    Kind(
        "CosineAnnealingWarmRestarts",
        "torch",
        "SGDR: cosine annealing restarted every cycle; cycle i lasts `T_0 * T_mult**i` ticks.",
        "eta_min + (lr - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2, with the cycle found by "
        "integer arithmetic",
        (
            _p("T_0", T.INTEGER, f"Length of the first cycle, in {_STEPS}.", minimum=1),
            _p(
                "T_mult",
                T.INTEGER,
                "Factor by which each cycle is longer than the last.",
                1,
                minimum=1,
            ),
            _p("eta_min", T.NUMBER, "Minimum learning rate.", 0.0, minimum=0),
        ),
        origin=_torch("CosineAnnealingWarmRestarts"),
        length=lambda b, _: _three_periods(b["T_0"], b["T_mult"]),
        notes="The cycle is found with integers, never with a floating-point logarithm, so "
        "restarts land exactly on their step at any step count.",
        foreign={
            "first_decay_steps": "{this} calls it T_0",
            "t_mul": "{this} calls it T_mult (an integer in torch)",
            "m_mul": (
                "{this} restarts at lr every time; for a peak that shrinks by m_mul use "
                "CosineDecayRestarts"
            ),
            "alpha": (
                "{this} has eta_min, an absolute lr (Keras's alpha is a fraction of the initial "
                "lr: eta_min = alpha * lr)"
            ),
            "T_max": "{this} calls the first cycle's length T_0",
        },
        example=Example({"T_0": 10, "T_mult": 2}, 0.1, 150),
    ),
    Kind(
        "CyclicLR",
        "torch",
        "Cyclical learning rate between `base_lr` and `max_lr` (absolute values).",
        "base_lr + (max_lr - base_lr) * triangle(t) * scale(cycle or t)",
        (
            _p("base_lr", T.NUMBER, "Lower boundary of the cycle (absolute).", minimum=0),
            _p("max_lr", T.NUMBER, "Upper boundary of the cycle (absolute).", minimum=0),
            _p(
                "step_size_up",
                T.INTEGER,
                f"Ticks of the rising half, in {_STEPS}.",
                2000,
                minimum=1,
            ),
            _p(
                "step_size_down",
                T.INTEGER,
                "Ticks of the falling half (null: = step_size_up).",
                None,
                minimum=1,
                nullable=True,
            ),
            _p(
                "mode",
                T.CHOICE,
                "Scaling policy (ignored when `scale_fn` is given).",
                "triangular",
                choices=("triangular", "triangular2", "exp_range"),
            ),
            _p(
                "gamma",
                T.NUMBER,
                "Base of `exp_range` scaling: gamma ** iteration.",
                1.0,
                exclusive_minimum=0,
            ),
            _p(
                "scale_fn",
                T.EXPR_X,
                "Custom amplitude scaling, an expression in `x` (cycle number or iteration, per "
                "`scale_mode`); overrides `mode`.",
                None,
                nullable=True,
            ),
            _p(
                "scale_mode",
                T.CHOICE,
                "What `x` of `scale_fn` counts (null: `cycle`, torch's default); ignored without "
                "`scale_fn` (the built-in modes fix it: iterations for exp_range).",
                None,
                choices=("cycle", "iterations"),
                nullable=True,
            ),
            *_MOMENTUM,
            _p(
                "base_momentum",
                T.NUMBER,
                "Momentum at the learning-rate peak.",
                0.8,
                minimum=0,
                maximum=1,
            ),
            _p(
                "max_momentum",
                T.NUMBER,
                "Momentum at the learning-rate trough.",
                0.9,
                minimum=0,
                maximum=1,
            ),
        ),
        origin=_torch("CyclicLR"),
        length=lambda b, _: (
            3
            * (
                b["step_size_up"]
                + (b["step_size_down"] if b["step_size_down"] is not None else b["step_size_up"])
            )
        ),
        cycles_momentum=True,
        notes="Step sizes are integers and the position in the cycle is found with integer "
        "arithmetic.",
        foreign={
            "step_size": "{this} calls it step_size_up (and step_size_down, null: the same)",
        },
        example=Example(
            {"base_lr": 0.001, "max_lr": 0.01, "step_size_up": 20, "mode": "triangular2"},
            0.001,
            160,
        ),
    ),
    Kind(
        "OneCycleLR",
        "torch",
        "1cycle: warm up from max_lr/div_factor to `max_lr`, anneal to "
        "max_lr/(div_factor*final_div_factor).",
        "piecewise cos/linear annealing between phase ends pct_start*total_steps - 1, "
        "total_steps - 1",
        (
            _p("max_lr", T.NUMBER, "Peak learning rate (absolute).", exclusive_minimum=0),
            _p(
                "total_steps",
                T.INTEGER,
                "Length of the cycle (or give epochs and steps_per_epoch).",
                None,
                minimum=1,
                nullable=True,
            ),
            _p(
                "epochs",
                T.INTEGER,
                "Epochs, with steps_per_epoch, when total_steps is null.",
                None,
                minimum=1,
                nullable=True,
            ),
            _p(
                "steps_per_epoch",
                T.INTEGER,
                "Steps per epoch, with epochs.",
                None,
                minimum=1,
                nullable=True,
            ),
            _p(
                "pct_start",
                T.NUMBER,
                "Fraction of the cycle spent rising.",
                0.3,
                exclusive_minimum=0,
                exclusive_maximum=1,
            ),
            _p("anneal_strategy", T.CHOICE, "Annealing shape.", "cos", choices=("cos", "linear")),
            *_MOMENTUM,
            _p(
                "base_momentum",
                T.NUMBER,
                "Momentum at the learning-rate peak.",
                0.85,
                minimum=0,
                maximum=1,
            ),
            _p(
                "max_momentum",
                T.NUMBER,
                "Momentum at the start and end.",
                0.95,
                minimum=0,
                maximum=1,
            ),
            _p(
                "div_factor",
                T.NUMBER,
                "initial_lr = max_lr / div_factor.",
                25.0,
                exclusive_minimum=0,
            ),
            _p(
                "final_div_factor",
                T.NUMBER,
                "min_lr = initial_lr / final_div_factor.",
                1e4,
                exclusive_minimum=0,
            ),
            _p(
                "three_phase",
                T.BOOLEAN,
                "Three phases, as in Smith's paper: up to max_lr, back down to initial_lr, then "
                "down to min_lr. The default (two phases: up, then down to min_lr) follows fastai.",
                False,
            ),
        ),
        checks=(TotalSteps(),),
        origin=_torch("OneCycleLR"),
        per_batch="use unit: step with total_steps = epochs * steps_per_epoch",
        length=lambda b, _: _one_cycle_total(b),
        warmup=lambda b: (b["pct_start"] * _one_cycle_total(b) - 1, "pct_start"),
        horizon=_one_cycle_end,
        after_horizon="the rate stays at its final value",
        cycles_momentum=True,
        notes="Holds its value at step total_steps - 1 from then on (torch extrapolates one "
        "more step and then raises); a phase of zero length (pct_start * total_steps == 1) gives "
        "its end value, where torch divides by zero.",
        foreign={
            "num_training_steps": "{this} calls it total_steps",
            "warmup_steps": "{this} sets its rise with pct_start, a fraction of total_steps",
            "pct_warmup": "{this} calls it pct_start",
        },
        example=Example({"max_lr": 0.1, "total_steps": 100}, 0.1, 110),
    ),
    Kind(
        "LambdaLR",
        "torch",
        "`lr` times an expression of the counter.",
        "lr * lr_lambda(t)",
        (
            _p(
                "lr_lambda",
                T.EXPR_T,
                "Multiplier of `lr`, an expression in `t` (aliases `step`, `epoch`) and params.",
            ),
        ),
        origin=_torch("LambdaLR"),
        length=_lambda_length,
        foreign={
            "lr_lambdas": "{this} takes one expression, lr_lambda (one schedule per spec entry)",
            "lambda": "{this} calls it lr_lambda",
        },
        example=Example({"lr_lambda": "0.5 ** (t / 25)"}, 0.1, 100),
    ),
    Kind(
        "SequentialLR",
        "torch",
        "Run child schedules one after another; child i runs on its own clock.",
        "child_i(t - milestones[i-1]) for milestones[i-1] <= t < milestones[i]",
        (
            _p("schedulers", T.NODES, "The child schedules, in order.", min_items=1),
            _p(
                "milestones",
                T.INT_LIST,
                "Ticks at which the next child takes over; strictly increasing, one fewer than "
                "`schedulers`.",
                minimum=1,
            ),
        ),
        checks=(Increasing("milestones"), LenMatch("milestones", "schedulers", -1)),
        origin=_torch("SequentialLR"),
        children="sequential",
        length=_sequential_length,
        foreign={
            "boundaries": "{this} calls them milestones",
            "schedules": "{this} calls them schedulers",
        },
        example=Example(
            {
                "milestones": [20],
                "schedulers": [
                    ("LinearLR", {"start_factor": 0.05, "total_iters": 20}),
                    ("CosineAnnealingLR", {"T_max": 80}),
                ],
            },
            0.1,
            100,
        ),
    ),
    Kind(
        "ChainedScheduler",
        "torch",
        "Product of the children's multipliers.",
        "lr * prod_i(child_i(t) / lr)",
        (_p("schedulers", T.NODES, "The child schedules, all applied at once.", min_items=1),),
        origin=_torch("ChainedScheduler"),
        children="chained",
        length=_chained_length,
        foreign={
            "schedules": "{this} calls them schedulers",
        },
        example=Example(
            {
                "schedulers": [
                    ("ConstantLR", {"factor": 0.5, "total_iters": 10}),
                    ("ExponentialLR", {"gamma": 0.97}),
                ]
            },
            0.1,
            100,
        ),
    ),
    Kind(
        "ReduceLROnPlateau",
        "torch",
        "Reduce by `factor` when a metric stops improving (metric-driven, top level only), "
        "after an optional linear warmup.",
        "linear warmup for warmup_steps ticks, then torch's ReduceLROnPlateau state machine over "
        "the metrics from tick warmup_steps on",
        (
            _p(
                "mode",
                T.CHOICE,
                "Whether the metric should decrease (min) or increase (max).",
                "min",
                choices=("min", "max"),
            ),
            _p("factor", T.NUMBER, "new_lr = lr * factor.", 0.1, minimum=0, exclusive_maximum=1),
            _p("patience", T.INTEGER, "Bad epochs tolerated before a reduction.", 10, minimum=0),
            _p(
                "threshold",
                T.NUMBER,
                "Minimum change that counts as an improvement.",
                1e-4,
                minimum=0,
            ),
            _p(
                "threshold_mode",
                T.CHOICE,
                "Threshold relative to the best (rel) or absolute.",
                "rel",
                choices=("rel", "abs"),
            ),
            _p("cooldown", T.INTEGER, "Epochs to wait after a reduction.", 0, minimum=0),
            _p("min_lr", T.NUMBER, "Lower bound of the learning rate.", 0.0, minimum=0),
            _p("eps", T.NUMBER, "Reductions smaller than eps are skipped.", 1e-8, minimum=0),
            _p("monitor", T.STRING, "Keras: the logged metric the callback reads.", "val_loss"),
            _p(
                "warmup_steps",
                T.INTEGER,
                "Ticks of linear warmup before the plateau logic starts (0: none).",
                0,
                minimum=0,
            ),
            _p(
                "warmup_start_factor",
                T.NUMBER,
                "Warmup: lr(t) = lr * (f + (1 - f) * t / warmup_steps) for t <= warmup_steps.",
                0.0,
                minimum=0,
                maximum=1,
            ),
        ),
        metric_driven=True,
        origin=_torch("ReduceLROnPlateau"),
        length=lambda b, _: b["warmup_steps"] + 10 * (b["patience"] + 1 + b["cooldown"]),
        foreign={
            "min_delta": (
                "{this} calls it threshold (Keras's min_delta is absolute: add threshold_mode: abs)"
            ),
            "warmup": "{this} calls it warmup_steps",
            "num_warmup_steps": "{this} calls it warmup_steps",
        },
        example=Example({"factor": 0.5, "patience": 5}, 0.1, 60),
    ),
    # --- Keras-mirrored -------------------------------------------------------------------------
    Kind(
        "ExponentialDecay",
        "keras",
        "Keras exponential decay.",
        "initial_learning_rate * decay_rate ** (t / decay_steps)  (floor of the exponent if "
        "staircase)",
        (
            _INITIAL_LR,
            _p("decay_steps", T.INTEGER, "Ticks per decay period.", minimum=1),
            _p("decay_rate", T.NUMBER, "Decay per period.", exclusive_minimum=0),
            _p("staircase", T.BOOLEAN, "Decay at discrete intervals.", False),
        ),
        origin=_keras("ExponentialDecay"),
        length=lambda b, _: _hundredfold(b["decay_rate"], b["decay_steps"]),
        foreign={
            "gamma": (
                "{this} calls it decay_rate, the factor per decay_steps ticks (torch's gamma is "
                "per tick: decay_rate = gamma ** decay_steps)"
            ),
            "step_size": "{this} calls it decay_steps; add staircase: true for torch's StepLR",
        },
        example=Example({"decay_steps": 20, "decay_rate": 0.5, "staircase": True}, 0.1, 100),
    ),
    Kind(
        "PiecewiseConstantDecay",
        "keras",
        "Piecewise constant (absolute) values; `values[0]` while t <= boundaries[0].",
        "values[i] for boundaries[i-1] < t <= boundaries[i]",
        (
            _p(
                "boundaries",
                T.INT_LIST,
                "Strictly increasing step boundaries.",
                minimum=0,
                min_items=1,
            ),
            _p(
                "values",
                T.NUMBER_LIST,
                "Learning rates, one more than boundaries.",
                minimum=0,
                min_items=2,
            ),
        ),
        checks=(Increasing("boundaries"), LenMatch("values", "boundaries", 1)),
        origin=_keras("PiecewiseConstantDecay"),
        length=lambda b, _: b["boundaries"][-1] + 1,
        foreign={
            "milestones": (
                "{this} calls them boundaries, and Keras's rule is one step later than torch's "
                "(values[i + 1] from boundaries[i] + 1); for torch's rule use MultiStepLR"
            ),
            "gamma": (
                "{this} takes absolute values per interval; for a factor per milestone use "
                "MultiStepLR"
            ),
        },
        example=Example({"boundaries": [30, 70], "values": [0.1, 0.05, 0.01]}, 0.1, 100),
    ),
    Kind(
        "PolynomialDecay",
        "keras",
        "Keras polynomial decay to `end_learning_rate`, optionally cycling.",
        "(initial - end) * (1 - min(t, decay_steps) / decay_steps) ** power + end",
        (
            _INITIAL_LR,
            _p("decay_steps", T.INTEGER, "Ticks of the decay.", minimum=1),
            _p("end_learning_rate", T.NUMBER, "Final learning rate.", 1e-4, minimum=0),
            _p("power", T.NUMBER, "Power of the polynomial.", 1.0, minimum=0),
            _p(
                "cycle",
                T.BOOLEAN,
                "Restart the decay past decay_steps (with a longer period).",
                False,
            ),
        ),
        origin=_keras("PolynomialDecay"),
        length=lambda b, _: b["decay_steps"] * (3 if b["cycle"] else 1),
        horizon=_polynomial_decay_end,
        after_horizon="the rate stays at end_learning_rate",
        foreign={
            "total_iters": "{this} calls it decay_steps",
            "num_training_steps": "{this} calls it decay_steps",
            "lr_end": "{this} calls it end_learning_rate",
        },
        example=Example({"decay_steps": 30, "end_learning_rate": 0.01, "cycle": True}, 0.1, 100),
    ),
    Kind(
        "InverseTimeDecay",
        "keras",
        "Keras inverse time decay.",
        "initial_learning_rate / (1 + decay_rate * t / decay_steps)  (floor if staircase)",
        (
            _INITIAL_LR,
            _p("decay_steps", T.INTEGER, "Ticks per decay period.", minimum=1),
            _p("decay_rate", T.NUMBER, "Decay rate.", minimum=0),
            _p("staircase", T.BOOLEAN, "Decay at discrete intervals.", False),
        ),
        origin=_keras("InverseTimeDecay"),
        length=lambda b, _: (
            math.ceil(9 * b["decay_steps"] / b["decay_rate"]) if b["decay_rate"] > 0 else None
        ),
        foreign={
            "step_size": "{this} calls it decay_steps",
            "gamma": "{this} calls it decay_rate (lr / (1 + decay_rate * t / decay_steps))",
        },
        example=Example({"decay_steps": 10, "decay_rate": 0.5}, 0.1, 100),
    ),
    Kind(
        "CosineDecay",
        "keras",
        "Keras cosine decay with optional linear warmup to `warmup_target`.",
        "warmup: initial + (warmup_target - initial) * t / warmup_steps; then "
        "peak * ((1 - alpha) * (1 + cos(pi * min(s, decay_steps) / decay_steps)) / 2 + alpha)",
        (
            _p(
                "initial_learning_rate",
                T.NUMBER,
                "Learning rate at step 0 (defaults to the schedule's `lr`); with a "
                "`warmup_target` it may be 0, Keras's usual warmup from zero.",
                Ref("lr"),
                minimum=0,
            ),
            _p("decay_steps", T.INTEGER, "Ticks of the decay (after the warmup).", minimum=1),
            _p(
                "alpha",
                T.NUMBER,
                "Final rate as a fraction of the peak.",
                0.0,
                minimum=0,
                maximum=1,
            ),
            _p(
                "warmup_target",
                T.NUMBER,
                "Peak reached after the warmup (null: no warmup).",
                None,
                exclusive_minimum=0,
                nullable=True,
            ),
            _p("warmup_steps", T.INTEGER, "Ticks of the linear warmup.", 0, minimum=0),
        ),
        checks=(ZeroNeeds("initial_learning_rate", "warmup_target"),),
        origin=_keras("CosineDecay"),
        length=_sum("warmup_steps", "decay_steps"),
        warmup=lambda b: _warmup_steps(b) if b["warmup_target"] is not None else None,
        horizon=_ends("decay_steps", "warmup_steps", "decay_steps"),
        after_horizon="the rate stays at alpha * its peak",
        foreign={
            "T_max": "{this} calls it decay_steps (the ticks after the warmup)",
            "eta_min": (
                "{this} has alpha, a fraction of the peak lr, not an absolute lr (alpha = eta_min"
                " / lr)"
            ),
            "min_lr": (
                "{this} has alpha, a fraction of the peak lr, not an absolute lr (alpha = min_lr "
                "/ lr)"
            ),
            "warmup": "{this} calls it warmup_steps (with a warmup_target, the peak)",
            "num_warmup_steps": "{this} calls it warmup_steps (with a warmup_target, the peak)",
            "num_training_steps": (
                "{this} has decay_steps, the ticks after the warmup (num_training_steps - "
                "warmup_steps)"
            ),
            "total_steps": (
                "{this} has decay_steps, the ticks after the warmup (total_steps - warmup_steps)"
            ),
        },
        example=Example({"decay_steps": 80, "warmup_target": 0.1, "warmup_steps": 20}, 0.01, 110),
    ),
    Kind(
        "CosineDecayRestarts",
        "keras",
        "Keras SGDR: cosine decay with restarts; periods grow by t_mul, peaks by m_mul.",
        "initial * ((1 - alpha) * m_mul**i * (1 + cos(pi * fraction_of_period_i)) / 2 + alpha)",
        (
            _INITIAL_LR,
            _p("first_decay_steps", T.INTEGER, "Ticks of the first period.", minimum=1),
            _p("t_mul", T.NUMBER, "Growth of each period's length.", 2.0, minimum=1),
            _p("m_mul", T.NUMBER, "Factor of each period's initial rate.", 1.0, minimum=0),
            _p(
                "alpha",
                T.NUMBER,
                "Minimum as a fraction of the initial rate.",
                0.0,
                minimum=0,
                maximum=1,
            ),
        ),
        checks=(RestartPeriods("first_decay_steps", "t_mul"),),
        origin=_keras("CosineDecayRestarts"),
        length=lambda b, _: _three_periods(b["first_decay_steps"], b["t_mul"]),
        notes="The period is found by an exact search over precomputed period starts, not by a "
        "floating-point logarithm, so restarts land exactly on their step.",
        foreign={
            "T_0": "{this} calls it first_decay_steps",
            "T_mult": "{this} calls it t_mul",
            "eta_min": (
                "{this} has alpha, a fraction of the initial lr, not an absolute lr (alpha = "
                "eta_min / lr)"
            ),
        },
        example=Example({"first_decay_steps": 20, "t_mul": 1.5, "m_mul": 0.8}, 0.1, 150),
    ),
    # --- framework-neutral ----------------------------------------------------------------------
    Kind(
        "Constant",
        "neutral",
        "The base rate, always.",
        "lr",
        (),
        length=lambda b, _: None,
        example=Example({}, 0.1, 50),
    ),
    Kind(
        "LinearWarmup",
        "neutral",
        "Linear warmup from 0 to `lr`, then hold.",
        "lr * min(1, t / warmup_steps)",
        (_p("warmup_steps", T.INTEGER, f"Length of the warmup, in {_STEPS}.", minimum=1),),
        length=_field("warmup_steps", 2),
        warmup=_warmup_steps,
        foreign={
            "num_warmup_steps": "{this} calls it warmup_steps",
            "total_iters": "{this} calls it warmup_steps",
        },
        example=Example({"warmup_steps": 30}, 0.1, 60),
    ),
    Kind(
        "ExponentialWarmup",
        "neutral",
        "Geometric warmup from `start_lr` to `lr`, then hold.",
        "start_lr * (lr / start_lr) ** (t / warmup_steps) for t < warmup_steps, then lr",
        (
            _p("warmup_steps", T.INTEGER, f"Length of the warmup, in {_STEPS}.", minimum=1),
            _p("start_lr", T.NUMBER, "Learning rate at t = 0.", 1e-7, exclusive_minimum=0),
        ),
        length=_field("warmup_steps", 2),
        warmup=_warmup_steps,
        foreign={
            "num_warmup_steps": "{this} calls it warmup_steps",
        },
        example=Example({"warmup_steps": 30, "start_lr": 0.0001}, 0.1, 60),
    ),
    Kind(
        "CosineWarmup",
        "neutral",
        "Half-cosine warmup from 0 to `lr`, then hold.",
        "lr * (1 - cos(pi * t / warmup_steps)) / 2 for t < warmup_steps, then lr",
        (_p("warmup_steps", T.INTEGER, f"Length of the warmup, in {_STEPS}.", minimum=1),),
        length=_field("warmup_steps", 2),
        warmup=_warmup_steps,
        foreign={
            "num_warmup_steps": "{this} calls it warmup_steps",
        },
        example=Example({"warmup_steps": 30}, 0.1, 60),
    ),
    Kind(
        "WarmupWithDecay",
        "neutral",
        "Linear warmup to `lr`, cosine decay to `min_lr` at `total_steps`, then hold.",
        "lr * t / warmup_steps; then min_lr + (lr - min_lr) * (1 + cos(pi * (t - warmup_steps) "
        "/ (total_steps - warmup_steps))) / 2; min_lr from total_steps on",
        (
            _p("warmup_steps", T.INTEGER, f"Length of the warmup, in {_STEPS}.", minimum=0),
            _p("total_steps", T.INTEGER, "End of the decay.", minimum=1),
            _p("min_lr", T.NUMBER, "Final learning rate.", 0.0, minimum=0),
        ),
        checks=(Less("warmup_steps", "total_steps"),),
        length=_field("total_steps"),
        warmup=_warmup_steps,
        horizon=_ends("total_steps"),
        after_horizon="the rate stays at min_lr",
        foreign={
            "num_warmup_steps": "{this} calls it warmup_steps",
            "num_training_steps": "{this} calls it total_steps",
            "T_max": (
                "{this} has total_steps, the end of the decay counted from t = 0 (warmup included)"
            ),
            "eta_min": "{this} calls it min_lr",
        },
        example=Example({"warmup_steps": 10, "total_steps": 80, "min_lr": 0.005}, 0.1, 100),
    ),
    Kind(
        "InverseSqrt",
        "neutral",
        "Linear warmup, then inverse square-root decay (the Transformer schedule).",
        "lr * t / warmup_steps for t < warmup_steps, then "
        "lr * sqrt(timescale / (t - warmup_steps + timescale))",
        (
            _p("warmup_steps", T.INTEGER, f"Length of the warmup, in {_STEPS}.", minimum=1),
            _p(
                "timescale",
                T.NUMBER,
                "Decay timescale (defaults to warmup_steps).",
                Ref("warmup_steps"),
                exclusive_minimum=0,
            ),
        ),
        length=_field("warmup_steps", 10),
        warmup=_warmup_steps,
        foreign={
            "num_warmup_steps": "{this} calls it warmup_steps",
        },
        example=Example({"warmup_steps": 10}, 0.1, 100),
    ),
    Kind(
        "WarmupStableDecay",
        "neutral",
        "Warmup, hold `lr`, decay to `min_lr_ratio * lr`, then hold (transformers' WSD shape).",
        "warmup factor w(t / warmup_steps) from min_lr_ratio to 1; 1; decay factor "
        "d((t - warmup_steps - stable_steps) / decay_steps) from 1 to min_lr_ratio; "
        "min_lr_ratio",
        (
            _p("warmup_steps", T.INTEGER, f"Length of the warmup, in {_STEPS}.", minimum=0),
            _p("stable_steps", T.INTEGER, "Length of the plateau at `lr`.", minimum=0),
            _p("decay_steps", T.INTEGER, "Length of the decay.", minimum=1),
            _p(
                "min_lr_ratio",
                T.NUMBER,
                "Final rate as a fraction of `lr`.",
                0.0,
                minimum=0,
                maximum=1,
            ),
            _p(
                "warmup_type",
                T.CHOICE,
                "Shape of the warmup.",
                "linear",
                choices=("linear", "cosine", "1-sqrt"),
            ),
            _p(
                "decay_type",
                T.CHOICE,
                "Shape of the decay.",
                "cosine",
                choices=("linear", "cosine", "1-sqrt"),
            ),
        ),
        origin="transformers.get_wsd_schedule",
        length=_sum("warmup_steps", "stable_steps", "decay_steps"),
        warmup=_warmup_steps,
        decay_start=lambda b: (
            (b["warmup_steps"] + b["stable_steps"], "stable_steps")
            if b["stable_steps"] > 0
            else None
        ),
        horizon=_ends("decay_steps", "warmup_steps", "stable_steps", "decay_steps"),
        after_horizon="the rate stays at min_lr_ratio * lr",
        foreign={
            "num_warmup_steps": "{this} calls it warmup_steps",
            "num_stable_steps": "{this} calls it stable_steps",
            "num_decay_steps": "{this} calls it decay_steps",
            "num_training_steps": (
                "{this} takes stable_steps, not a total; or use TransformersSchedule "
                "(lr_scheduler_type: warmup_stable_decay)"
            ),
        },
        example=Example(
            {"warmup_steps": 10, "stable_steps": 40, "decay_steps": 30, "min_lr_ratio": 0.1},
            0.1,
            100,
        ),
    ),
    Kind(
        "TransformersSchedule",
        "neutral",
        "A transformers (Hugging Face) schedule by its `lr_scheduler_type`, with "
        "`TrainingArguments`' warmup rule.",
        "lr * the lr_lambda of transformers.get_scheduler(lr_scheduler_type, "
        "num_warmup_steps=W, num_training_steps=N, **kwargs), per type below",
        (
            _p(
                "lr_scheduler_type",
                T.CHOICE,
                "The `transformers.SchedulerType` (the closed-form ones).",
                choices=HF_TYPES,
            ),
            _p(
                "num_training_steps",
                T.INTEGER,
                "N: the training length (`max_steps`, the Trainer's `num_training_steps`).",
                minimum=1,
            ),
            _p(
                "warmup_steps",
                T.NUMBER,
                "As `TrainingArguments.warmup_steps` (transformers 5): >= 1 gives W = "
                "int(warmup_steps) ticks, a value in (0, 1) a ratio: W = ceil(warmup_steps * N). "
                "Wins over `warmup_ratio` when > 0 (null: 0).",
                None,
                minimum=0,
                nullable=True,
            ),
            _p(
                "warmup_ratio",
                T.NUMBER,
                "As `TrainingArguments.warmup_ratio` (transformers 4): W = ceil(warmup_ratio * "
                "N) when `warmup_steps` is null or 0 (null: 0).",
                None,
                minimum=0,
                maximum=1,
                nullable=True,
            ),
            _p(
                "num_cycles",
                T.NUMBER,
                "Cosine waves (null: 0.5, a half cosine; 1 for cosine_with_restarts, its number "
                "of restarts).",
                None,
                minimum=0,
                nullable=True,
            ),
            _p(
                "power",
                T.NUMBER,
                "Power of the polynomial (null: 1).",
                None,
                minimum=0,
                nullable=True,
            ),
            _p(
                "lr_end",
                T.NUMBER,
                "Final learning rate, absolute (null: 1e-7).",
                None,
                minimum=0,
                nullable=True,
            ),
            _p(
                "timescale",
                T.NUMBER,
                "Decay timescale (null: W, or 10000 without a warmup).",
                None,
                exclusive_minimum=0,
                nullable=True,
            ),
            _p(
                "min_lr", T.NUMBER, "Final learning rate, absolute.", None, minimum=0, nullable=True
            ),
            _p(
                "min_lr_rate",
                T.NUMBER,
                "Final learning rate as a fraction of `lr`.",
                None,
                minimum=0,
                nullable=True,
            ),
            _p(
                "warmup_lr_rate",
                T.NUMBER,
                "Rate at t = 0 as a fraction of `lr` (null: the warmup starts at 1 / W).",
                None,
                minimum=0,
                maximum=1,
                nullable=True,
            ),
            _p(
                "num_stable_steps",
                T.INTEGER,
                "S: ticks at `lr` after the warmup (null: N - W - num_decay_steps).",
                None,
                minimum=0,
                nullable=True,
            ),
            _p(
                "num_decay_steps",
                T.INTEGER,
                "D: ticks of the decay.",
                None,
                minimum=0,
                nullable=True,
            ),
            _p(
                "warmup_type",
                T.CHOICE,
                "Shape of the warmup (null: linear).",
                None,
                choices=WSD_SHAPES,
                nullable=True,
            ),
            _p(
                "decay_type",
                T.CHOICE,
                "Shape of the decay (null: cosine).",
                None,
                choices=WSD_SHAPES,
                nullable=True,
            ),
            _p(
                "min_lr_ratio",
                T.NUMBER,
                "Rate at the start of the warmup and after the decay, as a fraction of `lr` "
                "(null: 0).",
                None,
                minimum=0,
                maximum=1,
                nullable=True,
            ),
        ),
        checks=(
            *(AppliesTo(name, "lr_scheduler_type", types) for name, types in HF_KWARGS.items()),
            NeedsOne(("min_lr", "min_lr_rate"), "lr_scheduler_type", HF_MIN_LR_TYPES),
            NeedsOne(("num_decay_steps",), "lr_scheduler_type", ("warmup_stable_decay",)),
        ),
        origin="transformers.get_scheduler",
        notes="W = TrainingArguments.get_warmup_steps(N) (`warmup_ratio` as transformers 4 "
        "read it). transformers' own guards are kept: warmups divide by max(1, W) and decays by "
        "max(1, N - W), so W = 0 and W >= N are defined as transformers defines them, and the "
        "cosine types' progress is not clamped (past N the cosine rises again, as in "
        "transformers). Where transformers raises, lrgen defines a value: polynomial with W = "
        "N (a division by zero at t = N) gives `lr_end + (lr - lr_end) * 0 ** power` there, its "
        "value at N for any shorter warmup; polynomial with lr_end >= lr evaluates the same "
        "formula. cosine_with_restarts finds its cycle in integers where num_cycles is whole "
        "(transformers' float `(num_cycles * progress) % 1` gives the same values). The cosines' "
        "phase is reduced in integers where 2 * num_cycles is a multiple of 1/32 (0.5, 1, "
        "0.25, ...), exact at any step; other values reduce in float, and the float32 targets "
        "then keep about 1e-4 relative near the troughs up to 2N, less far past N (where the "
        "unclamped cosine still oscillates). "
        "In a torch scheduler with several param groups, lr_end and min_lr stay absolute in "
        "every group (transformers converts them with the optimizer's default lr). "
        "`reduce_lr_on_plateau` and `greedy` are metric-driven: use the kind ReduceLROnPlateau.",
        length=lambda b, _: _hf_length(b),
        warmup=_hf_warmup,
        horizon=_hf_decay_end,
        after_horizon="the rate holds its final value (the cosine types rise again: "
        "transformers does not clamp their progress)",
        selector="lr_scheduler_type",
        formulas=HF_FORMULAS,
        foreign_values={
            "lr_scheduler_type": {
                "reduce_lr_on_plateau": "it is metric-driven: use the kind ReduceLROnPlateau "
                "(its warmup_steps give the warmup)",
                "greedy": "it is metric-driven (transformers' GreedyLR): lrgen has no such kind; "
                "the nearest is ReduceLROnPlateau",
            }
        },
        foreign={
            "num_warmup_steps": (
                "{this} calls it warmup_steps (or warmup_ratio), as TrainingArguments does"
            ),
            "max_steps": "{this} calls it num_training_steps",
            "total_steps": "{this} calls it num_training_steps",
            "lr_scheduler_kwargs": (
                "{this} takes transformers' lr_scheduler_kwargs as fields of the node "
                "(num_cycles, power, lr_end, ...)"
            ),
            "scheduler_specific_kwargs": (
                "{this} takes transformers' scheduler_specific_kwargs as fields of the node "
                "(num_cycles, power, lr_end, ...)"
            ),
        },
        example=Example(
            {"lr_scheduler_type": "cosine", "num_training_steps": 100, "warmup_ratio": 0.1},
            0.1,
            110,
        ),
    ),
)

KIND_MAP: Mapping[str, Kind] = {k.name: k for k in KINDS}

# --- names --------------------------------------------------------------------------------------

#: Names a schedule or a param may not take: they would shadow something in generated code.
RESERVED_NAMES = (
    frozenset(keyword.kwlist)
    | frozenset(dir(__builtins__ if isinstance(__builtins__, dict) else vars(__builtins__)))
    | frozenset(
        {
            "t",
            "step",
            "epoch",
            "x",
            "pi",
            "e",
            "math",
            "torch",
            "keras",
            "ops",
            "self",
            "optimizer",
            "last_epoch",
            "name",
            "lr",
            "annotations",
            "metrics",
            "monitor",  # arguments of the ReduceLROnPlateau Keras callback
            "verbose",
            "dtype",  # argument of the torch tensor variant
        }
    )
)
COUNTER_NAMES = ("t", "step", "epoch")
#: A param of this name is also the steps-per-epoch argument of the generated Keras and optax
#: schedules (for ``unit: epoch`` they divide the optimizer step by it): one value serves both.
STEPS_PER_EPOCH = "steps_per_epoch"
NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
MAX_NAME_LENGTH = 64

# --- limits -------------------------------------------------------------------------------------
# A valid spec must also be one that every command can process in bounded time and memory: the
# generated formula nests once per node (a SequentialLR of n children is n nested selections), so
# node counts stay well inside Python's recursion limit, and text that ends up in the generated
# files is bounded so that a small spec cannot write gigabytes (aliases repeat text for free).

#: Most children of one SequentialLR or ChainedScheduler.
MAX_CHILDREN = 32
#: Most nodes in one schedule, the top node included.
MAX_NODES = 64
#: Most items in one list parameter (milestones, boundaries, values).
MAX_LIST_ITEMS = 10_000
#: Largest integer, literal or in an expression: every integer must be exact as a float64.
MAX_INT = 2**53
#: Longest description (of a spec, a schedule or a node), in characters after alias expansion.
MAX_DESCRIPTION = 10_000
#: Largest generated module, in characters: a backstop for what the limits above do not catch.
MAX_OUTPUT_CHARS = 4_000_000


def camel_name(snake: str) -> str:
    """``warmup_cosine`` -> ``WarmupCosine`` (digits kept, underscores dropped)."""
    return "".join(part[:1].upper() + part[1:] for part in snake.split("_"))


@dataclass(frozen=True, slots=True)
class TopLevelField:
    name: str
    doc: str
    extra: Mapping[str, Any] = field(default_factory=dict)


SCHEDULE_FIELDS: tuple[TopLevelField, ...] = (
    TopLevelField("description", "What the schedule is for; ends up in the generated docstrings."),
    TopLevelField(
        "lr", "The base learning rate: finite and > 0 (a number or an expression over params)."
    ),
    TopLevelField("unit", "What the counter t counts: optimizer steps (default) or epochs."),
    TopLevelField(
        "params",
        "Runtime parameters: name -> default number. They become keyword "
        "arguments of every generated class and function.",
    ),
    TopLevelField("schedule", "The schedule: one node with a `kind`."),
    TopLevelField(
        "lint",
        "Lint settings of this schedule: `ignore` lists the warning codes (shown as "
        "`warning[CODE]:`) that `lrgen validate` and `lrgen build` do not report for it.",
    ),
)

#: The warnings of ``lrgen validate`` (lrgen.lint) and ``lrgen build``: code -> what it reports.
#: A schedule's ``lint: {ignore: [CODE, ...]}`` silences them for that schedule only.
LINT_CODES: Mapping[str, str] = {
    "zero-start": "the learning rate at step 0 is 0, so the first update does nothing",
    "short-horizon": "a decay ends before the training (or its SequentialLR segment) does",
    "join-jump": "the rate jumps at a SequentialLR milestone",
    "long-warmup": "a warmup does not end before the training (or its segment) does",
    "one-cycle-epoch": "OneCycleLR in a schedule with unit: epoch",
    "unused-param": "a declared param that no field of the schedule uses",
    "epoch-unit": "unit: epoch with fields or params sized in steps",
    "global-milestones": "a MultiStepLR milestone past the end of its SequentialLR segment",
    "not-finite": "the rate is nan or infinite at some step of the horizon",
    "negative": "the rate is negative at some step of the horizon",
    "keras-momentum": "cycle_momentum that the generated Keras schedule cannot cycle",
    "optax-plateau": "a metric-driven schedule that the optax target leaves out",
}
