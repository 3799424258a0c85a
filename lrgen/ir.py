"""The typed, frozen IR of a loaded spec, and binding of runtime parameters.

Nothing downstream of the loader sees raw dicts: it sees :class:`Spec`, :class:`Schedule` and
:class:`Node`. Numeric fields are expression trees (:mod:`lrgen.expr`; a plain number is a ``Num``),
so a field may depend on the schedule's declared ``params``. :func:`bind` evaluates every field for
concrete parameter values and checks it against the registry's constraints — the same checks the
generated code performs at construction.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from lrgen import expr as ex
from lrgen.errors import Problem
from lrgen.kinds import (
    KIND_MAP,
    MAX_INT,
    Kind,
    Ref,
    T,
    camel_name,
)

# the restart-period limit is a registry check now (lrgen.kinds.RestartPeriods); its names stay
# importable from here, where the generated code's comments and the tests look for them
from lrgen.kinds import MAX_RESTART_PERIODS as MAX_RESTART_PERIODS
from lrgen.kinds import restart_periods as restart_periods

#: A field value: an expression (numbers), a tuple of expressions (lists), a bool, a string
#: (choices), or None (a nullable field left null).
Value = Any


@dataclass(frozen=True, slots=True)
class Node:
    """One schedule node: a kind and its arguments, every parameter present (defaults filled)."""

    kind: str
    args: tuple[tuple[str, Value], ...]
    children: tuple[Node, ...] = ()
    description: str | None = None
    path: str = ""

    def arg(self, name: str) -> Value:
        for key, value in self.args:
            if key == name:
                return value
        raise KeyError(f"{self.kind} has no parameter {name!r}")

    @property
    def spec_kind(self) -> Kind:
        return KIND_MAP[self.kind]


@dataclass(frozen=True, slots=True)
class Schedule:
    name: str
    lr: ex.Expr
    node: Node
    unit: str = "step"
    params: tuple[tuple[str, float], ...] = ()
    description: str | None = None
    source: str = ""  # the spec text of this schedule, for docstrings
    path: str = ""
    #: Warning codes (lrgen.kinds.LINT_CODES) not reported for this schedule.
    lint_ignore: frozenset[str] = frozenset()

    @property
    def class_name(self) -> str:
        return camel_name(self.name)

    @property
    def param_defaults(self) -> Mapping[str, float]:
        return MappingProxyType(dict(self.params))

    @property
    def metric_driven(self) -> bool:
        return self.node.spec_kind.metric_driven


@dataclass(frozen=True, slots=True)
class Spec:
    path: str
    sha256: str
    version: int
    entries: tuple[Schedule, ...]
    description: str | None = None
    #: JSON path (as in :class:`~lrgen.errors.Problem`) -> 1-based (line, column) of its value in
    #: the file, for positioned warnings; empty for a spec built in code.
    positions: Mapping[str, tuple[int, int]] = field(
        default_factory=lambda: MappingProxyType({}), compare=False, repr=False
    )

    @property
    def schedules(self) -> Mapping[str, Schedule]:
        """Schedule name -> schedule, in the order of the spec file."""
        return MappingProxyType({s.name: s for s in self.entries})

    @property
    def stem(self) -> str:
        name = self.path.replace("\\", "/").rsplit("/", 1)[-1]
        return name.rsplit(".", 1)[0] if "." in name else name

    def problem(self, path: str, message: str, *, code: str = "") -> Problem:
        """A problem at ``path`` of this spec, positioned where the file has it (1:1 for a spec
        built in code); a warning when it has a ``code``."""
        line, column = self.positions.get(path, (1, 1))
        severity = "warning" if code else "error"
        return Problem(self.path, line, column, path, message, severity=severity, code=code)


# --- binding ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bound:
    """A node with every field evaluated for concrete parameter values.

    ``values`` holds floats, ints, bools, strings, tuples or None; expression fields (``lr_lambda``,
    ``scale_fn``) stay expression trees, with ``env`` holding the parameter values they close over.
    ``lr`` is the schedule's base learning rate.
    """

    kind: str
    values: Mapping[str, Any]
    children: tuple[Bound, ...]
    lr: float
    env: Mapping[str, float]
    path: str

    def __getitem__(self, name: str) -> Any:
        return self.values[name]


class BindError(ValueError):
    """A field's value, computed from the parameters, breaks its constraints.

    ``path`` is the JSON path of the field (or the schedule's name, for a bad parameter),
    ``message`` what is wrong; ``str()`` is ``path: message``.
    """

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path, self.message = path, message


def resolve_params(schedule: Schedule, params: Mapping[str, float] | None) -> dict[str, float]:
    """The schedule's parameter values: defaults overridden by ``params`` (checked)."""
    values = dict(schedule.params)
    for key, value in (params or {}).items():
        if key not in values:
            known = ", ".join(values) or "none"
            raise BindError(schedule.name, f"unknown parameter {key!r} (declared: {known})")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BindError(schedule.name, f"parameter {key!r} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise BindError(schedule.name, f"parameter {key!r} must be finite, got {value!r}")
        values[key] = value
    return values


def bind(schedule: Schedule, params: Mapping[str, float] | None = None) -> Bound:
    """Evaluate every field of ``schedule`` for ``params`` (defaults where missing) and check it.

    The name ``lr`` is in scope of every field (it is how ``initial_learning_rate`` defaults to
    the schedule's base rate).
    """
    env = resolve_params(schedule, params)
    lr = _number(schedule.lr, env, f"{schedule.path}.lr")
    if not lr > 0:
        raise BindError(f"{schedule.path}.lr", f"{lr!r} is not greater than 0")
    return _bind_node(schedule.node, {**env, "lr": lr}, lr)


def _bind_node(node: Node, env: Mapping[str, float], lr: float) -> Bound:
    kind = node.spec_kind
    values: dict[str, Any] = {}
    for param in kind.params:
        if param.type is T.NODES:  # children live in node.children
            continue
        raw = node.arg(param.name)
        where = f"{node.path}.{param.name}"
        if (
            raw is None
            or param.type in (T.BOOLEAN, T.CHOICE, T.STRING)
            or param.type in (T.EXPR_T, T.EXPR_X)
        ):
            values[param.name] = raw
        elif param.type in (T.INT_LIST, T.NUMBER_LIST):
            integer = param.type is T.INT_LIST
            values[param.name] = tuple(
                _checked(param, item, env, f"{where}[{i}]", integer) for i, item in enumerate(raw)
            )
        else:
            values[param.name] = _checked(param, raw, env, where, param.type is T.INTEGER)
    _cross_checks(kind, values, node)
    children = tuple(_bind_node(child, env, lr) for child in node.children)
    return Bound(
        node.kind, MappingProxyType(values), children, lr, MappingProxyType(dict(env)), node.path
    )


def _checked(
    param: Any, raw: ex.Expr, env: Mapping[str, float], where: str, integer: bool
) -> float | int:
    value = _number(raw, env, where)
    if integer:
        if not float(value).is_integer():
            raise BindError(where, f"must be an integer, got {value!r}{_from(raw)}")
        if abs(value) > MAX_INT:  # 1e308 is integral, and no step count
            raise BindError(
                where, f"{value!r} is too large: integers are limited to 2**53{_from(raw)}"
            )
        value = int(value)
    problem = param.violation(value)
    if problem:
        raise BindError(where, f"{problem}{_from(raw)}")
    return value


def _number(raw: ex.Expr, env: Mapping[str, float], where: str) -> float:
    if isinstance(raw, ex.Num):
        return raw.value
    value = ex.evaluate_scalar(raw, env)
    if not math.isfinite(value):
        raise BindError(where, f"{ex.to_source(raw)} is not finite ({value!r}){_from(raw)}")
    return value


def _from(raw: ex.Expr) -> str:
    return "" if isinstance(raw, ex.Num) else f" (from {ex.to_source(raw)})"


def _cross_checks(kind: Kind, values: Mapping[str, Any], node: Node) -> None:
    """The registry's cross-field checks on the bound values (the loader asks the same checks
    about a file's literals)."""

    def value(name: str) -> Any:
        return node.children if kind.param_map[name].type is T.NODES else values[name]

    for check in kind.checks:
        violation = check.violation(value)
        if violation is not None:
            raise BindError(violation.path(node.path), violation.message)


def one_cycle_total_steps(bound: Bound) -> int:
    """OneCycleLR's cycle length: ``total_steps``, or ``epochs * steps_per_epoch``."""
    total = bound["total_steps"]
    return int(total) if total is not None else int(bound["epochs"] * bound["steps_per_epoch"])


# --- construction -------------------------------------------------------------------------------


def make_node(
    kind: str,
    *,
    path: str = "",
    description: str | None = None,
    param_names: frozenset[str] = frozenset(),
    **fields: Any,
) -> Node:
    """Build a :class:`Node` from Python values, filling defaults from the registry.

    Numbers become ``Num``; strings in numeric fields and in expression fields are parsed with
    :func:`lrgen.expr.parse` over ``param_names`` (raising :class:`lrgen.expr.ExprError`); child
    nodes go in ``schedulers`` as :class:`Node` objects. ``Ref`` defaults become the referenced
    field's expression (``Ref("lr")`` becomes the name ``lr``, bound by :func:`bind`). Unknown or
    missing required fields raise ``ValueError`` (the loader reports them with positions first).
    """
    spec_kind = KIND_MAP[kind]
    unknown = set(fields) - set(spec_kind.param_map)
    if unknown:
        raise ValueError(f"{kind} has no parameter(s) {', '.join(sorted(unknown))}")
    scope = frozenset(param_names)
    args: list[tuple[str, Value]] = []
    children: tuple[Node, ...] = ()
    converted: dict[str, Value] = {}
    for param in spec_kind.params:
        if param.name in fields:
            raw = fields[param.name]
        elif param.required:
            raise ValueError(f"{kind} needs {param.name!r}")
        else:
            raw = param.default
        if param.type is T.NODES:
            children = tuple(raw)
            continue
        if isinstance(raw, Ref):
            value: Value = ex.Name("lr") if raw.field == "lr" else converted[raw.field]
        else:
            value = convert_field(param.type, raw, scope)
        converted[param.name] = value
        args.append((param.name, value))
    return Node(kind, tuple(args), children, description, path)


def convert_field(type_: T, raw: Any, names: frozenset[str]) -> Value:
    """One field's Python value -> its IR value (expressions parsed over ``names``)."""
    if raw is None or type_ in (T.BOOLEAN, T.CHOICE, T.STRING):
        return raw
    if type_ is T.EXPR_T:
        return (
            ex.parse(str(raw), names | {"t", "step", "epoch"})
            if isinstance(raw, str)
            else ex.Num(raw)
        )
    if type_ is T.EXPR_X:
        return ex.parse(str(raw), names | {"x"}) if isinstance(raw, str) else ex.Num(raw)
    if type_ in (T.INT_LIST, T.NUMBER_LIST):
        return tuple(convert_field(T.NUMBER, item, names) for item in raw)
    if isinstance(raw, str):
        return ex.parse(raw, names | {"lr"})
    return ex.Num(raw)
