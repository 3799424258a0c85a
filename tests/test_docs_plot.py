"""Figures worth publishing: ``lrgen plot`` as the docs and the README use it.

Labels never cover a curve, no colour is used twice in a figure, identical curves stay
distinguishable, schedules that cannot share axes get panels, "final" is the rate at the end of
training, and the title, size, labels and momentum panel can be chosen.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import lrgen
from lrgen.cli import main
from lrgen.reference import momentum as reference_momentum

matplotlib = pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "spec" / "examples"

MANY = "lrgen: 1\nschedules:\n" + "".join(
    f"  s{i}:\n    lr: {0.1 * (1 + i % 3)}\n"
    f"    schedule: {{kind: StepLR, step_size: {10 + i}, gamma: 0.5}}\n"
    for i in range(9)
)

TWINS = """\
lrgen: 1
schedules:
  cosine:
    lr: 0.1
    params: {total_steps: 100}
    schedule: {kind: CosineAnnealingLR, T_max: total_steps}
  same_cosine:
    lr: 0.1
    params: {total_steps: 100}
    schedule: {kind: CosineAnnealingLR, T_max: total_steps}
  warmup:
    lr: 0.1
    schedule: {kind: LinearWarmup, warmup_steps: 30}
"""

APART = """\
lrgen: 1
schedules:
  short:
    lr: 0.1
    schedule: {kind: CosineAnnealingLR, T_max: 100}
  long:
    lr: 0.1
    schedule: {kind: CosineAnnealingLR, T_max: 10000}
"""


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


def plot(capsys, tmp_path, *argv: object) -> None:
    code = main(["plot", *map(str, argv), "-o", str(tmp_path / "out.png")])
    out, err = capsys.readouterr()
    assert (code, out.strip()) == (0, str(tmp_path / "out.png")), err


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    return path


def curves(ax) -> list:
    """The schedule curves of an axes (step plots), not the dotted marks or the dots."""
    return [line for line in ax.lines if line.get_drawstyle() == "steps-post"]


def lr_axes(figure) -> list:
    return [ax for ax in figure.axes if ax.get_ylabel().startswith("learning rate")]


def drawn_segments(line) -> np.ndarray:
    """The segments of a steps-post line as drawn, (x0, x1, y0, y1) rows in pixels."""
    x, y = (np.asarray(v, dtype=np.float64) for v in line.get_data())
    ok = np.isfinite(y) & ((y > 0) if line.axes.get_yscale() == "log" else True)
    xy = line.axes.transData.transform(np.column_stack([x[ok], y[ok]]))
    x, y = xy[:, 0], xy[:, 1]
    return np.concatenate(
        [
            np.column_stack([x[:-1], x[1:], y[:-1], y[:-1]]),
            np.column_stack([x[1:], x[1:], y[:-1], y[1:]]),
        ]
    )


def covered(box, segments: np.ndarray) -> int:
    x_lo, x_hi = np.minimum(segments[:, 0], segments[:, 1]), np.maximum(*segments[:, :2].T)
    y_lo, y_hi = np.minimum(segments[:, 2], segments[:, 3]), np.maximum(*segments[:, 2:].T)
    hit = (x_hi >= box.x0) & (x_lo <= box.x1) & (y_hi >= box.y0) & (y_lo <= box.y1)
    return int(np.count_nonzero(hit))


@pytest.mark.parametrize(
    "argv",
    [
        ["transformer.yaml", "--schedule", "warmup_cosine"],
        ["transformer.yaml", "--schedule", "warmup_cosine", "wsd", "inverse_sqrt"],
        [
            *("image_classification.yaml", "plateau.yaml", "--log", "--schedule"),
            *("resnet50_v2_recipe", "resnet_step", "segmentation_poly", "plateau_val_loss"),
        ],
        [
            *("transformer.yaml", "cyclical.yaml", "--momentum"),
            *("--schedule", "warmup_cosine", "one_cycle", "sgdr"),
        ],
        ["image_classification.yaml"],
        ["cyclical.yaml", "--schedule", "one_cycle", "one_cycle_three_phase"],
    ],
)
def test_labels_never_cover_a_curve(capsys, tmp_path, figures, argv):
    files = [EXAMPLES / a if a.endswith(".yaml") else a for a in argv]
    plot(capsys, tmp_path, *files)
    figure = figures[0]
    renderer = figure.canvas.get_renderer()
    checked = 0
    for ax in lr_axes(figure):
        segments = [drawn_segments(line) for line in curves(ax)]
        for text in ax.texts:
            box = text.get_window_extent(renderer)
            assert [covered(box, s) for s in segments] == [0] * len(segments), text.get_text()
            checked += 1
    assert checked >= 3


def test_final_is_the_rate_at_the_end_of_training(capsys, tmp_path, figures):
    path = EXAMPLES / "transformer.yaml"
    plot(capsys, tmp_path, path, "--schedule", "warmup_cosine", "wsd")
    schedule = lrgen.load(path).schedules["warmup_cosine"]
    end = lrgen.evaluate(schedule, [99_999])[0]  # total_steps 100000; the plot runs to 110000
    (legend,) = figures[0].legends
    first = legend.get_texts()[0].get_text()
    assert first.endswith(f"final {end:.3g} at 99,999")
    assert f"{lrgen.evaluate(schedule, [109_999])[0]:.3g}" not in first


def test_no_colour_twice_and_many_schedules_get_panels(capsys, tmp_path, figures):
    path = write(tmp_path, MANY)
    plot(capsys, tmp_path, path)
    panels = lr_axes(figures[0])
    assert len(panels) == 9  # more than four schedules: one panel each
    # more panels than colours: one colour for all, so that no two panels share one by chance
    assert {curves(ax)[0].get_color() for ax in panels} == {"#0072B2"}
    plot(capsys, tmp_path, path, "--overlay")
    (ax,) = lr_axes(figures[1])
    styles = [(line.get_color(), str(line.get_linestyle())) for line in curves(ax)]
    assert len(styles) == 9 and len(set(styles)) == 9
    assert len({color for color, _ in styles}) == 7  # the whole palette before any dashes


def test_identical_curves_stay_distinguishable(capsys, tmp_path, figures):
    plot(capsys, tmp_path, write(tmp_path, TWINS))
    (ax,) = lr_axes(figures[0])
    cosine, same, warmup = curves(ax)
    assert np.array_equal(cosine.get_ydata(), same.get_ydata())
    assert cosine.get_linestyle() == "-" and same.get_linestyle() == "--"
    assert same.get_zorder() > cosine.get_zorder()  # on top, its gaps show the curve below
    assert len({cosine.get_color(), same.get_color(), warmup.get_color()}) == 3
    labels = [t.get_text() for t in figures[0].legends[0].get_texts()]
    assert [label.split("\n")[0] for label in labels if "same_cosine" in label] == [
        "same_cosine (the same curve as cosine)"
    ]


def test_very_different_lengths_get_panels_unless_overlay_is_asked(capsys, tmp_path, figures):
    path = write(tmp_path, APART)
    plot(capsys, tmp_path, path)
    assert [ax.get_title() for ax in lr_axes(figures[0])] == ["short", "long"]
    assert [ax.get_xlim()[1] for ax in lr_axes(figures[0])] == [109, 10_999]
    plot(capsys, tmp_path, path, "--overlay")
    (ax,) = lr_axes(figures[1])
    assert ax.get_xlim() == (0, 10_999)


def test_overlay_of_mixed_units_is_refused(capsys, tmp_path):
    code = main(["plot", str(EXAMPLES / "image_classification.yaml"), "--overlay"])
    assert code == 2
    assert capsys.readouterr().err == (
        "lrgen plot: --overlay: the schedules count in different units (step, epoch)\n"
    )


def test_title_size_and_no_labels(capsys, tmp_path, figures):
    path = EXAMPLES / "transformer.yaml"
    plot(capsys, tmp_path, path, "--schedule", "warmup_cosine", "--title", "Mine", "--size", 5, 3)
    (ax,) = lr_axes(figures[0])
    assert ax.get_title() == "Mine"
    assert tuple(figures[0].get_size_inches()) == (5.0, 3.0)
    assert any(t.get_text().startswith("peak ") for t in ax.texts)
    plot(capsys, tmp_path, path, "--schedule", "warmup_cosine", "--no-labels")
    (ax,) = lr_axes(figures[1])
    assert len(ax.texts) == 0 and ax.get_xlabel() == "step"
    assert len([line for line in ax.lines if line.get_marker() == "o"]) == 3  # the dots stay


def test_momentum_panel(capsys, tmp_path, figures):
    path = EXAMPLES / "cyclical.yaml"
    plot(capsys, tmp_path, path, "--schedule", "one_cycle", "sgdr", "--momentum")
    momentum_axes = [ax for ax in figures[0].axes if ax.get_ylabel() == "momentum"]
    assert len(momentum_axes) == 1  # sgdr cycles no momentum: no panel under it
    (line,) = momentum_axes[0].lines
    t, value = line.get_data()
    expected = reference_momentum(lrgen.load(path).schedules["one_cycle"], np.asarray(t))
    np.testing.assert_array_equal(value, expected)
    assert momentum_axes[0].get_xlabel() == "step"


def test_momentum_without_a_cycling_schedule_says_so(capsys, tmp_path):
    path = EXAMPLES / "transformer.yaml"
    code = main(
        ["plot", str(path), "--schedule", "wsd", "--momentum", "-o", str(tmp_path / "x.png")]
    )
    assert code == 0
    assert capsys.readouterr().err == "lrgen plot: note: no chosen schedule cycles momentum\n"
