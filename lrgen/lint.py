"""Warnings about valid specs that are probably not what their author meant, and the shape analysis
(training length, horizons, warmup ends, milestones) that the lint and the plotting tools share.

:func:`lint_spec` returns :class:`~lrgen.errors.Problem` objects with ``severity="warning"``, each
positioned at the node or field responsible and carrying its code (printed ``warning[CODE]:``;
the codes are :data:`lrgen.kinds.LINT_CODES`). A schedule's ``lint: {ignore: [CODE, ...]}``
silences those codes for that schedule (:func:`drop_ignored`, which ``lrgen build`` applies to its
own warnings too). It needs NumPy and the reference evaluator only — never torch or keras. The
checks:

* ``zero-start`` — the learning rate at step 0 is 0 (the first update does nothing), or at most
  ``1e-12`` of the peak; Keras's canonical warmup (a ``CosineDecay`` from 0 to a
  ``warmup_target``) is left alone;
* ``short-horizon`` — a cosine or polynomial decay (``T_max``, ``total_iters``, ``decay_steps``,
  ``total_steps`` ...) ends before the ticks it has to cover: the training length the schedule
  declares (the largest of its params named ``total_steps``, ``num_steps``, ``epochs`` ...), or the
  segment of the ``SequentialLR`` it sits in; past its end a ``CosineAnnealingLR`` rises again and
  the others stay flat;
* ``join-jump`` — at a ``SequentialLR`` milestone the rate changes by more than a fraction
  (default 10%) of the schedule's peak;
* ``one-cycle-epoch`` — ``OneCycleLR`` in a schedule with ``unit: epoch``;
* ``long-warmup`` — a warmup that does not end before the training (or its segment) does;
* ``unused-param`` — a param that no field uses (length params declare the training length);
* ``epoch-unit`` — ``unit: epoch`` with params named in steps, or over 10,000 epochs long;
* ``global-milestones`` — a ``MultiStepLR`` milestone past the end of its ``SequentialLR``
  segment (counted from the start of training rather than of the segment);
* ``not-finite`` / ``negative`` — the first tick of the default horizon where the rate is
  nan/inf, or below 0;
* ``keras-momentum`` — momentum cycling the generated Keras schedule cannot follow.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from lrgen import expr as ex
from lrgen import ir
from lrgen.errors import Problem
from lrgen.kinds import KIND_MAP, ZeroNeeds

#: A jump at a SequentialLR join larger than this fraction of the peak is reported.
JUMP_FRACTION = 0.1
#: A start at or below this fraction of the peak counts as a zero start.
ZERO_START_FRACTION = 1e-12
#: The default plotting/tabulating horizon is 1.1 times the schedule's length (rounded up) ...
HORIZON_FACTOR = Fraction(11, 10)
#: ... or this many ticks when the schedule has no length at all (e.g. ``Constant``).
FALLBACK_STEPS = 1000
#: Evaluations used to find a schedule's peak are capped at this many (evenly spaced) steps.
_MAX_PEAK_SAMPLES = 200_001

_PREFIX = r"(?:(?:total|num|n|max|train|training)_)?"
#: Params that declare how long training runs, per the schedule's unit.
LENGTH_PARAMS = {
    "step": re.compile(rf"^{_PREFIX}(?:steps|iters|iterations)$"),
    "epoch": re.compile(rf"^{_PREFIX}epochs$"),
}


# --- shape analysis -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Length:
    """A number of ticks and where it comes from, e.g. ``5000`` from ``"total_steps = 5000"``."""

    ticks: int
    source: str


@dataclass(frozen=True, slots=True)
class Mark:
    """A point worth marking on a plot: a SequentialLR join or the end of a warmup."""

    t: float
    label: str
    kind: str  # "milestone" | "warmup" | "decay"
    path: str


@dataclass(frozen=True, slots=True)
class _Place:
    """A node in the schedule tree with where its own clock starts and how many ticks it runs."""

    node: ir.Node
    bound: ir.Bound
    offset: int
    available: Length | None  # None: unbounded (no declared training length)
    last: bool  # True unless a later SequentialLR segment takes over after ``available``


def declared_length(
    schedule: ir.Schedule, params: Mapping[str, float] | None = None
) -> Length | None:
    """The training length ``schedule`` declares through its params, in its own unit.

    The largest of the params named like ``total_steps``/``num_steps``/``max_iters`` (unit step) or
    ``epochs``/``num_epochs`` (unit epoch); for unit step, ``epochs * steps_per_epoch`` when both
    are declared. None when the schedule declares no length.
    """
    values = ir.resolve_params(schedule, params)
    pattern = LENGTH_PARAMS.get(schedule.unit, LENGTH_PARAMS["step"])
    found = [
        Length(int(v), f"{k} = {_ticks(v)}")
        for k, v in values.items()
        if pattern.match(k) and v >= 1
    ]
    if schedule.unit == "step" and "epochs" in values and "steps_per_epoch" in values:
        total = values["epochs"] * values["steps_per_epoch"]
        found.append(Length(int(total), f"epochs * steps_per_epoch = {_ticks(total)}"))
    return max(found, key=lambda length: length.ticks, default=None)


def natural_length(bound: ir.Bound) -> int | None:
    """Ticks after which the node's shape has been fully shown (its last change, or a few periods
    of a periodic or open-ended schedule); None when the node has no length (``Constant``).
    Each kind's registry entry says how (:data:`lrgen.kinds.LengthFn`).
    """
    length = KIND_MAP[bound.kind].length
    assert length is not None  # the registry refuses a kind without one
    return length(bound, natural_length)


def default_steps(schedule: ir.Schedule, params: Mapping[str, float] | None = None) -> int:
    """The number of ticks the tools show when ``--steps`` is not given.

    ``ceil(1.1 * max(declared length, natural length))``, or :data:`FALLBACK_STEPS` when the
    schedule has neither (see :func:`declared_length` and :func:`natural_length`).
    """
    lengths = [natural_length(ir.bind(schedule, params))]
    declared = declared_length(schedule, params)
    lengths.append(declared.ticks if declared else None)
    longest = max((n for n in lengths if n), default=None)
    return math.ceil(HORIZON_FACTOR * int(longest)) if longest else FALLBACK_STEPS


def warmup_length(bound: ir.Bound) -> tuple[float, str] | None:
    """The node's own warmup: (ticks, the field that sets it), or None if it has none."""
    return KIND_MAP[bound.kind].warmup(bound)


def marks(schedule: ir.Schedule, params: Mapping[str, float] | None = None) -> list[Mark]:
    """SequentialLR joins, warmup ends and WarmupStableDecay's decay start, in global ticks.

    A child's marks past the end of its SequentialLR segment are dropped (never reached); a
    warmup that ends exactly where its segment does is kept.
    """
    found: list[Mark] = []
    for place in _places(schedule.node, ir.bind(schedule, params), None):
        bound, offset = place.bound, place.offset
        end = place.available.ticks if place.available and not place.last else math.inf
        kind = KIND_MAP[bound.kind]
        if kind.children == "sequential":
            for i, milestone in enumerate(bound["milestones"]):
                if milestone < end:
                    label = f"→ {bound.children[i + 1].kind}"
                    found.append(
                        Mark(
                            offset + milestone, label, "milestone", f"{bound.path}.milestones[{i}]"
                        )
                    )
        warmup = warmup_length(bound)
        if warmup and 0 < warmup[0] <= end:
            found.append(
                Mark(offset + warmup[0], "warmup end", "warmup", f"{bound.path}.{warmup[1]}")
            )
        decay = kind.decay_start(bound)
        if decay and decay[0] < end:
            found.append(
                Mark(offset + decay[0], "decay start", "decay", f"{bound.path}.{decay[1]}")
            )
    return sorted(found, key=lambda mark: mark.t)


def _places(
    node: ir.Node, bound: ir.Bound, available: Length | None, offset: int = 0, last: bool = True
) -> Iterator[_Place]:
    """Every node with its clock's offset and the ticks it runs (parents first)."""
    yield _Place(node, bound, offset, available, last)
    pairs = zip(node.children, bound.children, strict=True)
    children = KIND_MAP[bound.kind].children
    if children == "chained":
        for child_node, child in pairs:
            yield from _places(child_node, child, available, offset, last)
    elif children == "sequential":
        starts = (0, *bound["milestones"])
        for i, (child_node, child) in enumerate(pairs):
            start = starts[i]
            if available is not None and start >= available.ticks:
                break  # this child never runs
            segment: Length | None
            if i + 1 < len(starts):
                segment = Length(
                    starts[i + 1] - start,
                    f"its SequentialLR segment [{_ticks(start)}, {_ticks(starts[i + 1])})",
                )
                child_last = False
                if available is not None and starts[i + 1] >= available.ticks:
                    segment, child_last = _remaining(available, start), last
            else:
                segment = _remaining(available, start) if available is not None else None
                child_last = last
            yield from _places(child_node, child, segment, offset + start, child_last)


def _remaining(available: Length, start: int) -> Length:
    if start == 0:
        return available
    return Length(available.ticks - start, f"{available.source} less its start at t = {start}")


# --- lint ---------------------------------------------------------------------------------------

#: (node path, field or None, warning code, message)
_Finding = tuple[str, str | None, str, str]


def lint_spec(spec: ir.Spec, *, jump_fraction: float = JUMP_FRACTION) -> list[Problem]:
    """Warnings (``severity="warning"``, each with its code) about every schedule of ``spec``,
    sorted by position; a schedule's ``lint: {ignore: [...]}`` codes are left out."""
    locate = _locator(spec)
    problems: list[Problem] = []
    for schedule in spec.entries:
        for path, field, code, message in _lint_schedule(schedule, jump_fraction):
            line, column = locate(path, field)
            where = f"{path}.{field}" if field else path
            problems.append(Problem(spec.path, line, column, where, message, "warning", code))
    problems.extend(keras_momentum_warnings([spec]))
    return sorted(drop_ignored([spec], problems))


def drop_ignored(specs: Iterable[ir.Spec], problems: Iterable[Problem]) -> list[Problem]:
    """``problems`` less the warnings that their schedule's ``lint: {ignore: [...]}`` names (a
    warning belongs to the schedule whose path its own path starts with)."""
    ignored = {
        (spec.path, schedule.path): schedule.lint_ignore
        for spec in specs
        for schedule in spec.entries
        if schedule.lint_ignore
    }
    kept = []
    for problem in problems:
        if problem.severity == "warning" and problem.code:
            parts = problem.path.split(".")
            owner = ".".join(parts[:2]) if parts[0] == "schedules" else ""
            if problem.code in ignored.get((problem.file, owner), ()):
                continue
        kept.append(problem)
    return kept


def keras_momentum_warnings(specs: Iterable[ir.Spec]) -> list[Problem]:
    """Schedules whose momentum cycling the Keras target cannot generate (docs/momentum.md):
    Keras bakes SGD's momentum and Adam's beta_1 into the compiled train step."""
    warnings: list[Problem] = []
    for spec in specs:
        for schedule in spec.entries:
            node = schedule.node
            if not KIND_MAP[node.kind].cycles_momentum or not node.arg("cycle_momentum"):
                continue
            field_path = f"{node.path}.cycle_momentum"
            path = field_path if field_path in spec.positions else node.path
            warnings.append(
                spec.problem(
                    path,
                    "Keras optimizers hold momentum and beta_1 as Python floats, which a "
                    "compiled train step reads once, when it is traced: the Keras schedule cycles "
                    "the learning rate only (the torch scheduler cycles both; see "
                    "docs/momentum.md). Set cycle_momentum: false, or the schedule's lint: "
                    "{ignore: [keras-momentum]}, to silence this",
                    code="keras-momentum",
                )
            )
    return warnings


def _lint_schedule(schedule: ir.Schedule, jump_fraction: float) -> Iterator[_Finding]:
    """A finding for each warning about ``schedule``."""
    try:
        bound = ir.bind(schedule)
    except ir.BindError:
        return  # an invalid default binding is the loader's error to report, not a warning
    unit = schedule.unit
    declared = declared_length(schedule)
    places = list(_places(schedule.node, bound, declared))
    yield from _check_unused(schedule)
    yield from _check_epoch_unit(schedule, bound, declared)
    for place in places:
        yield from _check_horizon(place, unit)
        yield from _check_warmup(place, unit)
        yield from _check_global_milestones(place, unit)
        per_batch = KIND_MAP[place.bound.kind].per_batch
        if per_batch and unit == "epoch":
            yield (
                place.bound.path,
                None,
                "one-cycle-epoch",
                f"{place.bound.kind} in a schedule with unit: epoch changes the rate once per "
                f"epoch; it is meant to step once per batch ({per_batch})",
            )
    if schedule.metric_driven:
        return  # its values depend on the metric; nothing to evaluate
    from lrgen import evaluate

    grid = _horizon_grid(schedule)
    values = evaluate(schedule, grid)
    yield from _check_reals(schedule, grid, values, unit)
    finite = values[np.isfinite(values)]
    peak = float(np.max(finite)) if finite.size else math.nan
    if not peak > 0:
        return
    start = float(values[0]) if grid[0] == 0 else float(evaluate(schedule, np.array([0]))[0])
    if math.isfinite(start) and 0 <= start <= ZERO_START_FRACTION * peak:
        culprit, culprit_bound = _zero_start_node(schedule, bound, evaluate)
        if not _canonical_warmup(culprit_bound):
            yield _zero_start_finding(culprit, culprit_bound, start, peak)
    for place in places:
        if KIND_MAP[place.bound.kind].children == "sequential":
            yield from _check_joins(schedule, place, peak, jump_fraction, evaluate)


def _zero_start_finding(path: str, bound: ir.Bound, start: float, peak: float) -> _Finding:
    """A rate of exactly 0 makes the first update do nothing; a tiny positive one (a rising
    ExponentialDecay, say) only makes it small, and only a warmup is told to start higher."""
    if start == 0:
        what = "the learning rate at step 0 is 0, so the first update does nothing"
    else:
        what = (
            f"the learning rate at step 0 is {start:.3g}, {start / peak:.3g} of the peak "
            f"{peak:.3g}, so the first updates barely change the weights"
        )
    if warmup_length(bound) is not None:
        advice = f"; start the warmup above 0 (peak {peak:.3g})"
    elif start == 0:
        advice = f" (peak {peak:.3g})"
    else:
        advice = ""
    return (path, None, "zero-start", what + advice)


def _canonical_warmup(bound: ir.Bound) -> bool:
    """A kind's own warmup from 0 (Keras's: a CosineDecay from initial_learning_rate 0 up to a
    warmup_target): a warmup that runs, from the 0 that the kind's ZeroNeeds check allows only
    for it."""
    kind = KIND_MAP[bound.kind]
    warmup = kind.warmup(bound)
    return (
        warmup is not None
        and warmup[0] > 0
        and any(
            isinstance(check, ZeroNeeds)
            and bound[check.field] == 0
            and bound[check.needs] is not None
            for check in kind.checks
        )
    )


def _check_unused(schedule: ir.Schedule) -> Iterator[_Finding]:
    """Params that no expression of the schedule (its lr, a field of a node) reads."""
    if not schedule.params:
        return
    used = set(ex.names_in(schedule.lr)) if isinstance(schedule.lr, ex.Expr) else set()
    stack = [schedule.node]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        for _, value in node.args:
            for item in value if isinstance(value, tuple) else (value,):
                if isinstance(item, ex.Expr):
                    used |= ex.names_in(item)
    lengths = LENGTH_PARAMS.get(schedule.unit, LENGTH_PARAMS["step"])
    for name, _ in schedule.params:
        if name in used or lengths.match(name):
            continue  # a length param declares the training length (the lint and plots read it)
        if name in ("epochs", "steps_per_epoch") and {"epochs", "steps_per_epoch"} <= {
            n for n, _ in schedule.params
        }:
            continue  # epochs * steps_per_epoch is the training length in steps
        if name == "steps_per_epoch" and schedule.unit == "epoch":
            continue  # the generated Keras schedule divides the optimizer step by it
        yield (
            f"{schedule.path}.params",
            name,
            "unused-param",
            f"param {name!r} is declared but no field of the schedule uses it: the generated "
            "classes take it as a keyword argument that changes nothing",
        )


#: With unit: epoch, a schedule longer than this many epochs was most likely sized in steps.
MAX_EPOCHS = 10_000
_STEP_NAME = re.compile(r"(?:^|_)(?:steps|iters|iterations|step|iter)$")


def _check_epoch_unit(
    schedule: ir.Schedule, bound: ir.Bound, declared: Length | None
) -> Iterator[_Finding]:
    """``unit: epoch`` with params named in steps, or with a length no training has in epochs."""
    if schedule.unit != "epoch":
        return
    named = False
    for name, _ in schedule.params:
        if _STEP_NAME.search(name) and name != "steps_per_epoch":
            named = True
            yield (
                f"{schedule.path}.params",
                name,
                "epoch-unit",
                f"param {name!r} is named in steps but the schedule has unit: epoch, so every "
                "field it sets counts epochs (use unit: step, or count it in epochs)",
            )
    length = natural_length(bound)
    if not named and length is not None and length > MAX_EPOCHS:
        yield (
            schedule.path,
            "unit",
            "epoch-unit",
            f"{bound.kind} runs {_count(length, 'epoch')} with unit: epoch; its fields look "
            "like counts of steps (use unit: step)",
        )


def _check_global_milestones(place: _Place, unit: str) -> Iterator[_Finding]:
    """A MultiStepLR child of a SequentialLR counts its milestones from its segment's start; one
    at or past the segment's end is never reached and was most likely written in global ticks."""
    bound, available = place.bound, place.available
    field = KIND_MAP[bound.kind].local_milestones
    if not field or available is None or (place.offset == 0 and place.last):
        return
    for i, milestone in enumerate(bound[field]):
        if milestone >= available.ticks:
            local = milestone - place.offset
            hint = (
                f"; counted from the segment's start, global {unit} {_ticks(milestone)} is "
                f"{unit} {_ticks(local)}"
                if place.offset and 0 < local < available.ticks
                else ""
            )
            yield (
                bound.path,
                f"{field}[{i}]",
                "global-milestones",
                f"{bound.kind} milestone {_ticks(milestone)} is never reached: the child's clock "
                f"starts at 0 at {unit} {_ticks(place.offset)} and runs "
                f"{_count(available.ticks, unit)} ({available.source}){hint}",
            )
            return


def _check_reals(
    schedule: ir.Schedule, grid: np.ndarray, values: np.ndarray, unit: str
) -> Iterator[_Finding]:
    """The first tick of the horizon where the rate is nan/inf, and where it is negative."""
    horizon = f"on the horizon of {_count(int(grid[-1]) + 1, unit)}"
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        i = int(bad[0])
        yield (
            schedule.node.path,
            None,
            "not-finite",
            f"the learning rate is {values[i]} at {unit} {int(grid[i])} (the first {horizon} "
            "where it is not a finite number)",
        )
    negative = np.flatnonzero(values < 0)
    if negative.size:
        i = int(negative[0])
        yield (
            schedule.node.path,
            None,
            "negative",
            f"the learning rate is {values[i]:.3g} at {unit} {int(grid[i])} (the first "
            f"{horizon} where it is negative): the optimizer climbs the loss from there",
        )


def _check_horizon(place: _Place, unit: str) -> Iterator[_Finding]:
    bound, available = place.bound, place.available
    kind = KIND_MAP[bound.kind]
    decay = kind.horizon(bound) if kind.horizon is not None and available is not None else None
    if decay is None or available is None:
        return
    # the node runs local ticks 0 .. available-1; reaching its end at the last tick is the intent
    extra = available.ticks - 1 - decay.end
    if extra > 0:
        yield (
            bound.path,
            decay.field,
            "short-horizon",
            f"{bound.kind} ends at {unit} {_ticks(decay.end)} ({decay.shown} = "
            f"{_ticks(decay.value)}) but runs for {_count(available.ticks, unit)} "
            f"({available.source}): for the last {_count(extra, unit)} {kind.after_horizon}",
        )


def _check_warmup(place: _Place, unit: str) -> Iterator[_Finding]:
    warmup = warmup_length(place.bound)
    if warmup is None or place.available is None:
        return
    ticks, field = warmup
    # a warmup ending exactly at a SequentialLR milestone hands over to the next child: fine
    too_long = ticks >= place.available.ticks if place.last else ticks > place.available.ticks
    if too_long:
        yield (
            place.bound.path,
            field,
            "long-warmup",
            f"the warmup of {place.bound.kind} lasts {_count(ticks, unit)}, "
            f"{'as long as' if ticks == place.available.ticks else 'longer than'} the "
            f"{_count(place.available.ticks, unit)} it runs ({place.available.source}): "
            "the rate never gets past the warmup",
        )


def _check_joins(
    schedule: ir.Schedule, place: _Place, peak: float, fraction: float, evaluate
) -> Iterator[_Finding]:
    """Compare, at each join, where the child that hands over was heading (its value continued
    to the milestone) with where the next child starts: a warmup that reaches its target exactly
    at the milestone is continuous even though its last step is one increment below."""
    bound = place.bound
    end = place.available.ticks if place.available is not None else math.inf
    node = place.node
    starts = (0, *bound["milestones"])
    for i, milestone in enumerate(bound["milestones"]):
        if milestone >= end:
            break
        left = dataclasses.replace(schedule, node=node.children[i])
        right = dataclasses.replace(schedule, node=node.children[i + 1])
        heading = float(evaluate(left, np.array([milestone - starts[i]]))[0])
        after = float(evaluate(right, np.array([0]))[0])
        jump = abs(after - heading)
        if jump > fraction * peak:
            t = place.offset + milestone
            yield (
                bound.path,
                f"milestones[{i}]",
                "join-jump",
                f"the learning rate jumps at the join at t = {_ticks(t)}: "
                f"{node.children[i + 1].kind} starts at {after:.3g} where "
                f"{node.children[i].kind} was heading to {heading:.3g}, a change of "
                f"{jump / peak:.0%} of the peak {peak:.3g} (more than {fraction:.0%})",
            )


def _horizon_grid(schedule: ir.Schedule) -> np.ndarray:
    """The ticks the lint evaluates: all of the default horizon, or evenly spaced samples."""
    steps = default_steps(schedule)
    if steps <= _MAX_PEAK_SAMPLES:
        return np.arange(steps)
    # Spacing > 1, so the truncated samples are distinct and increasing (np.unique
    # would only cost time: ~0.1 s per call with NumPy 2's hash-based unique).
    return np.linspace(0, steps - 1, _MAX_PEAK_SAMPLES).astype(np.int64)


def _zero_start_node(schedule: ir.Schedule, bound: ir.Bound, evaluate) -> tuple[str, ir.Bound]:
    """The path and binding of the node that makes the rate 0 at step 0 (the first child of a
    SequentialLR, the zero factor of a ChainedScheduler), descending as far as it can."""
    node, path = schedule.node, bound.path
    while children := KIND_MAP[node.kind].children:
        if children == "sequential":
            node, bound = node.children[0], bound.children[0]
        else:
            zeros = [
                (child, child_bound)
                for child, child_bound in zip(node.children, bound.children, strict=True)
                if float(evaluate(dataclasses.replace(schedule, node=child), np.array([0]))[0])
                == 0.0
            ]
            if not zeros:
                break
            node, bound = zeros[0]
        path = node.path
    return path, bound


def _count(value: float, unit: str) -> str:
    """``3999 steps``, ``1 epoch``."""
    return f"{_ticks(value)} {unit}{'' if value == 1 else 's'}"


def _ticks(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _locator(spec: ir.Spec):
    """``(path, field) -> (line, column)`` from the loader's position map; 1:1 without one."""
    positions = getattr(spec, "positions", None) or {}

    def locate(path: str, field: str | None) -> tuple[int, int]:
        for key in (f"{path}.{field}", path) if field else (path,):
            if key in positions:
                return positions[key]
        return 1, 1

    return locate
