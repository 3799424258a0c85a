"""One kind, one place: every per-kind table covers exactly the kinds of the registry.

Adding a kind takes its registry entry in lrgen/kinds.py (fields, formula, length, warmup,
horizon, momentum, docs example), a reference definition (``@defines`` in lrgen/reference.py)
and a lowering (``@lowers`` in lrgen/lower.py); the docs page, the lint, the test strategies
(derived from the registry where a kind has no hand-written ``@leaf`` in tests/strategies.py)
and the framework equivalents (read from ``origin``, tests/frameworks.py) follow the registry.
Forgetting any of them fails a test here.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from lrgen import lint, lower, reference
from lrgen.kinds import KIND_MAP, KINDS, DecayEnd

ROOT = Path(__file__).resolve().parents[1]
ALL = {k.name for k in KINDS}
CLOSED_FORM = {k.name for k in KINDS if not k.metric_driven}
MOMENTUM = {k.name for k in KINDS if k.cycles_momentum}
#: Kinds whose example has no length of its own: the base rate, and an expression without params.
NO_LENGTH = {"Constant", "LambdaLR"}


def _gen_kinds() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_kinds", ROOT / "docs" / "gen_kinds.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _difference(table: object, expected: set[str]) -> tuple[list[str], list[str]]:
    """(kinds the table misses, names it has that are no kind)."""
    names = set(table)  # type: ignore[call-overload]
    return sorted(expected - names), sorted(names - expected)


def test_reference_defines_every_kind() -> None:
    assert _difference(reference.DEFINITIONS, ALL) == ([], [])


def test_lowering_covers_every_closed_form_kind() -> None:
    assert _difference(lower.LOWERINGS, CLOSED_FORM) == ([], [])


def test_momentum_tables_follow_the_registry() -> None:
    assert _difference(reference.MOMENTUM_DEFINITIONS, MOMENTUM) == ([], [])
    assert _difference(lower.MOMENTUM, MOMENTUM) == ([], [])
    for name in MOMENTUM:
        assert {"cycle_momentum", "base_momentum", "max_momentum"} <= set(KIND_MAP[name].param_map)


#: Nodes of each kind drawn through each strategy.
DRAWS = 10


def _draw(root: Callable[[Any], Any]) -> list[Any]:
    """DRAWS cases of :func:`tests.strategies.cases` with ``root`` (Hypothesis fails the run if
    the strategy rejects too many draws to give them)."""
    from hypothesis import Phase, given, settings

    from tests.strategies import cases

    drawn: list[Any] = []

    @settings(
        max_examples=DRAWS, phases=[Phase.generate], database=None, deadline=None, derandomize=True
    )
    @given(case=cases(root))
    def draw(case: Any) -> None:
        drawn.append(case)

    draw()
    return drawn


def test_strategies_draw_from_every_kind() -> None:
    """The leaves and composites the property tests draw from are the registry's closed-form
    kinds, each through its hand-written ``@leaf`` if it has one, else the derived strategy."""
    from tests.strategies import COMPOSITE_KINDS, LEAF_KINDS, LEAVES

    assert _difference([*LEAF_KINDS, *COMPOSITE_KINDS], CLOSED_FORM) == ([], [])
    assert set(LEAVES) <= set(LEAF_KINDS)


@pytest.mark.parametrize("name", sorted(CLOSED_FORM))
def test_strategies_cover_every_kind(name: str) -> None:
    """DRAWS nodes of each closed-form kind through the strategy the property tests use
    (:func:`one_kind`), and DRAWS more through the strategy derived from the registry alone
    (:func:`derived_kind`), also for the kinds that have a hand-written one: it draws every kind
    of the registry, which is the evidence that it draws a new one. A derived node is valid
    (the loader accepts it), its reference is finite, >= 0 and not all 0, and the draws vary."""
    from tests.strategies import derived_kind, one_kind, steps_for

    assert [c.bound.kind for c in _draw(one_kind(name))] == [name] * DRAWS
    drawn = _draw(derived_kind(name))
    assert [c.bound.kind for c in drawn] == [name] * DRAWS
    for case in drawn:
        values = reference.evaluate(case.schedule, steps_for(case.bound))
        assert np.all(np.isfinite(values)) and np.all(values >= 0) and np.any(values > 0)
    if KIND_MAP[name].params:
        assert len({c.schedule.node for c in drawn}) > 1


def test_the_derived_strategy_keeps_only_valid_meaningful_nodes() -> None:
    """What :func:`derived_problem` refuses, and where: the registry's bounds and cross-field
    checks (at the field), then a reference that is not finite, negative or all 0."""
    from tests.strategies import Ctx, Pool, derived_problem

    c = Ctx(Pool(), 0.1)
    assert derived_problem("StepLR", {"step_size": 3, "gamma": 0.5}, c) is None
    assert derived_problem("StepLR", {"step_size": 0}, c) == (
        "step_size",
        "0 is less than the minimum of 1",
    )
    assert derived_problem("WarmupWithDecay", {"warmup_steps": 10, "total_steps": 5}, c) == (
        "warmup_steps",
        "10 must be less than total_steps (5)",
    )
    assert derived_problem("StepLR", {"step_size": 1, "gamma": 2.0}, c) == (
        "",
        "a reference value is not finite",
    )
    assert derived_problem("PiecewiseConstantDecay", {"boundaries": [3], "values": [0, 0]}, c) == (
        "",
        "the reference is 0 at every step (a comparison of zeros only)",
    )
    assert derived_problem("LambdaLR", {"lr_lambda": "t - 5"}, c) == (
        "",
        "a reference value is negative",
    )


def test_a_large_mode_matrix_keeps_every_pair_of_values() -> None:
    """A kind with more combinations than MAX_FULL_MATRIX is covered by a subset that still
    holds every pair of values of two axes (greedy: 11 of 54 here; 9 is the least possible)."""
    import itertools

    from tests.strategies import _pairwise

    combos = list(itertools.product((0, 1, 2), (0, 1, 2), (0, 1, 2), (False, True)))

    def pairs(chosen: list[tuple[Any, ...]]) -> set[tuple[Any, ...]]:
        return {
            (i, a, j, b)
            for combo in chosen
            for (i, a), (j, b) in itertools.combinations(enumerate(combo), 2)
        }

    chosen = _pairwise(combos)
    assert pairs(chosen) == pairs(combos)
    assert len(chosen) == 11 and chosen[:2] == [(0, 0, 0, False), (1, 1, 1, True)]


def test_framework_equivalents_follow_the_registry() -> None:
    """Every kind that mirrors a framework (``origin``) is compared with it: TORCH_KINDS and
    KERAS_KINDS are the kinds whose origin is a class of a module in FRAMEWORKS; any other origin
    is in NOT_BUILT, with why; and each class takes every field of its kind as a keyword
    argument, which is what torch_builtin and keras_builtin pass it."""
    from tests.frameworks import FRAMEWORKS, KERAS_KINDS, NOT_BUILT, TORCH_KINDS, framework

    def mirroring(module: str) -> set[str]:
        return {k.name for k in KINDS if k.origin.rpartition(".")[0] == module}

    assert _difference(TORCH_KINDS, mirroring("torch.optim.lr_scheduler") & CLOSED_FORM) == ([], [])
    assert _difference(KERAS_KINDS, mirroring("keras.optimizers.schedules")) == ([], [])
    not_built = [
        f"{k.name}: its origin {k.origin!r} is not a class of a module tests/frameworks.py "
        f"builds generically ({', '.join(FRAMEWORKS)}), so no test compares the kind with it: "
        "give tests/frameworks.py a builder for it, or add the origin to NOT_BUILT with why"
        for k in KINDS
        if k.origin and framework(k) is None and k.origin not in NOT_BUILT
    ]
    assert not_built == []
    assert set(NOT_BUILT) <= {k.origin for k in KINDS}, "NOT_BUILT names an origin no kind has"
    for kind in KINDS:  # a torch or Keras family without its framework's origin is not compared
        if kind.family in FRAMEWORKS.values():
            assert framework(kind) == kind.family, (kind.name, kind.origin)


def test_framework_classes_take_the_fields_of_their_kinds() -> None:
    """The generic builders pass a torch class the optimizer and each field by name, and a Keras
    class each field by name: a mirrored kind whose field is named otherwise fails here."""
    pytest.importorskip("torch")
    pytest.importorskip("keras")
    from tests.frameworks import KERAS_KINDS, TORCH_KINDS, origin_object

    problems = []
    for name in sorted(TORCH_KINDS | KERAS_KINDS):
        kind = KIND_MAP[name]
        accepted = set(inspect.signature(origin_object(kind)).parameters)
        fields = {p.name for p in kind.params}
        if kind.name in TORCH_KINDS and "optimizer" not in accepted:
            problems.append(f"{name}: {kind.origin} takes no optimizer")
        if fields - accepted:
            missing = ", ".join(sorted(fields - accepted))
            problems.append(f"{name}: {kind.origin} has no argument {missing}")
    assert problems == []


def test_docs_show_every_kind_with_its_formula_and_example() -> None:
    gen = _gen_kinds()
    text = gen.render()
    for kind in KINDS:
        section = text.split(f"\n## {kind.name}\n", 1)[1].split("\n## ", 1)[0]
        assert kind.formula.strip()
        assert f"lr(t) = {kind.formula}\n" in section
        assert f"![{kind.name} example](img/kinds/{kind.name}.png)" in section
        t, values, _ = gen.example_curve(kind)
        assert len(t) == kind.example.steps  # type: ignore[union-attr]
        assert np.all(np.isfinite(values)) and np.max(values) > 0


@pytest.mark.parametrize("name", sorted(ALL))
def test_every_kind_sets_the_default_horizon(name: str) -> None:
    """plot and table show 1.1 times the node's length; only a kind that has none falls back."""
    schedule = _gen_kinds().example_schedule(KIND_MAP[name])
    length = lint.natural_length(lint.ir.bind(schedule))
    steps = lint.default_steps(schedule)
    if name in NO_LENGTH:
        assert (length, steps) == (None, lint.FALLBACK_STEPS)
    else:
        assert length is not None and length > 0
        assert steps == -(-11 * length // 10)


#: The warmups and decay ends of the registry examples, as the lint and the plots see them.
WARMUPS = {
    "ConstantLR": (20, "total_iters"),
    "LinearLR": (40, "total_iters"),
    "OneCycleLR": (29.0, "pct_start"),
    "CosineDecay": (20, "warmup_steps"),
    "LinearWarmup": (30, "warmup_steps"),
    "ExponentialWarmup": (30, "warmup_steps"),
    "CosineWarmup": (30, "warmup_steps"),
    "WarmupWithDecay": (10, "warmup_steps"),
    "InverseSqrt": (10, "warmup_steps"),
    "WarmupStableDecay": (10, "warmup_steps"),
}
HORIZONS = {
    "PolynomialLR": DecayEnd("total_iters", "total_iters", 80, 80),
    "CosineAnnealingLR": DecayEnd("T_max", "T_max", 80, 80),
    "OneCycleLR": DecayEnd("total_steps", "total_steps", 99, 100),
    "PolynomialDecay": None,  # cycle: true restarts on purpose
    "CosineDecay": DecayEnd("decay_steps", "warmup_steps + decay_steps", 100, 100),
    "WarmupWithDecay": DecayEnd("total_steps", "total_steps", 80, 80),
    "WarmupStableDecay": DecayEnd(
        "decay_steps", "warmup_steps + stable_steps + decay_steps", 80, 80
    ),
}


#: The kinds whose example's warmup and decay end are pinned above (None where a kind has no
#: entry); a kind added since is held to the shape of the answer instead (a new kind needs no
#: entry here).
PINNED = frozenset(
    {
        *WARMUPS,
        *HORIZONS,
        *("StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingWarmRestarts", "CyclicLR"),
        *("LambdaLR", "SequentialLR", "ChainedScheduler", "ReduceLROnPlateau"),
        *("ExponentialDecay", "PiecewiseConstantDecay", "InverseTimeDecay"),
        *("CosineDecayRestarts", "Constant"),
    }
)


@pytest.mark.parametrize("name", sorted(ALL))
def test_warmup_and_decay_end_of_each_example(name: str) -> None:
    kind = KIND_MAP[name]
    bound = lint.ir.bind(_gen_kinds().example_schedule(kind))
    warmup = lint.warmup_length(bound)
    horizon = kind.horizon(bound) if kind.horizon else None
    assert bool(kind.after_horizon) == (kind.horizon is not None)
    if name in PINNED:
        assert warmup == WARMUPS.get(name)
        assert horizon == HORIZONS.get(name)
        return
    length = lint.natural_length(bound)
    if warmup is not None:  # ticks within the example's length, set by a field of the kind
        ticks, field = warmup
        assert field in kind.param_map and 0 < ticks <= (length or ticks)
    if horizon is not None:
        assert horizon.field in kind.param_map and 0 <= horizon.end <= horizon.value


def test_a_kind_without_its_length_or_example_is_refused() -> None:
    step = KIND_MAP["StepLR"]
    with pytest.raises(TypeError, match=r"^kind 'StepLR' has no length \(see lrgen"):
        dataclasses.replace(step, length=None)
    with pytest.raises(TypeError, match=r"^kind 'StepLR' has no example \(see lrgen"):
        dataclasses.replace(step, example=None)
    with pytest.raises(TypeError, match=r"^kind 'StepLR': horizon and after_horizon go together"):
        dataclasses.replace(step, after_horizon="the rate stays flat")


def test_a_kind_is_defined_once() -> None:
    with pytest.raises(ValueError, match=r"^kind 'StepLR' is defined twice$"):
        reference.defines("StepLR")(lambda b, t: t)


# --- commands: one place, one shape -----------------------------------------------------------


def test_every_command_is_a_module_of_lrgen_commands() -> None:
    import lrgen.commands
    from lrgen.cli import COMMANDS, command_module

    folder = Path(lrgen.commands.__file__).parent
    modules = {p.stem for p in folder.glob("*.py") if p.stem != "__init__"}
    assert _difference(COMMANDS, modules) == ([], [])
    for name in COMMANDS:
        module = command_module(name)
        assert module.__name__ == f"lrgen.commands.{name}"
        assert callable(module.add_arguments) and callable(module.run)


def test_commands_do_not_import_the_cli() -> None:
    """lrgen.cli imports the commands; a command importing lrgen.cli back would be a cycle."""
    import ast

    import lrgen.commands

    folder = Path(lrgen.commands.__file__).parent
    importers = []
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            importers += [f"{path.name}: {n}" for n in names if n.startswith("lrgen.cli")]
    assert importers == []


# --- printers: a tensor target implements every operation ---------------------------------------


def test_a_tensor_printer_missing_an_operation_is_refused_when_defined() -> None:
    from lrgen.printers import TENSOR_OPERATIONS, KerasPrinter, _TensorPrinter

    with pytest.raises(
        TypeError, match=r"^Partial: a tensor printer must implement count_le, take$"
    ):

        class Partial(_TensorPrinter):
            target = "partial"

            def to_float(self, node):  # type: ignore[no-untyped-def]
                return ""

            def min_max(self, node):  # type: ignore[no-untyped-def]
                return ""

            def elementwise(self, node):  # type: ignore[no-untyped-def]
                return ""

            def where(self, node):  # type: ignore[no-untyped-def]
                return "", 0

    class Numpyish(KerasPrinter):  # a keras.ops-like module inherits all of them
        target = "numpyish"
        ops = "np"

    assert all(callable(getattr(Numpyish, name)) for name in TENSOR_OPERATIONS)
