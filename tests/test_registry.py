"""One kind, one place: every per-kind table covers exactly the kinds of the registry.

Adding a kind takes its registry entry in lrgen/kinds.py (fields, formula, length, warmup,
horizon, momentum, docs example), a reference definition (``@defines`` in lrgen/reference.py)
and a lowering (``@lowers`` in lrgen/lower.py); the docs page, the framework equivalents and the
lint read the registry. A new leaf kind also needs a Hypothesis strategy (``@leaf`` in
tests/strategies.py). Forgetting any of them fails a test here.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path
from types import ModuleType

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


def test_strategies_cover_every_kind() -> None:
    from tests.strategies import COMPOSITE_KINDS, LEAVES

    assert _difference([*LEAVES, *COMPOSITE_KINDS], CLOSED_FORM) == ([], [])


def test_framework_equivalents_follow_the_registry() -> None:
    from tests.frameworks import KERAS_KINDS, TORCH_KINDS

    assert _difference(TORCH_KINDS, {k for k in CLOSED_FORM if KIND_MAP[k].family == "torch"}) == (
        [],
        [],
    )
    assert _difference(KERAS_KINDS, {k.name for k in KINDS if k.family == "keras"}) == ([], [])
    for kind in KINDS:
        if kind.family == "torch":
            assert kind.origin == f"torch.optim.lr_scheduler.{kind.name}"
        elif kind.family == "keras":
            assert kind.origin == f"keras.optimizers.schedules.{kind.name}"


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


@pytest.mark.parametrize("name", sorted(ALL))
def test_warmup_and_decay_end_of_each_example(name: str) -> None:
    kind = KIND_MAP[name]
    bound = lint.ir.bind(_gen_kinds().example_schedule(kind))
    assert lint.warmup_length(bound) == WARMUPS.get(name)
    assert (kind.horizon(bound) if kind.horizon else None) == HORIZONS.get(name)
    assert bool(kind.after_horizon) == (name in HORIZONS)


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
