"""The registry's cross-field checks are written once (``lrgen.kinds``: each check's
``violation``, and the ``rules`` of those params can break) and used by the loader (literal
values, each violation positioned at its field), by binding (``lrgen.ir.bind``: a BindError with
the same message) and by the generated constructors (the same message, its values formatted at
run time). Every check class has a case here: the exact message and position from a file's
literals, the exact path and message from binding params, and, for the checks params can break,
the exact message of the generated constructor. Patching one check's method changes all of them:
there is no second copy to mask a broken one.
"""

from __future__ import annotations

import ast
import dataclasses
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from lrgen import expr as ex
from lrgen import ir, kinds, loader
from lrgen.errors import SpecError
from lrgen.kinds import (
    AppliesTo,
    Increasing,
    LenMatch,
    Less,
    NeedsOne,
    RestartPeriods,
    TotalSteps,
    Violation,
    ZeroNeeds,
)

HEADER = "lrgen: 1\nschedules:\n  s:\n    lr: 0.1\n"
NODE = "schedules.s.schedule"


@dataclasses.dataclass(frozen=True)
class Case:
    check: type
    #: the schedule's node (YAML at 6 spaces, under ``    schedule:`` on line 5) with literals
    literal: str
    where: tuple[int, int]  # line and column the loader reports
    field: str  # the path under the node, as a JSON path suffix ("" for the node itself)
    message: str
    #: binding params that break the check; or, for a static check (params cannot break it),
    #: a node built with the Python API
    bind: Bind | None = None
    node: Callable[[], ir.Node] | None = None


@dataclasses.dataclass(frozen=True)
class Bind:
    params: str  # the params line: defaults that keep the check
    node: str  # the node's YAML, a field an expression over params
    bad: dict[str, float]  # params that break it
    field: str
    message: str
    where: tuple[int, int]  # where the loader reports ``bad`` given as the defaults
    #: whether the generated constructors check it (its ``rules``); else generated code checks
    #: it its own way (RestartPeriods: the helper that tabulates the periods stops at the limit)
    constructor: bool = True


def _spec(node: str, params: str = "") -> str:
    return HEADER + (f"    params: {params}\n" if params else "") + "    schedule:\n" + node


def _node(kind: str, **fields: Any) -> ir.Node:
    return ir.make_node(kind, path=NODE, **fields)


INCREASING = "the list must be strictly increasing"
RESTARTS = (
    "is too close to 1: about 53741131 restart periods start before step 2**31 - 1, more than "
    "the 16384 the generated code tabulates; use t_mul: 1 (fixed periods), a larger t_mul or a "
    "longer first_decay_steps"
)
ZERO = "0 is allowed only with a warmup_target (the warmup starts from it); else it must be > 0"

CASES = (
    Case(
        Increasing,
        "      kind: MultiStepLR\n      milestones: [30, 60, 45]\n",
        (7, 28),
        ".milestones[2]",
        f"45 is not greater than the previous value 60; {INCREASING}",
        Bind(
            "{m: 60}",
            "      kind: MultiStepLR\n      milestones: [30, m, 90]\n",
            {"m": 95},
            ".milestones[2]",
            f"90 is not greater than the previous value 95; {INCREASING}",
            (8, 27),
        ),
    ),
    Case(
        Increasing,
        "      kind: PiecewiseConstantDecay\n      boundaries: [10, 10]\n"
        "      values: [0.1, 0.01, 0.001]\n",
        (7, 24),
        ".boundaries[1]",
        f"10 is not greater than the previous value 10; {INCREASING}",
        Bind(
            "{b: 20}",
            "      kind: PiecewiseConstantDecay\n      boundaries: [10, b]\n"
            "      values: [0.1, 0.01, 0.001]\n",
            {"b": 3},
            ".boundaries[1]",
            f"3 is not greater than the previous value 10; {INCREASING}",
            (8, 24),
        ),
    ),
    Case(
        Less,
        "      kind: WarmupWithDecay\n      warmup_steps: 100\n      total_steps: 100\n",
        (7, 21),
        ".warmup_steps",
        "100 must be less than total_steps (100)",
        Bind(
            "{w: 10}",
            "      kind: WarmupWithDecay\n      warmup_steps: w\n      total_steps: 50\n",
            {"w": 60},
            ".warmup_steps",
            "60 must be less than total_steps (50)",
            (8, 21),
        ),
    ),
    Case(
        ZeroNeeds,
        "      kind: CosineDecay\n      decay_steps: 100\n      initial_learning_rate: 0\n",
        (8, 30),
        ".initial_learning_rate",
        ZERO,
        Bind(
            "{v: 0.5}",
            "      kind: CosineDecay\n      decay_steps: 100\n      initial_learning_rate: v\n",
            {"v": 0.0},
            ".initial_learning_rate",
            ZERO,
            (9, 30),
        ),
    ),
    Case(
        LenMatch,
        "      kind: PiecewiseConstantDecay\n      boundaries: [10, 20]\n"
        "      values: [0.1, 0.01]\n",
        (8, 15),
        ".values",
        "2 values for 2 boundaries: expected 3 (one more than boundaries)",
        node=lambda: _node("PiecewiseConstantDecay", boundaries=[10, 20], values=[0.1, 0.01]),
    ),
    Case(
        LenMatch,
        "      kind: SequentialLR\n      milestones: [10]\n      schedulers:\n"
        "        - {kind: ConstantLR}\n",
        (7, 19),
        ".milestones",
        "1 milestones for 1 schedulers: expected 0 (one fewer than schedulers)",
        node=lambda: _node("SequentialLR", milestones=[10], schedulers=[_node("ConstantLR")]),
    ),
    Case(
        TotalSteps,
        "      kind: OneCycleLR\n      max_lr: 1.0\n      epochs: 3\n",
        (6, 7),
        "",
        "steps_per_epoch is missing: give both epochs and steps_per_epoch, or total_steps",
        node=lambda: _node("OneCycleLR", max_lr=1.0, epochs=3),
    ),
    Case(
        TotalSteps,
        "      kind: OneCycleLR\n      max_lr: 1.0\n      total_steps: 30\n      epochs: 3\n"
        "      steps_per_epoch: 10\n",
        (6, 7),
        "",
        "give either total_steps or both epochs and steps_per_epoch, not both",
        node=lambda: _node("OneCycleLR", max_lr=1.0, total_steps=30, epochs=3, steps_per_epoch=10),
    ),
    Case(
        RestartPeriods,
        "      kind: CosineDecayRestarts\n      first_decay_steps: 1\n      t_mul: 1.0000001\n",
        (8, 14),
        ".t_mul",
        f"1.0000001 {RESTARTS}",
        Bind(
            "{g: 2.0}",
            "      kind: CosineDecayRestarts\n      first_decay_steps: 1\n      t_mul: g\n",
            {"g": 1.0000001},
            ".t_mul",
            f"1.0000001 {RESTARTS}",
            (9, 14),
            constructor=False,
        ),
    ),
    Case(
        AppliesTo,
        "      kind: TransformersSchedule\n      lr_scheduler_type: linear\n"
        "      num_training_steps: 100\n      power: 2.0\n",
        (9, 14),
        ".power",
        "power applies only when lr_scheduler_type is polynomial; lr_scheduler_type is linear",
        node=lambda: _node(
            "TransformersSchedule", lr_scheduler_type="linear", num_training_steps=100, power=2.0
        ),
    ),
    Case(
        NeedsOne,
        "      kind: TransformersSchedule\n      lr_scheduler_type: cosine_with_min_lr\n"
        "      num_training_steps: 100\n      min_lr: 0.01\n      min_lr_rate: 0.1\n",
        (10, 20),
        ".min_lr_rate",
        "give only one of min_lr and min_lr_rate",
        node=lambda: _node(
            "TransformersSchedule",
            lr_scheduler_type="cosine_with_min_lr",
            num_training_steps=100,
            min_lr=0.01,
            min_lr_rate=0.1,
        ),
    ),
    Case(
        NeedsOne,
        "      kind: TransformersSchedule\n      lr_scheduler_type: cosine_with_min_lr\n"
        "      num_training_steps: 100\n",
        (6, 7),
        "",
        "lr_scheduler_type cosine_with_min_lr needs min_lr or min_lr_rate",
        node=lambda: _node(
            "TransformersSchedule", lr_scheduler_type="cosine_with_min_lr", num_training_steps=100
        ),
    ),
)


def _id(case: Case) -> str:
    return f"{case.check.__name__}{case.field or '.node'}"


def _load_problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        loader.load_text(text, "s.yaml")
    return [str(p) for p in caught.value.problems]


def _schedule(node: ir.Node) -> ir.Schedule:
    return ir.Schedule(name="s", lr=ex.Num(0.1), node=node, path="schedules.s")


def _bind_error(case: Case) -> ir.BindError:
    """Binding the case's params (a spec that loads) or its Python-built node."""
    with pytest.raises(ir.BindError) as caught:
        if case.bind is not None:
            b = case.bind
            ir.bind(loader.load_text(_spec(b.node, b.params), "s.yaml").entries[0], b.bad)
        else:
            assert case.node is not None
            ir.bind(_schedule(case.node()))
    return caught.value


def test_every_check_class_has_cases() -> None:
    """A new check class gets a case here (or this fails)."""
    assert {case.check for case in CASES} == set(typing.get_args(kinds.Check))
    for case in CASES:
        assert (case.bind is None) != (case.node is None), _id(case)
        # params can break exactly the checks that are not static: those get a params case
        assert case.check.static == (case.bind is None), _id(case)


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_loader_positions_the_violation_at_its_field(case: Case) -> None:
    line, column = case.where
    expected = f"s.yaml:{line}:{column}: {NODE}{case.field}: {case.message}"
    assert _load_problems(_spec(case.literal)) == [expected]


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_binding_raises_the_same_message(case: Case) -> None:
    error = _bind_error(case)
    if case.bind is not None:
        assert (error.path, error.message) == (f"{NODE}{case.bind.field}", case.bind.message)
    else:  # params cannot break a static check: built with the Python API, past the loader
        assert (error.path, error.message) == (f"{NODE}{case.field}", case.message)


@pytest.mark.parametrize("case", [c for c in CASES if c.bind], ids=_id)
def test_loader_positions_a_default_param_that_breaks_it(case: Case) -> None:
    """Defaults that break the check: the loader binds them and positions binding's message at
    the field the expression is written in."""
    assert case.bind is not None
    b = case.bind
    defaults = "{" + ", ".join(f"{k}: {v!r}" for k, v in b.bad.items()) + "}"
    line, column = b.where
    expected = f"s.yaml:{line}:{column}: {NODE}{b.field}: {b.message}"
    assert _load_problems(_spec(b.node, defaults)) == [expected]


# --- one copy: patching the check changes the loader, binding and the generated code ----------


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_patched_violation_changes_loader_and_binding(
    case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loader and binding both ask ``violation``: a different answer shows in both (before,
    each had its own copy, and breaking one was masked by the other)."""
    original = case.check.violation

    def patched(self: Any, value: kinds.Values) -> Violation | None:
        found = original(self, value)
        return found and Violation(found.field, f"patched: {found.message}")

    monkeypatch.setattr(case.check, "violation", patched)
    line, column = case.where
    expected = f"s.yaml:{line}:{column}: {NODE}{case.field}: patched: {case.message}"
    assert _load_problems(_spec(case.literal)) == [expected]
    expected_bind = case.bind.message if case.bind else case.message
    assert _bind_error(case).message == f"patched: {expected_bind}"


@pytest.mark.parametrize("case", CASES[:2], ids=_id)
def test_a_check_that_says_nothing_lets_both_through(
    case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``violation`` answering None, neither the loader nor binding refuses the list."""
    monkeypatch.setattr(case.check, "violation", lambda self, value: None)
    assert loader.load_text(_spec(case.literal), "s.yaml").entries[0].name == "s"
    assert case.bind is not None
    b = case.bind
    schedule = loader.load_text(_spec(b.node, b.params), "s.yaml").entries[0]
    assert ir.bind(schedule, b.bad).kind == schedule.node.kind


# --- the generated constructors ------------------------------------------------------------------


def _generated_error(case: Case) -> str:
    from tests.strategies import generated_module

    assert case.bind is not None
    spec = loader.load_text(_spec(case.bind.node, case.bind.params), "s.yaml")
    module = generated_module(spec, "torch")
    with pytest.raises(ValueError) as caught:
        module.s(0, **case.bind.bad)
    return str(caught.value)


CONSTRUCTOR_CASES = [c for c in CASES if c.bind and c.bind.constructor]


@pytest.mark.parametrize("case", CONSTRUCTOR_CASES, ids=_id)
def test_generated_constructor_says_what_binding_says(case: Case) -> None:
    """The check's rules, generated: the same message, with the values formatted at run time,
    after the field (its name) and the arguments the caller passed."""
    pytest.importorskip("torch")
    assert case.bind is not None
    b = case.bind
    passed = ", ".join(f"{k}={v!r}" for k, v in b.bad.items())
    assert _generated_error(case) == f"S({passed}): {b.field[1:]}: {b.message}"


@pytest.mark.parametrize("case", CONSTRUCTOR_CASES, ids=_id)
def test_patched_rules_change_the_generated_message_too(
    case: Case, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The generated code prints the rule's own message template: a change there shows in the
    loader, binding and the generated constructor alike."""
    pytest.importorskip("torch")
    original = case.check.rules

    def patched(self: Any, value: kinds.Values) -> tuple[kinds.Rule, ...]:
        rules = original(self, value)
        return tuple(dataclasses.replace(r, message="patched {left} {right}") for r in rules)

    monkeypatch.setattr(case.check, "rules", patched)
    assert case.bind is not None
    b = case.bind
    error = _bind_error(case)
    assert error.message.startswith("patched ")
    passed = ", ".join(f"{k}={v!r}" for k, v in b.bad.items())
    assert _generated_error(case) == f"S({passed}): {b.field[1:]}: {error.message}"
    line, column = case.where
    assert _load_problems(_spec(case.literal))[0].startswith(
        f"s.yaml:{line}:{column}: {NODE}{case.field}: patched "
    )


# --- the lint and binding name no kind: the registry's data says what they need -----------------


@pytest.mark.parametrize("module", ["lint", "ir"])
def test_no_kind_names_in(module: str) -> None:
    """Adding a kind needs neither the lint nor binding: they read the registry's fields
    (``children``, ``decay_start``, ``local_milestones``, ``per_batch``, the checks), not names."""
    path = Path(loader.__file__).with_name(f"{module}.py")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set(kinds.KIND_MAP)
    found = [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names
    ]
    assert found == []
