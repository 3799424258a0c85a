"""The user tools: ``lrgen table``, ``lrgen show``, ``lrgen plot`` and ``lrgen init``.

Every command runs through :func:`lrgen.cli.main`, as a user would run it; numbers are checked
against :func:`lrgen.evaluate` at the same steps.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import math
import os
import re
import struct
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

import lrgen
from lrgen.cli import COMMANDS, main
from lrgen.init import RECIPES, recipe_text
from lrgen.lint import default_steps, lint_spec
from lrgen.plot import synthetic_metric

ROOT = Path(__file__).resolve().parent.parent

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
        - {kind: CosineAnnealingLR, T_max: "total_steps - warmup_steps", eta_min: 1.0e-6}
  stepped:
    lr: 0.1
    unit: epoch
    params: {epochs: 30}
    schedule: {kind: StepLR, step_size: 10, gamma: 0.5}
  plateau:
    lr: 0.01
    unit: epoch
    schedule: {kind: ReduceLROnPlateau, factor: 0.5, patience: 2}
"""

INVALID = """\
lrgen: 1
schedules:
  broken:
    lr: 0.1
    schedule: {kind: CosineAnnealingLR, T_max: -5}
"""


@pytest.fixture
def spec_path(tmp_path: Path) -> Path:
    path = tmp_path / "sched.yaml"
    path.write_text(SPEC)
    return path


@pytest.fixture
def spec(spec_path: Path):
    return lrgen.load(spec_path)


def run(capsys, *argv: object) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def evaluate(spec, name: str, steps, **kwargs) -> np.ndarray:
    return lrgen.evaluate(spec.schedules[name], np.asarray(steps), **kwargs)


# --- lrgen table --------------------------------------------------------------------------------


def test_table_text_rows_are_evaluate_at_the_same_steps(capsys, spec_path, spec):
    code, out, err = run(capsys, "table", spec_path, "--steps", 50, "--every", 7)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["t", "warm", "stepped"]
    rows = [line.split() for line in lines[1:]]
    steps = list(range(0, 50, 7))
    assert [int(r[0]) for r in rows] == steps
    for column, name in ((1, "warm"), (2, "stepped")):
        expected = evaluate(spec, name, steps)
        assert [r[column] for r in rows] == [f"{v:.6e}" for v in expected]
    assert "skipping plateau: ReduceLROnPlateau is metric-driven" in err


def test_table_csv_keeps_full_precision(capsys, spec_path, spec):
    code, out, _ = run(capsys, "table", spec_path, "--steps", 120, "--format", "csv")
    assert code == 0
    header, *rows = list(csv.reader(io.StringIO(out)))
    assert header == ["t", "warm", "stepped"]
    t = [int(r[0]) for r in rows]
    assert t == list(range(120))
    for column, name in ((1, "warm"), (2, "stepped")):
        np.testing.assert_array_equal([float(r[column]) for r in rows], evaluate(spec, name, t))


def test_table_json_round_trips(capsys, spec_path, spec):
    code, out, _ = run(
        capsys,
        "table",
        spec_path,
        "--steps",
        90,
        "--every",
        4,
        "--format",
        "json",
        "--schedule",
        "stepped",
        "warm",
    )
    assert code == 0
    document = json.loads(out)
    assert document["t"] == list(range(0, 90, 4))
    assert list(document["schedules"]) == ["warm", "stepped"]  # spec order
    assert document["schedules"]["stepped"]["unit"] == "epoch"
    for name in ("warm", "stepped"):
        np.testing.assert_array_equal(
            document["schedules"][name]["lr"], evaluate(spec, name, document["t"])
        )


def test_table_markdown(capsys, spec_path, spec):
    code, out, _ = run(
        capsys, "table", spec_path, "--steps", 3, "--format", "markdown", "--schedule", "warm"
    )
    assert code == 0
    lr = evaluate(spec, "warm", [0, 1, 2])
    assert out.splitlines() == [
        "| t | warm |",
        "| ---: | ---: |",
        *(f"| {t} | {lr[t]:.6e} |" for t in range(3)),
    ]


def test_table_default_steps_are_one_point_one_times_the_declared_length(capsys, spec_path):
    code, out, _ = run(capsys, "table", spec_path, "--format", "csv")
    assert code == 0
    rows = out.splitlines()[1:]
    # warm declares total_steps 200 (220); stepped's four decays need 40 epochs (44)
    assert len(rows) == 220 and rows[-1].startswith("219,")


def test_table_params_override(capsys, spec_path, spec):
    code, out, _ = run(
        capsys,
        "table",
        spec_path,
        "--format",
        "csv",
        "--every",
        50,
        "--params",
        "total_steps=400",
        "stepped.epochs=12",
    )
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))[1:]
    t = [int(r[0]) for r in rows]
    assert t == list(range(0, 440, 50))  # the horizon follows the overridden total_steps
    np.testing.assert_array_equal(
        [float(r[1]) for r in rows], evaluate(spec, "warm", t, params={"total_steps": 400})
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--params", "nope=1"], "--params nope: not a param of any chosen schedule"),
        (["--params", "total_steps=abc"], "expected K=V (or NAME.K=V) with a finite number"),
        (["--params", "warm.epochs=3"], "--params epochs: not a param of schedule 'warm'"),
        (["--params", "warmup_steps=500"], "warm: "),  # the milestone passes total_steps
        (["--schedule", "cold"], "no schedule named 'cold' (the spec has: plateau, stepped, warm)"),
        (["--schedule", "plateau"], "nothing to tabulate: every chosen schedule is metric-driven"),
    ],
)
def test_table_bad_command_lines(capsys, spec_path, argv, message):
    code, out, err = run(capsys, "table", spec_path, *argv)
    assert code == 2
    assert out == ""
    assert message in err
    assert "Traceback" not in err


def test_table_invalid_spec_prints_each_problem(capsys, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(INVALID)
    with pytest.raises(lrgen.SpecError) as raised:
        lrgen.load(path)
    code, out, err = run(capsys, "table", path)
    assert code == 2
    assert out == ""
    assert err.splitlines() == [str(p) for p in raised.value.problems]
    assert f"{path}:5:" in err  # positioned, as `lrgen validate` prints it


def test_table_missing_file(capsys, tmp_path):
    code, out, err = run(capsys, "table", tmp_path / "nowhere.yaml")
    assert code == 2 and out == ""
    assert "nowhere.yaml" in err and "no such file" in err


# --- lrgen show / plot --text -------------------------------------------------------------------


def braille_cells(line: str) -> int:
    return sum(0x2800 <= ord(c) <= 0x28FF for c in line)


def blocks(out: str) -> list[list[str]]:
    return [block.splitlines() for block in out.rstrip("\n").split("\n\n")]


def test_show_dimensions_and_axis_labels(capsys, spec_path, spec):
    code, out, _ = run(capsys, "show", spec_path, "--width", 40, "--height", 6)
    assert code == 0
    plots = blocks(out)
    assert [p[0].split(":")[0] for p in plots] == ["warm", "stepped", "plateau"]
    for plot in plots:
        title, *body, axis, ticks, summary = plot
        assert len(body) == 6
        assert [braille_cells(row) for row in body] == [40] * 6
        assert braille_cells(axis + ticks + summary + title) == 0
        assert len({len(row) for row in body}) <= 2  # the final value's row is the longer one
    title, *body, axis, ticks, summary = plots[0]
    lr = evaluate(spec, "warm", range(220))
    assert title == "warm: SequentialLR, lr(t) for step 0..219"
    assert body[0].startswith(f" {lr.max():.2e} ┤")  # the max on the top row
    assert body[-1].startswith(f" {lr.min():.2e} ┤")  # the min on the bottom row
    assert any(row.endswith(f"├ {lr[-1]:.2e}") for row in body)  # the last value, right
    assert ticks.split() == ["0", "219", "step"]
    assert summary == (  # final: at the end of training (total_steps 200), not the last tick
        f"start {lr[0]:.3e}   peak {lr.max():.3e} at step 20   "
        f"min {lr.min():.3e}   final {lr[199]:.3e} at step 199"
    )


def test_show_draws_the_shape(capsys, spec_path):
    code, out, _ = run(
        capsys,
        "show",
        spec_path,
        "--schedule",
        "stepped",
        "--steps",
        40,
        "--width",
        20,
        "--height",
        4,
    )
    assert code == 0
    _, *body, _, _, _ = blocks(out)[0]
    cells = ["".join(c for c in row if 0x2800 <= ord(c) <= 0x28FF) for row in body]
    # a staircase from the top left to the bottom right: 0.1, 0.05, 0.025, 0.0125
    assert cells[0][0] != "\u2800" and cells[0][-1] == "\u2800"
    assert cells[-1][-1] != "\u2800" and cells[-1][0] == "\u2800"
    assert body[0].startswith(" 1.00e-01 ┤") and body[-1].startswith(" 1.25e-02 ┤")


def test_show_constant_schedule_is_a_flat_line(capsys, tmp_path):
    path = tmp_path / "flat.yaml"
    path.write_text("lrgen: 1\nschedules:\n  flat:\n    lr: 0.1\n    schedule: {kind: Constant}\n")
    code, out, _ = run(capsys, "show", path, "--width", 10, "--height", 3)
    assert code == 0
    _, *body, _, ticks, _ = blocks(out)[0]
    assert ticks.split() == ["0", "999", "step"]  # no length anywhere: 1000 ticks
    assert [braille_cells(r.replace("\u2800", "")) for r in body] == [0, 10, 0]


def test_show_log_scale_leaves_out_zeros(capsys, tmp_path):
    path = tmp_path / "zero.yaml"
    path.write_text(
        "lrgen: 1\nschedules:\n  w:\n    lr: 0.1\n"
        "    schedule: {kind: LinearWarmup, warmup_steps: 10}\n"
    )
    code, out, _ = run(capsys, "show", path, "--log", "--steps", 20, "--height", 4)
    assert code == 0
    title, *body, _, _, summary = blocks(out)[0]
    assert title.endswith("log scale (zeros not drawn)")
    assert body[-1].startswith(" 1.00e-02 ┤")  # the bottom is the smallest positive value
    assert summary.startswith("start 0.000e+00")


def test_show_plateau_uses_the_synthetic_metric(capsys, spec_path, spec):
    code, out, _ = run(capsys, "show", spec_path, "--schedule", "plateau")
    assert code == 0
    title, *_, summary = blocks(out)[0]
    assert "(synthetic metric)" in title
    steps = default_steps(spec.schedules["plateau"])
    assert steps == math.ceil(1.1 * 10 * (2 + 1))
    lr = evaluate(spec, "plateau", range(steps), metrics=synthetic_metric(steps))
    assert summary.endswith(f"final {lr[-1]:.3e}")
    assert lr[-1] < lr[0]  # the flat stretch of the metric makes it reduce


def test_plot_text_is_show(capsys, spec_path):
    _, shown, _ = run(capsys, "show", spec_path, "--steps", 77, "--log")
    code, plotted, _ = run(capsys, "plot", spec_path, "--steps", 77, "--log", "--text")
    assert code == 0 and plotted == shown


def test_synthetic_metric_improves_then_stays_flat():
    loss = synthetic_metric(100)
    assert np.all(np.diff(loss[:40]) < 0) and np.all(loss[40:] == loss[40])
    np.testing.assert_array_equal(synthetic_metric(100, "max"), 11 - loss)


# --- lrgen plot ---------------------------------------------------------------------------------

needs_matplotlib = pytest.mark.skipif(
    importlib.util.find_spec("matplotlib") is None, reason="needs the plot extra (matplotlib)"
)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@needs_matplotlib
def test_plot_png(capsys, spec_path, tmp_path):
    out = tmp_path / "figs" / "lr.png"
    out.parent.mkdir()
    code, stdout, err = run(capsys, "plot", spec_path, "--schedule", "warm", "-o", out)
    assert (code, err) == (0, "")
    assert stdout.strip() == str(out)
    assert png_size(out) == (1400, 800)  # 7 x 4 inches at 200 dpi
    assert os.listdir(out.parent) == ["lr.png"]  # no temporary file left behind


@needs_matplotlib
def test_plot_svg_is_valid_and_reproducible(capsys, spec_path, tmp_path):
    first, second = tmp_path / "a.svg", tmp_path / "b.svg"
    for out in (first, second):
        assert run(capsys, "plot", spec_path, "--log", "-o", out)[0] == 0
    assert ET.parse(first).getroot().tag == "{http://www.w3.org/2000/svg}svg"
    assert first.read_bytes() == second.read_bytes()


@needs_matplotlib
def test_plot_default_output_is_named_after_the_spec(capsys, spec_path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, stdout, _ = run(capsys, "plot", spec_path, "--schedule", "warm")
    assert code == 0 and stdout.strip() == "sched.png"
    png_size(tmp_path / "sched.png")


@needs_matplotlib
def test_plot_into_a_missing_directory(capsys, spec_path, tmp_path):
    code, out, err = run(capsys, "plot", spec_path, "-o", tmp_path / "nowhere" / "lr.png")
    assert (code, out) == (2, "")
    assert err == f"lrgen plot: {tmp_path / 'nowhere' / 'lr.png'}: No such file or directory\n"


def test_plot_unknown_format(capsys, spec_path, tmp_path):
    code, _, err = run(capsys, "plot", spec_path, "-o", tmp_path / "lr.jpg")
    assert code == 2
    assert "lr.jpg: unknown image format; use .png, .svg, .pdf" in err
    assert not (tmp_path / "lr.jpg").exists()


def test_plot_without_matplotlib(capsys, spec_path, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now fails
    code, out, err = run(capsys, "plot", spec_path, "-o", tmp_path / "lr.png")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "lrgen plot: matplotlib is not installed: pip install matplotlib "
        "(or use `lrgen show` for a text plot)"
    ]
    assert not (tmp_path / "lr.png").exists()
    assert run(capsys, "plot", spec_path, "--text")[0] == 0  # the text path needs none


@needs_matplotlib
def test_plot_invalid_spec(capsys, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(INVALID)
    code, out, err = run(capsys, "plot", path, "-o", tmp_path / "lr.png")
    assert code == 2 and out == ""
    with pytest.raises(lrgen.SpecError) as raised:
        lrgen.load(path)
    assert err.splitlines() == [str(p) for p in raised.value.problems]
    assert not (tmp_path / "lr.png").exists()


@pytest.fixture
def figures(monkeypatch):
    """The figures ``lrgen plot`` saves, captured as they are saved."""
    import lrgen.plot

    saved = []
    original = lrgen.plot.save_atomically

    def capture(figure, path):
        saved.append(figure)
        original(figure, path)

    monkeypatch.setattr(lrgen.plot, "save_atomically", capture)
    return saved


def texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


@needs_matplotlib
def test_plot_marks_and_annotations(capsys, spec_path, tmp_path, figures):
    assert run(capsys, "plot", spec_path, "--schedule", "warm", "-o", tmp_path / "w.png")[0] == 0
    (ax,) = figures[0].axes
    unit, *homeless = ax.get_xlabel().splitlines()  # values with no free spot go under the axes
    assert unit == "step"
    assert ax.get_title() == "warm"
    assert ax.get_yscale() == "linear"
    labels = texts(ax)
    assert "warmup end → CosineAnnealingLR (20)" in labels  # the join and the warmup end, merged
    assert "end of training (200)" in labels
    assert "peak 0.001 at step 20" in labels
    assert "start 1e-05" in labels
    # final: the rate at the last step of training (total_steps 200), not at the last tick shown
    assert "final 1.08e-06 at step 199" in labels + homeless
    assert sorted(line.get_xdata()[0] for line in ax.lines if line.get_linestyle() == ":") == [
        20,
        200,
    ]
    assert ax.get_xlim() == (0, 219)


@needs_matplotlib
def test_plot_mixed_units_get_one_panel_each(capsys, spec_path, tmp_path, figures):
    code, _, _ = run(capsys, "plot", spec_path, "--log", "-o", tmp_path / "m.png")
    assert code == 0
    panels = [
        ax for ax in figures[0].axes if ax.get_visible() and ax.get_ylabel() == "learning rate"
    ]
    assert [ax.get_title() for ax in panels] == ["warm", "stepped", "plateau (synthetic metric)"]
    assert [ax.get_xlabel().splitlines()[0] for ax in panels] == ["step", "epoch", "epoch"]
    assert {ax.get_yscale() for ax in panels} == {"log"}
    # each panel has its own horizon: 1.1 x 200 steps, 1.1 x 40 epochs, 1.1 x 30 epochs
    assert [ax.get_xlim()[1] for ax in panels] == [219, 43, 32]


TWO_STEP_SCHEDULES = """\
lrgen: 1
schedules:
  a:
    lr: 0.1
    schedule: {kind: CosineAnnealingLR, T_max: 100}
  b:
    lr: 0.05
    schedule: {kind: LinearWarmup, warmup_steps: 30}
"""


@needs_matplotlib
def test_plot_overlay_carries_values_in_the_legend(capsys, tmp_path, figures):
    path = tmp_path / "two.yaml"
    path.write_text(TWO_STEP_SCHEDULES)
    assert run(capsys, "plot", path, "-o", tmp_path / "o.png")[0] == 0
    (ax,) = figures[0].axes
    assert ax.get_title() == "two.yaml"
    assert ax.get_xlim() == (0, 109)  # one horizon for both: 1.1 x max(100, 2 x 30)
    (legend,) = figures[0].legends
    final = lrgen.evaluate(lrgen.load(path).schedules["a"], np.array([109]))[0]
    assert [t.get_text() for t in legend.get_texts()] == [
        f"a\nstart 0.1, peak 0.1 at 0, final {final:.3g}",
        "b\nstart 0, peak 0.05 at 30, final 0.05",
    ]
    assert run(capsys, "plot", path, "--small-multiples", "-o", tmp_path / "p.png")[0] == 0
    assert [a.get_title() for a in figures[1].axes if a.get_visible()] == ["a", "b"]


IMPORTS = """
import sys
from lrgen.cli import COMMANDS, main
code = main(sys.argv[1:])
print(code, "matplotlib" in sys.modules)
"""


@pytest.mark.parametrize(
    ("command", "imports"),
    [("table", False), ("show", False), pytest.param("plot", True, marks=needs_matplotlib)],
)
def test_only_plot_imports_matplotlib(spec_path, tmp_path, command, imports):
    argv = [command, str(spec_path), "--steps", "10"]
    if command == "plot":
        argv += ["-o", str(tmp_path / "x.png")]
    result = subprocess.run(
        [sys.executable, "-c", IMPORTS, *argv],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert result.stdout.splitlines()[-1] == f"0 {imports}"


# --- default horizon ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schedule", "steps"),
    [
        ("params: {total_steps: 200}\n    schedule: {kind: CosineAnnealingLR, T_max: 150}", 220),
        ("schedule: {kind: CosineAnnealingLR, T_max: 1000}", 1100),
        ("schedule: {kind: OneCycleLR, max_lr: 0.1, total_steps: 333}", 367),
        ("schedule: {kind: StepLR, step_size: 25}", 110),
        ("schedule: {kind: Constant}", 1000),
        (
            "params: {warmup: 300}\n"
            "    schedule: {kind: LambdaLR, lr_lambda: 'min(1, t / warmup)'}",
            330,
        ),
        (
            "schedule:\n      kind: SequentialLR\n      milestones: [100]\n      schedulers:\n"
            "        - {kind: LinearWarmup, warmup_steps: 100}\n"
            "        - {kind: StepLR, step_size: 50}",
            330,
        ),
    ],
)
def test_default_steps_rule(tmp_path, schedule, steps):
    path = tmp_path / "h.yaml"
    path.write_text(f"lrgen: 1\nschedules:\n  s:\n    lr: 0.1\n    {schedule}\n")
    assert default_steps(lrgen.load(path).schedules["s"]) == steps


# --- lrgen init ---------------------------------------------------------------------------------


@pytest.mark.parametrize("recipe", list(RECIPES))
def test_init_recipe_validates_and_is_lint_clean(capsys, tmp_path, recipe):
    out = tmp_path / f"{recipe}.yaml"
    code, stdout, err = run(capsys, "init", recipe, "-o", out)
    assert (code, stdout) == (0, "")
    assert f"wrote {out}" in err
    assert out.read_text() == recipe_text(recipe)
    spec = lrgen.load(out)
    assert lint_spec(spec) == []
    assert sum(line.lstrip().startswith("#") for line in out.read_text().splitlines()) >= 3
    for schedule in spec.entries:  # every starter also evaluates (or needs its metric)
        steps = default_steps(schedule)
        metrics = synthetic_metric(steps) if schedule.metric_driven else None
        assert np.all(np.isfinite(lrgen.evaluate(schedule, np.arange(steps), metrics=metrics)))


def test_init_prints_the_default_recipe(capsys):
    code, out, _ = run(capsys, "init")
    assert code == 0
    assert out == recipe_text("warmup-cosine")


def test_init_refuses_to_overwrite(capsys, tmp_path):
    out = tmp_path / "mine.yaml"
    out.write_text("keep me\n")
    code, stdout, err = run(capsys, "init", "sgdr", "-o", out)
    assert (code, stdout) == (2, "")
    assert err.strip() == f"lrgen init: {out} already exists; use --force to overwrite it"
    assert out.read_text() == "keep me\n"
    assert run(capsys, "init", "sgdr", "-o", out, "--force")[0] == 0
    assert out.read_text() == recipe_text("sgdr")
    assert os.listdir(tmp_path) == ["mine.yaml"]


def test_init_list_and_unknown_recipe(capsys):
    code, out, _ = run(capsys, "init", "--list")
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == list(RECIPES)
    with pytest.raises(SystemExit) as exited:
        main(["init", "cosine-please"])
    assert exited.value.code == 2
    assert "invalid choice: 'cosine-please'" in capsys.readouterr().err


def test_recipes_ship_in_the_wheel():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "lrgen.recipes" in config["packages"]
    assert "*.yaml" in config["package-data"]["lrgen.recipes"]
    shipped = {p.stem for p in (ROOT / "lrgen" / "recipes").glob("*.yaml")}
    assert shipped == set(RECIPES)


def test_recipes_name_real_commands():
    """The comments of each recipe tell the user what to run next: those commands exist."""
    for recipe in RECIPES:
        named = re.findall(r"lrgen ([a-z]+) (?:THIS_FILE|>)", recipe_text(recipe))
        assert {"validate", "show"} <= set(named) <= set(COMMANDS), recipe
