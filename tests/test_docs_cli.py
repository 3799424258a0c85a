"""The command lines the docs show work in any order a user types them, and the help an installed
copy prints points at nothing only a checkout has."""

from __future__ import annotations

from pathlib import Path

import pytest

import lrgen
from lrgen.cli import COMMANDS, main
from lrgen.table import tidy_argv

SPEC = """\
lrgen: 1
schedules:
  warm:
    lr: 1.0e-3
    params: {total_steps: 200, warmup_steps: 20}
    schedule:
      kind: SequentialLR
      milestones: [warmup_steps]
      schedulers:
        - {kind: LinearLR, start_factor: 0.01, total_iters: warmup_steps}
        - {kind: CosineAnnealingLR, T_max: "total_steps - warmup_steps"}
  flat:
    lr: 0.1
    schedule: {kind: Constant}
"""


@pytest.fixture
def spec_path(tmp_path: Path) -> Path:
    path = tmp_path / "sched.yaml"
    path.write_text(SPEC)
    return path


def _csv(capsys, *argv: object) -> list[list[str]]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    return [line.split(",") for line in out.splitlines()]


def test_schedule_before_the_spec_leaves_the_spec_alone(capsys, spec_path):
    rows = _csv(capsys, "table", "--schedule", "warm", spec_path, "--steps", 3, "--format", "csv")
    lr = lrgen.evaluate(lrgen.load(spec_path).schedules["warm"], [0, 1, 2])
    assert rows == [["t", "warm"], *([str(t), repr(float(lr[t]))] for t in range(3))]


def test_params_before_the_spec_leave_the_spec_alone(capsys, spec_path):
    rows = _csv(
        capsys, "table", "--params", "warmup_steps=2", spec_path, "--steps", 3, "--format", "csv"
    )
    schedule = lrgen.load(spec_path).schedules["warm"]
    expected = lrgen.evaluate(schedule, [2], params={"warmup_steps": 2})
    assert rows[0] == ["t", "warm", "flat"] and rows[3][1] == repr(float(expected[0]))


def test_show_with_several_names_then_a_spec(capsys, spec_path):
    code = main(["show", "--schedule", "flat", "warm", str(spec_path), "--steps", "5"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    titles = [line.split(":")[0] for line in out.splitlines() if ": " in line and "lr(t)" in line]
    assert titles == ["warm", "flat"]  # spec order


@pytest.mark.parametrize(
    ("argv", "tidied"),
    [
        (["table", "--schedule", "a", "s.yaml"], ["table", "s.yaml", "--schedule", "a"]),
        (
            ["plot", "x.yaml", "--schedule", "a", "b", "y.json", "-o", "p.png"],
            ["plot", "x.yaml", "y.json", "--schedule", "a", "b", "-o", "p.png"],
        ),
        (
            ["table", "--params", "k=1", "w.k=-2", "s.yaml"],
            ["table", "s.yaml", "--params", "k=1", "w.k=-2"],
        ),
        (["table", "s.yaml", "--schedule", "a"], ["table", "s.yaml", "--schedule", "a"]),
        # a file ends the names: what follows it is not taken for a name either
        (["show", "--schedule", "a", "s.yaml", "b"], ["show", "s.yaml", "b", "--schedule", "a"]),
    ],
)
def test_tidy_argv(argv, tidied):
    assert tidy_argv(argv) == tidied


def test_schedule_with_only_a_file_is_a_usage_error(capsys, spec_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["table", "--schedule", str(spec_path)])
    assert exit_info.value.code == 2
    assert "argument --schedule: expected at least one argument" in capsys.readouterr().err


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_points_at_nothing_only_a_checkout_has(capsys, command):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    assert f"usage: lrgen {command}" in text
    for only_in_a_checkout in ("docs/", ".md", "spec/examples"):
        assert only_in_a_checkout not in text


def test_help_of_steps_says_what_the_default_is(capsys):
    with pytest.raises(SystemExit):
        main(["table", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "default: 1.1 x the longest of the schedule's own length and the training length" in text
