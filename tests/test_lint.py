"""``lrgen.lint.lint_spec``: each warning fires on a spec built to trigger it, with its message,
its JSON path and its position, and none fires on a clean warmup-cosine spec."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import lrgen
from lrgen import expr as ex
from lrgen import ir
from lrgen.cli import main
from lrgen.errors import Problem
from lrgen.kinds import LINT_CODES
from lrgen.lint import lint_spec

#: Whether the loader records where each value is (``Spec.positions``); without it every warning
#: sits at 1:1 with its JSON path.
HAS_POSITIONS = "positions" in {f.name for f in dataclasses.fields(ir.Spec)}

CLEAN = """\
lrgen: 1
schedules:
  warmup_cosine:
    lr: 3.0e-4
    params:
      total_steps: 5000
      warmup_steps: 500
    schedule:
      kind: SequentialLR
      milestones: [warmup_steps]
      schedulers:
        - kind: LinearLR
          start_factor: 0.01
          total_iters: warmup_steps
        - kind: CosineAnnealingLR
          T_max: "total_steps - warmup_steps"
          eta_min: 1.0e-6
"""


def lint(tmp_path: Path, text: str, **kwargs) -> tuple[str, list[Problem]]:
    path = tmp_path / "spec.yaml"
    text = textwrap.dedent(text)
    path.write_text(text)
    return text, lint_spec(lrgen.load(path), **kwargs)


def at(text: str, line_with: str, token: str) -> tuple[int, int]:
    """The expected (line, column) of ``token`` on the first line containing ``line_with``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line_with in line:
            return (number, line.index(token) + 1) if HAS_POSITIONS else (1, 1)
    raise AssertionError(f"no line with {line_with!r}")


def check(
    problem: Problem,
    tmp_path: Path,
    path: str,
    position: tuple[int, int],
    message: str,
    *,
    code: str,
) -> None:
    assert problem.severity == "warning"
    assert problem.code == code
    assert problem.file == str(tmp_path / "spec.yaml")
    assert problem.path == path
    assert (problem.line, problem.column) == position
    assert problem.message == message
    assert (
        str(problem)
        == f"{problem.file}:{position[0]}:{position[1]}: {path}: warning[{code}]: {message}"
    )


def test_clean_warmup_cosine_has_no_warnings(tmp_path):
    assert lint(tmp_path, CLEAN)[1] == []


def test_cosine_that_restarts_by_accident(tmp_path):
    text, problems = lint(
        tmp_path,
        """\
        lrgen: 1
        schedules:
          s:
            lr: 0.1
            params:
              total_steps: 5000
            schedule:
              kind: CosineAnnealingLR
              T_max: 1000
        """,
    )
    (problem,) = problems
    check(
        problem,
        tmp_path,
        "schedules.s.schedule.T_max",
        at(text, "T_max", "1000"),
        "CosineAnnealingLR ends at step 1000 (T_max = 1000) but runs for 5000 steps "
        "(total_steps = 5000): for the last 3999 steps the cosine rises again (torch's closed "
        "form is periodic)",
        code="short-horizon",
    )


@pytest.mark.parametrize("t_max", ["total_steps", "total_steps - 1"])
def test_cosine_that_ends_with_training_is_fine(tmp_path, t_max):
    spec = f"""\
        lrgen: 1
        schedules:
          s:
            lr: 0.1
            params: {{total_steps: 5000}}
            schedule: {{kind: CosineAnnealingLR, T_max: "{t_max}"}}
        """
    assert lint(tmp_path, spec)[1] == []


def test_cosine_one_step_short_of_the_training(tmp_path):
    _, problems = lint(
        tmp_path,
        """\
        lrgen: 1
        schedules:
          s:
            lr: 0.1
            unit: epoch
            params: {epochs: 90}
            schedule: {kind: CosineAnnealingLR, T_max: 88}
        """,
    )
    (problem,) = problems
    assert problem.message == (
        "CosineAnnealingLR ends at epoch 88 (T_max = 88) but runs for 90 epochs (epochs = 90): "
        "for the last 1 epoch the cosine rises again (torch's closed form is periodic)"
    )


def test_short_cosine_in_the_last_segment(tmp_path):
    text, problems = lint(tmp_path, CLEAN.replace('"total_steps - warmup_steps"', "3000"))
    (problem,) = problems
    check(
        problem,
        tmp_path,
        "schedules.warmup_cosine.schedule.schedulers[1].T_max",
        at(text, "T_max", "3000"),
        "CosineAnnealingLR ends at step 3000 (T_max = 3000) but runs for 4500 steps "
        "(total_steps = 5000 less its start at t = 500): for the last 1499 steps the cosine "
        "rises again (torch's closed form is periodic)",
        code="short-horizon",
    )


def test_polynomial_that_ends_inside_its_segment_and_the_jump_that_follows(tmp_path):
    text, problems = lint(
        tmp_path,
        """\
        lrgen: 1
        schedules:
          poly:
            lr: 0.1
            params:
              total_steps: 10000
            schedule:
              kind: SequentialLR
              milestones: [4000]
              schedulers:
                - kind: PolynomialLR
                  total_iters: 3000
                - kind: Constant
        """,
    )
    jump, horizon = problems  # sorted by position: the milestones come first in the file
    check(
        horizon,
        tmp_path,
        "schedules.poly.schedule.schedulers[0].total_iters",
        at(text, "total_iters", "3000"),
        "PolynomialLR ends at step 3000 (total_iters = 3000) but runs for 4000 steps (its "
        "SequentialLR segment [0, 4000)): for the last 999 steps the rate stays at 0",
        code="short-horizon",
    )
    check(
        jump,
        tmp_path,
        "schedules.poly.schedule.milestones[0]",
        at(text, "milestones", "4000"),
        "the learning rate jumps at the join at t = 4000: Constant starts at 0.1 where "
        "PolynomialLR was heading to 0, a change of 100% of the peak 0.1 (more than 10%)",
        code="join-jump",
    )


JUMP = """\
    lrgen: 1
    schedules:
      cut:
        lr: 0.1
        schedule:
          kind: SequentialLR
          milestones: [1000]
          schedulers:
            - kind: CosineAnnealingLR
              T_max: 2000
            - kind: Constant
    """


def test_jump_at_a_sequential_join(tmp_path):
    text, problems = lint(tmp_path, JUMP)
    (problem,) = problems
    check(
        problem,
        tmp_path,
        "schedules.cut.schedule.milestones[0]",
        at(text, "milestones", "1000"),
        "the learning rate jumps at the join at t = 1000: Constant starts at 0.1 where "
        "CosineAnnealingLR was heading to 0.05, a change of 50% of the peak 0.1 (more than "
        "10%)",
        code="join-jump",
    )


def test_jump_threshold_is_a_parameter(tmp_path):
    assert lint(tmp_path, JUMP, jump_fraction=0.5)[1] == []
    assert len(lint(tmp_path, JUMP, jump_fraction=0.49)[1]) == 1


def test_a_coarse_warmup_that_reaches_its_target_at_the_join_is_continuous(tmp_path):
    # the last warmup epoch is 0.328 and the cosine starts at 0.4: one warmup increment, no jump
    _, problems = lint(
        tmp_path,
        """\
        lrgen: 1
        schedules:
          s:
            lr: 0.4
            unit: epoch
            params: {epochs: 90}
            schedule:
              kind: SequentialLR
              milestones: [5]
              schedulers:
                - {kind: LinearLR, start_factor: 0.1, total_iters: 5}
                - {kind: CosineAnnealingLR, T_max: 85}
        """,
    )
    assert problems == []


def test_one_cycle_per_epoch(tmp_path):
    text, problems = lint(
        tmp_path,
        """\
        lrgen: 1
        schedules:
          s:
            lr: 0.1
            unit: epoch
            schedule:
              kind: OneCycleLR
              max_lr: 0.1
              total_steps: 50
              cycle_momentum: false
        """,
    )
    (problem,) = problems
    check(
        problem,
        tmp_path,
        "schedules.s.schedule",
        at(text, "kind: OneCycleLR", "kind"),
        "OneCycleLR in a schedule with unit: epoch changes the rate once per epoch; it is "
        "meant to step once per batch (use unit: step with total_steps = epochs * "
        "steps_per_epoch)",
        code="one-cycle-epoch",
    )


def test_warmup_as_long_as_the_training(tmp_path):
    text, problems = lint(
        tmp_path,
        """\
        lrgen: 1
        schedules:
          s:
            lr: 0.1
            params:
              total_steps: 3000
            schedule:
              kind: ExponentialWarmup
              warmup_steps: total_steps
        """,
    )
    (problem,) = problems
    check(
        problem,
        tmp_path,
        "schedules.s.schedule.warmup_steps",
        at(text, "warmup_steps:", "total_steps"),
        "the warmup of ExponentialWarmup lasts 3000 steps, as long as the 3000 steps it runs "
        "(total_steps = 3000): the rate never gets past the warmup",
        code="long-warmup",
    )


def test_warmup_longer_than_its_segment(tmp_path):
    text, problems = lint(
        tmp_path,
        """\
        lrgen: 1
        schedules:
          s:
            lr: 1.0
            schedule:
              kind: SequentialLR
              milestones: [1000]
              schedulers:
                - kind: LinearLR
                  start_factor: 0.1
                  total_iters: 2000
                - kind: Constant
        """,
    )
    jump, warmup = problems
    check(
        warmup,
        tmp_path,
        "schedules.s.schedule.schedulers[0].total_iters",
        at(text, "total_iters", "2000"),
        "the warmup of LinearLR lasts 2000 steps, longer than the 1000 steps it runs (its "
        "SequentialLR segment [0, 1000)): the rate never gets past the warmup",
        code="long-warmup",
    )
    assert jump.path == "schedules.s.schedule.milestones[0]"
    assert "LinearLR was heading to 0.55" in jump.message


ZERO = """\
    lrgen: 1
    schedules:
      s:
        lr: 0.1
        schedule:
          kind: LinearWarmup
          warmup_steps: 100
    """


def test_zero_learning_rate_at_step_zero(tmp_path):
    text, problems = lint(tmp_path, ZERO)
    (problem,) = problems
    check(
        problem,
        tmp_path,
        "schedules.s.schedule",
        at(text, "kind: LinearWarmup", "kind"),
        "the learning rate at step 0 is 0, so the first update does nothing; start the warmup "
        "above 0 (peak 0.1)",
        code="zero-start",
    )


def test_zero_start_points_at_the_child_responsible(tmp_path):
    text, problems = lint(
        tmp_path,
        """\
        lrgen: 1
        schedules:
          bert:
            lr: 5.0e-5
            params: {total_steps: 1000, warmup_steps: 100}
            schedule:
              kind: SequentialLR
              milestones: [warmup_steps]
              schedulers:
                - kind: LinearWarmup
                  warmup_steps: warmup_steps
                - kind: PolynomialLR
                  total_iters: "total_steps - warmup_steps"
          chained:
            lr: 0.1
            params: {total_steps: 1000}
            schedule:
              kind: ChainedScheduler
              schedulers:
                - kind: CosineAnnealingLR
                  T_max: total_steps
                - kind: LinearWarmup
                  warmup_steps: 10
        """,
    )
    first, second = problems
    check(
        first,
        tmp_path,
        "schedules.bert.schedule.schedulers[0]",
        at(text, "kind: LinearWarmup", "kind"),
        "the learning rate at step 0 is 0, so the first update does nothing; start the warmup "
        "above 0 (peak 5e-05)",
        code="zero-start",
    )
    lines = text.splitlines()
    second_warmup = max(i for i, line in enumerate(lines) if "kind: LinearWarmup" in line)
    expected = (second_warmup + 1, lines[second_warmup].index("kind") + 1)
    assert second.path == "schedules.chained.schedule.schedulers[1]"
    assert (second.line, second.column) == (expected if HAS_POSITIONS else (1, 1))


@pytest.mark.parametrize(("start_factor", "warns"), [(1e-13, True), (1e-11, False)])
def test_near_zero_start_counts_as_zero(tmp_path, start_factor, warns):
    spec = f"""\
        lrgen: 1
        schedules:
          s:
            lr: 1.0
            schedule: {{kind: LinearLR, start_factor: {start_factor}, total_iters: 10}}
        """
    problems = lint(tmp_path, spec)[1]
    assert [p.message.startswith("the learning rate at step 0 is 1e-13") for p in problems] == (
        [True] if warns else []
    )


def test_metric_driven_schedules_are_not_evaluated(tmp_path):
    spec = """\
        lrgen: 1
        schedules:
          p:
            lr: 0.1
            unit: epoch
            schedule: {kind: ReduceLROnPlateau, patience: 3}
        """
    assert lint(tmp_path, spec)[1] == []


def test_warnings_are_sorted_by_position_across_schedules(tmp_path):
    text = CLEAN + textwrap.indent(textwrap.dedent(ZERO).split("schedules:\n", 1)[1], "")
    _, problems = lint(tmp_path, text.replace("  s:\n", "  zero:\n"))
    assert [p.path for p in problems] == ["schedules.zero.schedule"]
    assert problems == sorted(problems)


def test_lint_of_an_ir_built_without_the_loader():
    """Positions come from the loader; an IR built in code lints with 1:1 and its paths."""
    node = ir.make_node("CosineAnnealingLR", path="schedules.c.schedule", T_max=10)
    schedule = ir.Schedule(
        "c", ex.Num(0.1), node, params=(("total_steps", 100),), path="schedules.c"
    )
    spec = ir.Spec("made.yaml", "0" * 64, 1, (schedule,))
    (problem,) = lint_spec(spec)
    assert (problem.file, problem.line, problem.column) == ("made.yaml", 1, 1)
    assert problem.path == "schedules.c.schedule.T_max"
    assert problem.message.startswith("CosineAnnealingLR ends at step 10 (T_max = 10)")


def test_lint_needs_neither_torch_nor_keras(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(textwrap.dedent(JUMP))
    code = (
        "import sys, lrgen\n"
        "from lrgen.lint import lint_spec\n"
        f"problems = lint_spec(lrgen.load({str(path)!r}))\n"
        "print(len(problems), sorted(m for m in ('torch', 'keras', 'tensorflow', 'jax') "
        "if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "1 []"


@pytest.mark.parametrize(
    ("node", "field", "message"),
    [
        (
            "{kind: WarmupStableDecay, warmup_steps: 100, stable_steps: 500, decay_steps: 200,"
            " min_lr_ratio: 0.1}",
            "decay_steps",
            "WarmupStableDecay ends at step 800 (warmup_steps + stable_steps + decay_steps = "
            "800) but runs for 1000 steps (total_steps = 1000): for the last 199 steps the rate "
            "stays at min_lr_ratio * lr",
        ),
        (
            "{kind: CosineDecay, decay_steps: 600, warmup_steps: 50, warmup_target: 0.2}",
            "decay_steps",
            "CosineDecay ends at step 650 (warmup_steps + decay_steps = 650) but runs for 1000 "
            "steps (total_steps = 1000): for the last 349 steps the rate stays at alpha * its "
            "peak",
        ),
        (
            "{kind: OneCycleLR, max_lr: 0.1, epochs: 2, steps_per_epoch: 300,"
            " cycle_momentum: false}",
            "epochs",
            "OneCycleLR ends at step 599 (epochs * steps_per_epoch = 600) but runs for 1000 "
            "steps (total_steps = 1000): for the last 400 steps the rate stays at its final "
            "value",
        ),
        (
            "{kind: PolynomialDecay, decay_steps: 900}",
            "decay_steps",
            "PolynomialDecay ends at step 900 (decay_steps = 900) but runs for 1000 steps "
            "(total_steps = 1000): for the last 99 steps the rate stays at end_learning_rate",
        ),
    ],
)
def test_decays_that_flatten_before_the_end(tmp_path, node, field, message):
    spec = f"""\
        lrgen: 1
        schedules:
          s:
            lr: 0.1
            params: {{total_steps: 1000}}
            schedule: {node}
        """
    text, problems = lint(tmp_path, spec)
    (problem,) = problems
    line, column = at(text, "schedule:", f"{field}: ")
    check(
        problem,
        tmp_path,
        f"schedules.s.schedule.{field}",
        (line, column + len(f"{field}: ")) if HAS_POSITIONS else (1, 1),
        message,
        code="short-horizon",
    )


def test_polynomial_decay_that_cycles_is_left_alone(tmp_path):
    spec = """\
        lrgen: 1
        schedules:
          s:
            lr: 0.1
            params: {total_steps: 1000}
            schedule: {kind: PolynomialDecay, decay_steps: 300, cycle: true}
        """
    assert lint(tmp_path, spec)[1] == []


# --- warning codes and suppression --------------------------------------------------------------

TWO_WARNINGS = """\
lrgen: 1
schedules:
  a:
    lr: 0.1
    params:
      total_steps: 5000
    schedule:
      kind: SequentialLR
      milestones: [100]
      schedulers:
        - {kind: LinearWarmup, warmup_steps: 100}
        - {kind: CosineAnnealingLR, T_max: 1000}
  b:
    lr: 0.1
    params:
      total_steps: 5000
    schedule:
      kind: SequentialLR
      milestones: [100]
      schedulers:
        - {kind: LinearWarmup, warmup_steps: 100}
        - {kind: CosineAnnealingLR, T_max: 1000}
"""


def codes(problems: list[Problem]) -> list[tuple[str, str]]:
    return [(p.path.split(".")[1], p.code) for p in problems]


def test_every_warning_has_its_code_in_the_message(tmp_path):
    problems = lint(tmp_path, TWO_WARNINGS)[1]
    assert codes(problems) == [
        ("a", "zero-start"),
        ("a", "short-horizon"),
        ("b", "zero-start"),
        ("b", "short-horizon"),
    ]
    assert (
        str(problems[0])
        .split(": ", 2)[2]
        .startswith("warning[zero-start]: the learning rate at step 0 is 0")
    )


@pytest.mark.parametrize(
    ("ignore", "expected"),
    [
        ("[zero-start]", [("a", "short-horizon"), ("b", "zero-start"), ("b", "short-horizon")]),
        ("[short-horizon]", [("a", "zero-start"), ("b", "zero-start"), ("b", "short-horizon")]),
        ("[zero-start, short-horizon]", [("b", "zero-start"), ("b", "short-horizon")]),
        (
            "[]",
            [
                ("a", "zero-start"),
                ("a", "short-horizon"),
                ("b", "zero-start"),
                ("b", "short-horizon"),
            ],
        ),
    ],
)
def test_lint_ignore_silences_only_its_codes_in_its_schedule(tmp_path, ignore, expected):
    text = TWO_WARNINGS.replace(
        "  a:\n    lr: 0.1\n", f"  a:\n    lr: 0.1\n    lint:\n      ignore: {ignore}\n"
    )
    assert codes(lint(tmp_path, text)[1]) == expected


def test_an_unknown_lint_code_is_a_positioned_error(tmp_path, capsys):
    path = tmp_path / "spec.yaml"
    path.write_text(
        TWO_WARNINGS.replace(
            "  a:\n    lr: 0.1\n",
            "  a:\n    lr: 0.1\n    lint: {ignore: [zero-start, zero-strat]}\n",
        )
    )
    assert main(["validate", str(path)]) == 2
    assert capsys.readouterr().out.splitlines() == [
        f"{path}:5:33: schedules.a.lint.ignore[1]: 'zero-strat' is not one of "
        + ", ".join(f"'{code}'" for code in LINT_CODES)
        + "; did you mean 'zero-start'?"
    ]


def test_lint_takes_only_ignore(tmp_path, capsys):
    path = tmp_path / "spec.yaml"
    path.write_text(
        TWO_WARNINGS.replace("  a:\n    lr: 0.1\n", "  a:\n    lr: 0.1\n    lint: {ignroe: []}\n")
    )
    assert main(["validate", str(path)]) == 2
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith(f"{path}:5:12: schedules.a.lint.ignroe: unknown key 'ignroe'")


KERAS_MOMENTUM = """\
lrgen: 1
schedules:
  clr:
    lr: 0.006
    schedule: {kind: CyclicLR, base_lr: 0.001, max_lr: 0.006, step_size_up: 20}
  quiet:
    lr: 0.006
    lint:
      ignore: [keras-momentum]  # the torch scheduler cycles it
    schedule: {kind: CyclicLR, base_lr: 0.001, max_lr: 0.006, step_size_up: 20}
"""


def test_validate_reports_the_keras_momentum_warning_that_build_prints(tmp_path, capsys):
    path = tmp_path / "spec.yaml"
    path.write_text(KERAS_MOMENTUM)
    assert main(["validate", str(path)]) == 0
    validated = capsys.readouterr().out.splitlines()
    assert validated == [
        f"{path}:5:15: schedules.clr.schedule: warning[keras-momentum]: Keras optimizers hold "
        "momentum and beta_1 as Python floats, which a compiled train step reads once, when it "
        "is traced: the Keras schedule cycles the learning rate only (the torch scheduler cycles "
        "both; see docs/momentum.md). Set cycle_momentum: false, or the schedule's lint: "
        "{ignore: [keras-momentum]}, to silence this"
    ]
    assert main(["build", str(path), "--out", str(tmp_path / "out")]) == 0
    assert capsys.readouterr().err.splitlines() == validated  # `quiet` silenced in both


# --- the checks ---------------------------------------------------------------------------------


def test_unused_param(tmp_path):
    text, problems = lint(
        tmp_path,
        """\
        lrgen: 1
        schedules:
          s:
            lr: 0.1
            params:
              total_steps: 1000
              warmup: 100
              gamma: 0.5
            schedule: {kind: StepLR, step_size: 300, gamma: gamma}
        """,
    )
    (problem,) = problems  # total_steps declares the training length: not unused
    check(
        problem,
        tmp_path,
        "schedules.s.params.warmup",
        at(text, "warmup:", "100"),
        "param 'warmup' is declared but no field of the schedule uses it: the generated classes "
        "take it as a keyword argument that changes nothing",
        code="unused-param",
    )


def test_params_used_by_lr_or_an_expression_are_used(tmp_path):
    spec = """\
        lrgen: 1
        schedules:
          s:
            lr: "base * 2"
            params: {base: 0.05, p: 0.9, n: 100}
            schedule: {kind: LambdaLR, lr_lambda: "max(1 - t / n, 0.01) ** p"}
        """
    assert lint(tmp_path, spec)[1] == []


def test_epoch_unit_with_params_named_in_steps(tmp_path):
    text, problems = lint(
        tmp_path,
        """\
        lrgen: 1
        schedules:
          s:
            lr: 0.1
            unit: epoch
            params:
              epochs: 90
              decay_steps: 30
            schedule: {kind: StepLR, step_size: decay_steps}
        """,
    )
    (problem,) = problems
    check(
        problem,
        tmp_path,
        "schedules.s.params.decay_steps",
        at(text, "decay_steps:", "30"),
        "param 'decay_steps' is named in steps but the schedule has unit: epoch, so every field "
        "it sets counts epochs (use unit: step, or count it in epochs)",
        code="epoch-unit",
    )


def test_epoch_unit_with_a_length_in_steps(tmp_path):
    text, problems = lint(
        tmp_path,
        """\
        lrgen: 1
        schedules:
          s:
            lr: 0.1
            unit: epoch
            schedule: {kind: CosineAnnealingLR, T_max: 50000}
        """,
    )
    (problem,) = problems
    check(
        problem,
        tmp_path,
        "schedules.s.unit",
        at(text, "unit:", "epoch"),
        "CosineAnnealingLR runs 50000 epochs with unit: epoch; its fields look like counts of "
        "steps (use unit: step)",
        code="epoch-unit",
    )


def test_multistep_milestones_that_look_global_in_a_sequential(tmp_path):
    text, problems = lint(
        tmp_path,
        """\
        lrgen: 1
        schedules:
          s:
            lr: 0.1
            unit: epoch
            params: {epochs: 90}
            schedule:
              kind: SequentialLR
              milestones: [5]
              schedulers:
                - {kind: LinearLR, start_factor: 0.1, total_iters: 5}
                - {kind: MultiStepLR, milestones: [30, 60, 88], gamma: 0.1}
        """,
    )
    (problem,) = problems
    check(
        problem,
        tmp_path,
        "schedules.s.schedule.schedulers[1].milestones[2]",
        at(text, "MultiStepLR", "88"),
        "MultiStepLR milestone 88 is never reached: the child's clock starts at 0 at epoch 5 "
        "and runs 85 epochs (epochs = 90 less its start at t = 5); counted from the segment's "
        "start, global epoch 88 is epoch 83",
        code="global-milestones",
    )


def test_multistep_milestones_inside_their_segment_are_fine(tmp_path):
    spec = """\
        lrgen: 1
        schedules:
          s:
            lr: 0.1
            unit: epoch
            params: {epochs: 90}
            schedule:
              kind: SequentialLR
              milestones: [5]
              schedulers:
                - {kind: LinearLR, start_factor: 0.1, total_iters: 5}
                - {kind: MultiStepLR, milestones: [25, 55, 84], gamma: 0.1}
        """
    assert lint(tmp_path, spec)[1] == []


def test_a_rate_that_leaves_the_reals(tmp_path):
    text, problems = lint(
        tmp_path,
        """\
        lrgen: 1
        schedules:
          poly:
            lr: 0.01
            params: {max_iter: 100}
            schedule: {kind: LambdaLR, lr_lambda: "(1 - t / max_iter) ** 0.9"}
        """,
    )
    (problem,) = problems
    check(
        problem,
        tmp_path,
        "schedules.poly.schedule",
        at(text, "schedule:", "{"),
        "the learning rate is nan at step 101 (the first on the horizon of 1000 steps where it "
        "is not a finite number)",
        code="not-finite",
    )


def test_a_rate_that_goes_negative(tmp_path):
    text, problems = lint(
        tmp_path,
        """\
        lrgen: 1
        schedules:
          linear:
            lr: 0.01
            params: {total_steps: 100}
            schedule: {kind: LambdaLR, lr_lambda: "1 - t / 90"}
        """,
    )
    (problem,) = problems
    check(
        problem,
        tmp_path,
        "schedules.linear.schedule",
        at(text, "schedule:", "{"),
        "the learning rate is -0.000111 at step 91 (the first on the horizon of 110 steps where "
        "it is negative): the optimizer climbs the loss from there",
        code="negative",
    )


def test_a_rising_exponential_from_a_tiny_start_is_not_told_its_first_update_does_nothing(
    tmp_path,
):
    text, problems = lint(
        tmp_path,
        """\
        lrgen: 1
        schedules:
          rise:
            lr: 1.0e-13
            params: {total_steps: 100}
            schedule: {kind: ExponentialDecay, decay_steps: 10, decay_rate: 100.0}
        """,
    )
    (problem,) = problems
    check(
        problem,
        tmp_path,
        "schedules.rise.schedule",
        at(text, "schedule:", "{"),
        "the learning rate at step 0 is 1e-13, 1.58e-22 of the peak 6.31e+08, so the first "
        "updates barely change the weights",
        code="zero-start",
    )


def test_keras_canonical_cosine_warmup_from_zero_is_not_a_zero_start(tmp_path):
    spec = """\
        lrgen: 1
        schedules:
          k:
            lr: 0.1
            schedule:
              kind: CosineDecay
              initial_learning_rate: 0.0
              warmup_target: 0.1
              warmup_steps: 100
              decay_steps: 900
        """
    assert lint(tmp_path, spec)[1] == []


def test_the_readme_first_command_is_quiet_on_the_examples(capsys, tmp_path):
    examples = sorted(str(p) for p in Path("spec/examples").glob("*.yaml"))
    assert main(["validate", "--strict", *examples]) == 0
    assert capsys.readouterr() == ("", "")
    assert main(["build", *examples, "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().err == ""
