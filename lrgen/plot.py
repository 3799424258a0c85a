"""``lrgen plot`` (matplotlib figures) and ``lrgen show`` / ``lrgen plot --text`` (Unicode braille
plots for terminals and CI logs).

matplotlib is an optional extra (``lrgen[plot]``) imported inside :func:`run_plot` only; the text
path needs NumPy alone. A metric-driven schedule (``ReduceLROnPlateau``) is drawn against the
documented :func:`synthetic_metric` and says so in its title.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lrgen.lint import Mark, declared_length, marks
from lrgen.output import write_atomically
from lrgen.table import (
    EXIT_INVALID,
    EXIT_OK,
    Chosen,
    ToolError,
    add_selection_arguments,
    choose,
    fail,
    load_specs,
    sample,
)

#: Evaluate every tick up to this many; beyond, this many evenly spaced ticks (min/max per pixel
#: column still shows every step of a staircase, whose plateaus are longer than the spacing).
MAX_SAMPLES = 200_000
#: Points drawn per line at most; longer series are reduced to the min and max of each bucket.
MAX_DRAWN = 4000
#: Share of the horizon over which the synthetic metric improves before it goes flat.
METRIC_IMPROVING = 0.4
SYNTHETIC_NOTE = "synthetic metric"
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
#: Okabe & Ito's colour-blind-safe palette (its yellow left out: unreadable on white).
COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
#: Resolution of PNG output; labels are placed at this resolution too.
DPI = 200
DEFAULT_WIDTH, DEFAULT_HEIGHT = 64, 10


def synthetic_metric(n: int, mode: str = "min") -> np.ndarray:
    """The metric ``ReduceLROnPlateau`` is drawn against: ``n`` values, one per tick.

    A loss ``1 + 9 * (1 - s)**2`` with ``s = min(t / k, 1)``, ``k = ceil(0.4 * n)``: it improves,
    quickly and then slowly, for the first 40% of the run, then stays flat, so the schedule
    reduces its rate every ``patience + 1`` ticks (plus ``cooldown``) from then on. For
    ``mode: max`` the metric is ``11 - loss`` (an accuracy-like metric that rises, then stays).
    """
    k = max(1, math.ceil(METRIC_IMPROVING * n))
    s = np.minimum(np.arange(n, dtype=np.float64) / k, 1.0)
    loss = 1.0 + 9.0 * (1.0 - s) ** 2
    return 11.0 - loss if mode == "max" else loss


@dataclass(frozen=True, slots=True)
class Series:
    """One schedule sampled for drawing."""

    chosen: Chosen
    steps: int  # the horizon: ticks 0 .. steps-1
    t: np.ndarray  # the ticks evaluated (all of them up to MAX_SAMPLES)
    lr: np.ndarray
    marks: tuple[Mark, ...]
    metric: np.ndarray | None  # the synthetic metric driving a metric-driven schedule
    final_index: int  # index into t of the last tick of training (see sample_series)
    momentum: np.ndarray | None = None  # what a momentum-cycling schedule sets, when asked for

    @property
    def label(self) -> str:
        return self.chosen.label

    @property
    def unit(self) -> str:
        return self.chosen.unit

    @property
    def peak_index(self) -> int:
        return int(np.argmax(self.lr))


def sample_series(chosen: Chosen, steps: int, *, momentum: bool = False) -> Series:
    """Sample ``chosen`` at ticks ``0 .. steps-1``.

    Its *final* value is the one at the last tick of training: ``t = L - 1`` where ``L`` is the
    training length the schedule declares (``total_steps``, ``epochs`` ...), or the last tick
    shown when it declares none or when ``steps`` stops earlier.
    """
    if steps <= MAX_SAMPLES:
        t = np.arange(steps, dtype=np.int64)
    else:
        t = np.unique(np.linspace(0, steps - 1, MAX_SAMPLES).round().astype(np.int64))
    metric = None
    if chosen.schedule.metric_driven:
        metric = synthetic_metric(steps, chosen.schedule.node.arg("mode"))
    lr = sample(chosen, t, metric)
    found = [m for m in marks(chosen.schedule, chosen.params) if m.t < steps]
    declared = declared_length(chosen.schedule, chosen.params)
    if declared is not None and declared.ticks < steps:
        found.append(
            Mark(declared.ticks, "end of training", "end", f"{chosen.schedule.path}.params")
        )
    last = min(declared.ticks, steps) - 1 if declared is not None else steps - 1
    final_index = max(0, int(np.searchsorted(t, last, side="right")) - 1)
    cycled = None
    if momentum:
        from lrgen.reference import momentum as reference_momentum

        cycled = reference_momentum(chosen.schedule, t, chosen.params or None)
    return Series(chosen, steps, t, lr, tuple(found), metric, final_index, cycled)


def _series_for(
    chosen: Sequence[Chosen], steps: int | None, shared: bool, *, momentum: bool = False
) -> list[Series]:
    if steps is None and shared:
        steps = max(c.default_steps() for c in chosen)
    return [sample_series(c, steps or c.default_steps(), momentum=momentum) for c in chosen]


def _select(args: argparse.Namespace, command: str) -> list[Chosen] | int:
    specs = load_specs(args.spec, command)
    if specs is None:
        return EXIT_INVALID
    return choose(specs, args.schedule, args.params)


# --- the text plot ------------------------------------------------------------------------------

_BRAILLE_BITS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))  # [column][row from top]


def text_plot(
    series: Series, *, width: int = DEFAULT_WIDTH, height: int = DEFAULT_HEIGHT, log: bool = False
) -> list[str]:
    """A braille plot of one series: a title line, ``height`` rows of ``width`` braille cells with
    the max, min and start values on the left axis and the last value on the right, the
    x axis, and a summary line (whose final value is the one at the end of training)."""
    values = _to_scale(series.lr, log)
    finite = values[np.isfinite(values)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    rows_px, cols_px = 4 * height, 2 * width
    grid = np.zeros((rows_px, cols_px), dtype=bool)  # [pixel row from the bottom][pixel column]
    previous = None
    for col in range(cols_px):
        chunk = _column(series, values, col, cols_px)
        chunk = chunk[np.isfinite(chunk)]
        if not chunk.size:
            previous = None
            continue
        first, low, high = (_row(v, lo, hi, rows_px) for v in (chunk[0], chunk.min(), chunk.max()))
        if previous is not None:  # join to the previous column so that drops stay connected
            low, high = min(low, previous, first), max(high, previous, first)
        grid[low : high + 1, col] = True
        previous = _row(chunk[-1], lo, hi, rows_px)
    cells = []
    for row in range(height):
        line = []
        for cell in range(width):
            bits = 0
            for dx in range(2):
                for dy in range(4):
                    if grid[rows_px - 1 - (4 * row + dy), 2 * cell + dx]:
                        bits |= _BRAILLE_BITS[dx][dy]
            line.append(chr(0x2800 + bits))
        cells.append("".join(line))

    lr = series.lr
    start, last_value, peak = float(lr[0]), float(lr[-1]), float(lr[series.peak_index])
    low_value = float(np.min(lr))
    # the bottom of a log axis is the smallest positive value; zeros are not drawn
    left = {0: peak, height - 1: 10.0**lo if log and finite.size else low_value}
    start_row = height - 1 - _row(values[0], lo, hi, rows_px) // 4
    left.setdefault(start_row, start)
    final_row = height - 1 - _row(values[-1], lo, hi, rows_px) // 4
    label_width = 9
    body = []
    for row, text in enumerate(cells):
        tick = (
            f"{left[row]:.2e}".rjust(label_width) + " ┤"
            if row in left
            else " " * label_width + " │"
        )
        right = f"├ {last_value:.2e}" if row == final_row else "│"
        body.append(f"{tick}{text}{right}")
    last = series.steps - 1
    axis = " " * label_width + " └" + "─" * width + "┘"
    ticks = " " * (label_width + 2) + "0" + str(last).rjust(width - 1) + f" {series.unit}"
    note = f" ({SYNTHETIC_NOTE})" if series.metric is not None else ""
    scale = ", log scale" if log else ""
    if log and low_value <= 0:
        scale += " (zeros not drawn)"
    title = (
        f"{series.label}: {series.chosen.schedule.node.kind}, lr(t) for "
        f"{series.unit} 0..{last}{scale}{note}"
    )
    summary = (
        f"start {start:.3e}   peak {peak:.3e} at {series.unit} "
        f"{int(series.t[series.peak_index])}   min {low_value:.3e}   final {_final_text(series)}"
    )
    return [title, *body, axis, ticks, summary]


def _final_text(series: Series) -> str:
    """The value at the end of training, and where, unless that is the last tick shown."""
    i = series.final_index
    where = "" if i == len(series.t) - 1 else f" at {series.unit} {int(series.t[i])}"
    return f"{float(series.lr[i]):.3e}{where}"


def _to_scale(lr: np.ndarray, log: bool) -> np.ndarray:
    if not log:
        return lr.astype(np.float64)
    with np.errstate(divide="ignore"):
        return np.where(lr > 0, np.log10(np.where(lr > 0, lr, 1.0)), -np.inf)


def _column(series: Series, values: np.ndarray, col: int, cols: int) -> np.ndarray:
    """The values of the ticks in pixel column ``col`` (the nearest sample if none falls in it)."""
    a = col * series.steps // cols
    b = max(a + 1, (col + 1) * series.steps // cols)
    i, j = np.searchsorted(series.t, [a, b])
    if i == j:
        i = min(i, len(series.t) - 1)
        j = i + 1
    return values[i:j]


def _row(value: float, lo: float, hi: float, rows: int) -> int:
    """The pixel row of ``value`` (0 at the bottom); a zero on a log scale goes to the bottom."""
    if not math.isfinite(value):
        return 0
    if not hi > lo:
        return rows // 2
    return round((float(value) - lo) / (hi - lo) * (rows - 1))


def _print_text(series: Sequence[Series], width: int, height: int, log: bool) -> None:
    blocks = ["\n".join(text_plot(s, width=width, height=height, log=log)) for s in series]
    sys.stdout.write("\n\n".join(blocks) + "\n")


# --- lrgen show ---------------------------------------------------------------------------------


def add_show_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", nargs="+", metavar="SPEC", help="spec files (YAML or JSON)")
    add_selection_arguments(parser)
    _add_text_arguments(parser)
    parser.add_argument("--log", action="store_true", help="logarithmic learning-rate axis")


def _add_text_arguments(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    parser.add_argument(
        "--width",
        type=_at_least(8),
        default=DEFAULT_WIDTH,
        metavar="W",
        help=f"{prefix}plot width in characters (default {DEFAULT_WIDTH})",
    )
    parser.add_argument(
        "--height",
        type=_at_least(2),
        default=DEFAULT_HEIGHT,
        metavar="H",
        help=f"{prefix}plot height in lines (default {DEFAULT_HEIGHT})",
    )


def run_show(args: argparse.Namespace) -> int:
    try:
        chosen = _select(args, "show")
        if isinstance(chosen, int):
            return chosen
        series = _series_for(chosen, args.steps, shared=False)
    except ToolError as err:
        return fail("show", str(err))
    _print_text(series, args.width, args.height, args.log)
    return EXIT_OK


def _at_least(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is less than {minimum}")
        return value

    return parse


# --- lrgen plot ---------------------------------------------------------------------------------

#: Overlay at most this many schedules by default; more get one panel each.
MAX_OVERLAY = 4
#: Overlaid schedules whose horizons differ more than this factor get one panel each.
MAX_HORIZON_RATIO = 4.0
#: ... and so do those whose peaks differ more than this factor (on a linear axis).
MAX_PEAK_RATIO = 20.0
#: Dash patterns that tell overlaid curves apart beyond the palette, and mark a curve that lies
#: exactly on an earlier one (its dashes let the curve below show through).
DASHES: tuple[Any, ...] = ("-", (0, (5, 2)), (0, (1, 1.5)), (0, (6, 2, 1, 2)))
SAME_DASHES = (0, (3, 3))


def add_plot_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", nargs="+", metavar="SPEC", help="spec files (YAML or JSON)")
    add_selection_arguments(parser)
    parser.add_argument("--log", action="store_true", help="logarithmic learning-rate axis")
    layout = parser.add_mutually_exclusive_group()
    layout.add_argument(
        "--small-multiples",
        action="store_true",
        help="one panel per schedule (the default for more than "
        f"{MAX_OVERLAY} schedules, mixed units, or very different lengths or peaks)",
    )
    layout.add_argument(
        "--overlay", action="store_true", help="draw every schedule on one axes (one unit only)"
    )
    parser.add_argument(
        "--momentum",
        action="store_true",
        help="add a momentum panel under each schedule that cycles momentum "
        "(OneCycleLR, CyclicLR with cycle_momentum)",
    )
    parser.add_argument("--title", metavar="TEXT", help="figure title (default: the spec names)")
    parser.add_argument(
        "--size",
        nargs=2,
        type=_positive_float,
        metavar=("W", "H"),
        help="figure size in inches (default: from the number of panels)",
    )
    parser.add_argument(
        "--no-labels",
        dest="labels",
        action="store_false",
        help="leave out the value and line labels (the dots and dotted lines stay)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="the image to write, .png, .svg or .pdf (default: the first spec's "
        "name with .png, in the current directory)",
    )
    parser.add_argument(
        "--text", action="store_true", help="print text plots instead of drawing (as `lrgen show`)"
    )
    _add_text_arguments(parser, "with --text: ")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def run_plot(args: argparse.Namespace) -> int:
    output = args.output
    if not args.text:
        output = output or _default_output(args.spec[0])
        if os.path.splitext(output)[1].lower() not in FORMATS:
            return fail("plot", f"{output}: unknown image format; use {', '.join(FORMATS)}")
    try:
        chosen = _select(args, "plot")
        if isinstance(chosen, int):
            return chosen
        if args.text:
            _print_text(
                _series_for(chosen, args.steps, shared=False), args.width, args.height, args.log
            )
            return EXIT_OK
        if args.overlay and len({c.unit for c in chosen}) > 1:
            return fail("plot", "--overlay: the schedules count in different units (step, epoch)")
        try:
            import matplotlib
        except ImportError:
            return fail(
                "plot",
                "matplotlib is not installed: pip install matplotlib "
                "(or use `lrgen show` for a text plot)",
            )
        panels = args.small_multiples or (not args.overlay and _needs_panels(chosen, args.steps))
        series = _series_for(chosen, args.steps, shared=not panels, momentum=args.momentum)
        if not panels and not args.overlay and _peaks_too_far_apart(series, args.log):
            panels = True
            series = _series_for(chosen, args.steps, shared=False, momentum=args.momentum)
    except ToolError as err:
        return fail("plot", str(err))
    if args.momentum and all(s.momentum is None for s in series):
        print("lrgen plot: note: no chosen schedule cycles momentum", file=sys.stderr)
    # no pyplot and no global backend switch: the figure renders on its own Agg canvas
    with matplotlib.rc_context(STYLE):
        figure = draw(
            series,
            title=args.title if args.title is not None else _title(args.spec),
            log=args.log,
            panels=panels,
            labels=args.labels,
            size=args.size,
            momentum=args.momentum,
            own_title=args.title is not None,
        )
        try:
            save_atomically(figure, output)
        except OSError as err:
            return fail("plot", f"{output}: {err.strerror or err}")
    print(output)
    return EXIT_OK


def _needs_panels(chosen: Sequence[Chosen], steps: int | None) -> bool:
    """One panel each for many schedules, mixed units, or lengths too different to share an
    x axis (the short one would be squeezed against the left edge)."""
    if len(chosen) > MAX_OVERLAY or len({c.unit for c in chosen}) > 1:
        return True
    if steps is not None or len(chosen) < 2:
        return False
    horizons = [c.default_steps() for c in chosen]
    return max(horizons) > MAX_HORIZON_RATIO * min(horizons)


def _peaks_too_far_apart(series: Sequence[Series], log: bool) -> bool:
    """Peaks so different that the smaller curve would lie flat on the axis (linear axis only)."""
    peaks = [float(s.lr[s.peak_index]) for s in series]
    if log or len(series) < 2 or min(peaks) <= 0:
        return False
    return max(peaks) > MAX_PEAK_RATIO * min(peaks)


def _default_output(spec: str) -> str:
    stem = os.path.splitext(os.path.basename(spec))[0] or "lrgen"
    return f"{stem}.png"


def _title(paths: Sequence[str]) -> str:
    return ", ".join(os.path.basename(p) for p in paths)


@dataclass(frozen=True, slots=True)
class _Style:
    """How one curve is drawn: its colour, its dashes, and the curve it coincides with."""

    color: str
    dashes: Any = "-"
    same_as: str | None = None


def _styles(series: Sequence[Series], overlaid: bool) -> list[_Style]:
    """No colour twice in one figure: overlaid curves take the palette in order (then dash
    patterns, should there be more curves than colours); panels take one colour each, or all the
    same one when there are more panels than colours. A curve equal to an earlier overlaid one is
    dashed on top of it and says so in the legend."""
    n = len(series)
    if not overlaid:
        return [_Style(COLORS[i] if n <= len(COLORS) else COLORS[0]) for i in range(n)]
    styles = []
    for i, s in enumerate(series):
        same = next((e for e in series[:i] if _same_curve(e, s)), None)
        color = COLORS[i % len(COLORS)]
        dashes = DASHES[(i // len(COLORS)) % len(DASHES)]
        if same is not None:
            styles.append(_Style(color, SAME_DASHES, same.label))
        else:
            styles.append(_Style(color, dashes))
    return styles


def _same_curve(a: Series, b: Series) -> bool:
    return (
        a.t.shape == b.t.shape
        and bool(np.array_equal(a.t, b.t))
        and bool(np.allclose(a.lr, b.lr, rtol=1e-9, atol=0.0, equal_nan=True))
    )


def draw(
    series: Sequence[Series],
    *,
    title: str,
    log: bool = False,
    panels: bool = False,
    labels: bool = True,
    size: Sequence[float] | None = None,
    momentum: bool = False,
    own_title: bool = False,
):
    """A matplotlib figure of ``series``: overlaid on one axes, or one panel each; with
    ``momentum``, a momentum panel under each learning-rate axes whose schedules cycle it.

    Draw and save it inside ``matplotlib.rc_context(STYLE)``. With one series per axes, the
    start, peak and final values are written next to their points; overlaid series carry them in
    the legend instead. ``labels=False`` leaves out every text label. The title of a figure of
    one schedule is the schedule's name unless ``own_title`` (the user chose ``title``).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    overlaid = not (panels and len(series) > 1)
    styles = _styles(series, overlaid)
    if overlaid:
        groups = [(list(series), styles)]
        cols = rows = 1
    else:
        groups = [([s], [style]) for s, style in zip(series, styles, strict=True)]
        cols = len(series) if len(series) <= 3 else 2 if len(series) == 4 else 3
        rows = math.ceil(len(series) / cols)
    with_momentum = momentum and any(s.momentum is not None for s in series)
    if size is None:
        legend_rows = math.ceil(len(series) / 2) if overlaid and len(series) > 1 else 0
        cell_w, cell_h = (7.0, 4.0 + 0.35 * legend_rows) if overlaid else (4.6, 3.3)
        size = (cell_w * cols, (cell_h + (1.3 if with_momentum else 0.0)) * rows)
    figure = Figure(figsize=(float(size[0]), float(size[1])), dpi=DPI, layout="constrained")
    canvas = FigureCanvasAgg(figure)
    grid = figure.add_gridspec(
        rows * (2 if with_momentum else 1),
        cols,
        height_ratios=[3, 1] * rows if with_momentum else None,
    )
    cells = []
    for i, (members, member_styles) in enumerate(groups):
        row, col = divmod(i, cols)
        if with_momentum and any(s.momentum is not None for s in members):
            ax = figure.add_subplot(grid[2 * row, col])
            mom_ax = figure.add_subplot(grid[2 * row + 1, col], sharex=ax)
        elif with_momentum:  # no momentum here: the rate takes the whole cell
            ax, mom_ax = figure.add_subplot(grid[2 * row : 2 * row + 2, col]), None
        else:
            ax, mom_ax = figure.add_subplot(grid[row, col]), None
        cells.append((ax, mom_ax, members, member_styles))
    if not overlaid:
        figure.suptitle(title, fontsize="large")
    for ax, mom_ax, members, member_styles in cells:
        _draw_axes(ax, members, member_styles, log)
        if mom_ax is not None:
            _draw_momentum(mom_ax, members, member_styles)
            mom_ax.set_xlabel(ax.get_xlabel())
            ax.set_xlabel("")
            ax.tick_params(labelbottom=False)
        synthetic = f" ({SYNTHETIC_NOTE})" if any(s.metric is not None for s in members) else ""
        name = title if len(members) > 1 or (own_title and len(groups) == 1) else members[0].label
        ax.set_title(
            name + synthetic,
            fontsize="medium" if len(groups) > 1 else "large",
        )
    if overlaid and len(series) > 1:
        ax = cells[0][0]
        handles, names = ax.get_legend_handles_labels()
        # matplotlib fills a legend column by column; read it row by row, in spec order
        ncols = min(len(series), 2)
        order = sorted(range(len(handles)), key=lambda i: (i % ncols, i // ncols))
        figure.legend(
            [handles[i] for i in order],
            [names[i] for i in order],
            loc="outside lower center",
            ncols=ncols,
            frameon=False,
            fontsize="small",
        )
    if labels:
        _place_labels(figure, canvas, cells, log)
    return figure


def _place_labels(figure, canvas, cells, log: bool) -> None:
    """Label every axes in screen space, on a settled layout. Values with no free spot go under
    the lowest axes of their cell, which changes the layout: then everything is placed again on
    the new layout, so that no label ends up over a curve that moved."""
    units = [(mom_ax or ax).get_xlabel() for ax, mom_ax, _, _ in cells]
    homeless: list[list[str]] = [[] for _ in cells]
    for _ in range(2):
        figure.draw_without_rendering()  # settle the layout
        renderer = canvas.get_renderer()
        before = homeless
        homeless = []
        for ax, _, members, member_styles in cells:
            for text in list(ax.texts):
                text.remove()
            colors = [style.color for style in member_styles]
            homeless.append(_label_axes(ax, members, colors, log, renderer))
        for (ax, mom_ax, _, _), unit, lines in zip(cells, units, homeless, strict=True):
            (mom_ax or ax).set_xlabel("\n".join([unit, ";  ".join(lines)]) if lines else unit)
        if homeless == before:
            break


STYLE: dict[Any, Any] = {
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "axes.titleweight": "bold",
    "lines.linewidth": 1.8,
    "legend.handlelength": 2.4,
    "svg.hashsalt": "lrgen",
    "svg.fonttype": "none",
}
_BOX = {"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85}


def _draw_axes(ax, series: Sequence[Series], styles: Sequence[_Style], log: bool) -> None:
    from matplotlib.ticker import EngFormatter, FuncFormatter

    single = len(series) == 1
    for s, style in zip(series, styles, strict=True):
        t, lr = _reduced(s.t, s.lr)
        if log:
            lr = np.where(lr > 0, lr, np.nan)
        label = s.label if single else f"{s.label}\n{_summary(s)}"
        if style.same_as is not None:
            label = f"{s.label} (the same curve as {style.same_as})\n{_summary(s)}"
        # lr(t) holds from tick t to tick t+1: a step plot is the honest picture
        ax.plot(
            t,
            lr,
            color=style.color,
            linestyle=style.dashes,
            label=label,
            drawstyle="steps-post",
            zorder=3.5 if style.same_as else 3,
        )
        for index in sorted({0, s.peak_index, s.final_index}):
            value = float(s.lr[index])
            if not (log and value <= 0):
                ax.plot(
                    [s.t[index]],
                    [value],
                    marker="o",
                    markersize=4,
                    color=style.color,
                    zorder=4,
                    clip_on=False,
                )
        for t_mark, _, _ in _merged_marks(s):
            ax.axvline(t_mark, color=style.color, linestyle=":", linewidth=1.1, alpha=0.9, zorder=2)
        if s.metric is not None and single:
            twin = ax.twinx()
            twin.plot(
                np.arange(s.steps), s.metric, color="0.55", linestyle="--", linewidth=1.0, zorder=1
            )
            mode = s.chosen.schedule.node.arg("mode")
            twin.set_ylabel(f"{SYNTHETIC_NOTE} ({mode}imised)", color="0.4")
            twin.tick_params(axis="y", colors="0.4")
            twin.spines["right"].set_visible(True)
            twin.grid(False)
    ax.set_xlabel(series[0].unit)  # one unit per axes: mixed units always get panels
    last = max(s.steps for s in series) - 1
    ax.set_xlim(0, max(last, 1))
    if last >= 10_000:
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    peak = max(float(s.lr[s.peak_index]) for s in series)
    if log:
        ax.set_yscale("log")
        ax.set_ylabel("learning rate")
        ax.margins(y=0.12)
        return
    ax.set_ylim(0, peak * 1.18 if peak > 0 else 1)
    exponent = math.floor(math.log10(peak)) if peak > 0 else 0
    if -3 < exponent < 4:
        ax.set_ylabel("learning rate")
    else:  # the power of ten goes in the label, not in a corner where annotations want to be
        scale = 10.0**exponent
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v / scale:g}"))
        ax.set_ylabel(f"learning rate ($\\times 10^{{{exponent}}}$)")


def _draw_momentum(ax, series: Sequence[Series], styles: Sequence[_Style]) -> None:
    """The momentum (or Adam's beta1) each momentum-cycling schedule sets, under its rate."""
    for s, style in zip(series, styles, strict=True):
        if s.momentum is not None:
            t, value = _reduced(s.t, s.momentum)
            ax.plot(t, value, color=style.color, linestyle=style.dashes, drawstyle="steps-post")
    ax.set_ylabel("momentum")
    ax.margins(y=0.15)


def _summary(s: Series) -> str:
    peak = s.peak_index
    return (
        f"start {_num(s.lr[0])}, peak {_num(s.lr[peak])} at {_tick_text(s.t[peak])}, "
        f"final {_num(s.lr[s.final_index])}"
        + ("" if s.final_index == len(s.t) - 1 else f" at {_tick_text(s.t[s.final_index])}")
    )


_MARK_ORDER = ("warmup", "decay", "milestone", "end")


_SHORT = {"end": "end"}


def _merged_marks(s: Series) -> list[tuple[float, str, str]]:
    """(tick, label, short label), one per tick, in order: a warmup that ends at a SequentialLR
    join is one line with one label."""
    by_tick: dict[float, list[Mark]] = {}
    for mark in sorted(s.marks, key=lambda m: (m.t, _MARK_ORDER.index(m.kind))):
        same = by_tick.setdefault(mark.t, [])
        if all(mark.label != other.label for other in same):
            same.append(mark)
    return [
        (t, " ".join(m.label for m in same), _SHORT.get(same[0].kind, same[0].label))
        for t, same in by_tick.items()
    ]


def _label_axes(
    ax, series: Sequence[Series], colors: Sequence[str], log: bool, renderer
) -> list[str]:
    """Write the mark labels (and, for a single series, the start/peak/final values) where they
    overlap neither each other nor a curve, trying a few positions for each. Returns the values
    that found no such spot."""
    placer = _Placer(ax, renderer, series)
    homeless = []
    if len(series) == 1:  # the values first: they matter most and have the fewest spots
        homeless = _label_values(placer, series[0], colors[0], log)
    for s, color in zip(series, colors, strict=True):
        for t, label, short in _merged_marks(s):
            spots = [
                ((t, y), (dx, 0), ha, va, True)
                for y, va in _MARK_HEIGHTS
                for dx, ha in ((-2, "right"), (2, "left"))
            ]
            # where the label finds no free spot, its short form is tried, then it is left
            # out (the dotted line stays)
            for text in dict.fromkeys((label, short)):
                if placer.place(f"{text} ({_tick_text(t)})", color, spots):
                    break
    return homeless


def _label_values(placer: _Placer, s: Series, color: str, log: bool) -> list[str]:
    """The start, peak and final values next to their dots (merged where they coincide); returns
    those with no free spot next to their dot (they go under the axes, after the unit)."""
    names: dict[int, list[str]] = {}
    for name, index in (("start", 0), ("peak", s.peak_index), ("final", s.final_index)):
        names.setdefault(index, []).append(name)
    homeless = []
    for index in sorted(names, key=lambda i: "peak" not in names[i]):  # the peak first
        value = float(s.lr[index])
        text = " = ".join(names[index]) + f" {_num(value)}"
        if index not in (0, len(s.t) - 1) and ("peak" in names[index] or "final" in names[index]):
            text += f" at {s.unit} {_tick_text(s.t[index])}"
        x = float(s.t[index])
        spots: list[Any]
        if log and value <= 0:  # not on a log axis: write it along the bottom instead
            spots = [
                ((x, 0.02), (dx, 0), ha, "bottom", True) for dx, ha in ((-4, "right"), (4, "left"))
            ]
            placed = placer.place(text + " (off the log axis)", color, spots, rotate=False)
        else:
            spots = [
                ((x, value), (dx * k, dy * k), ha, va, False)
                for k in (1, 2.5, 4)
                for dx, dy, ha, va in _POINT_SPOTS
            ]
            placed = placer.place(text, color, spots)
        if not placed:
            homeless.append(text)
    return homeless


#: (dx, dy in points, ha, va): where a value may go relative to its point, best first
_POINT_SPOTS = (
    (6, 6, "left", "bottom"),
    (-6, 6, "right", "bottom"),
    (6, -6, "left", "top"),
    (-6, -6, "right", "top"),
    (8, 0, "left", "center"),
    (-8, 0, "right", "center"),
)
#: (height in axes coordinates, va): where a mark label may go along its line, best first
_MARK_HEIGHTS = (
    (0.985, "top"),
    (0.015, "bottom"),
    *((0.5 + sign * k / 20, "center") for k in range(8) for sign in ((1,) if k == 0 else (-1, 1))),
)
_OUTSIDE, _CLASH = 100_000, 1000
#: Distance in points a label keeps from the centre line of a curve (half its width, and a gap).
_CURVE_CLEARANCE = 2.0


class _Placer:
    """Greedy label placement in screen space: the first spot that stays inside the axes and
    overlaps neither an earlier label nor a curve. A label with no such spot is not drawn there
    (the caller puts it elsewhere or leaves it out)."""

    def __init__(self, ax, renderer, series: Sequence[Series]) -> None:
        self.ax, self.renderer = ax, renderer
        self.taken: list = []
        log = ax.get_yscale() == "log"
        self.segments = []  # (x0, x1, y0, y1) arrays of the drawn polylines, in pixels
        for s in series:
            t, lr = _reduced(s.t, s.lr)
            self.segments.append(_step_segments(ax.transData, t, lr, log))
            if s.metric is not None:  # the synthetic metric, on the twin axes drawn over ax
                bounds = ax.get_position().bounds
                twins = [a for a in ax.figure.axes if a is not ax]
                twin = next((a for a in twins if a.get_position().bounds == bounds), None)
                if twin is not None:
                    tm, m = _reduced(np.arange(s.steps), s.metric)
                    self.segments.append(_line_segments(twin.transData, tm, m))

    def place(self, text: str, color: str, spots, *, rotate: bool = True) -> bool:
        """``spots``: (anchor, (dx, dy) in points, ha, va, on_line); a label on a vertical line
        has its anchor in (data x, axes y) and is rotated unless ``rotate`` is False; any other
        anchor is in data coordinates. Returns whether a free spot was found (and used)."""
        for anchor, offset, ha, va, on_line in spots:
            label = self.ax.annotate(
                text,
                anchor,
                xycoords=self.ax.get_xaxis_transform() if on_line else "data",
                xytext=offset,
                textcoords="offset points",
                ha=ha,
                va=va,
                rotation=90 if on_line and rotate else 0,
                fontsize=7.5,
                color=color,
                bbox=_BOX,
                zorder=5,
                annotation_clip=False,
            )
            label.set_in_layout(False)
            box = label.get_window_extent(self.renderer).padded(2.0)
            if self._cost(box) == 0:
                self.taken.append(box)
                return True
            label.remove()
        return False

    def _cost(self, box) -> float:
        from matplotlib.transforms import Bbox

        inside = self.ax.bbox
        outside = (
            box.x0 < inside.x0 - 1
            or box.x1 > inside.x1 + 1
            or box.y0 < inside.y0 - 1
            or box.y1 > inside.y1 + 1
        )
        clashes = sum(box.overlaps(other) for other in self.taken)
        # a curve is a stroke, not a line of zero width: keep clear of its edge too
        pad = _CURVE_CLEARANCE * self.ax.figure.dpi / 72
        wide = Bbox.from_extents(box.x0 - pad, box.y0 - pad, box.x1 + pad, box.y1 + pad)
        hits = sum(_crossings(wide, segments) for segments in self.segments)
        return _OUTSIDE * outside + _CLASH * clashes + hits


def _step_segments(transform, t: np.ndarray, lr: np.ndarray, log: bool) -> np.ndarray:
    """The horizontal and vertical segments of a steps-post curve, as rows (x0, x1, y0, y1) in
    pixels; points off a log axis (zeros) are left out."""
    ok = np.isfinite(lr) & (lr > 0) if log else np.isfinite(lr)
    t, lr = t[ok].astype(np.float64), lr[ok]
    if len(t) == 0:
        return np.zeros((0, 4))
    xy = transform.transform(np.column_stack([t, lr]))
    x, y = xy[:, 0], xy[:, 1]
    horizontal = np.column_stack([x[:-1], x[1:], y[:-1], y[:-1]])
    vertical = np.column_stack([x[1:], x[1:], y[:-1], y[1:]])
    point = np.column_stack([x[-1:], x[-1:], y[-1:], y[-1:]])
    return np.concatenate([horizontal, vertical, point])


def _line_segments(transform, t: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A straight-line curve's segments, as rows (x0, x1, y0, y1) in pixels (approximated by the
    bounding box of each segment, which is tight for the short segments drawn here)."""
    xy = transform.transform(np.column_stack([t.astype(np.float64), values]))
    x, y = xy[:, 0], xy[:, 1]
    return np.column_stack([x[:-1], x[1:], y[:-1], y[1:]])


def _crossings(box, segments: np.ndarray) -> int:
    """How many axis-aligned segments (or segment bounding boxes) touch ``box``."""
    if not len(segments):
        return 0
    x_lo = np.minimum(segments[:, 0], segments[:, 1])
    x_hi = np.maximum(segments[:, 0], segments[:, 1])
    y_lo = np.minimum(segments[:, 2], segments[:, 3])
    y_hi = np.maximum(segments[:, 2], segments[:, 3])
    touch = (x_hi >= box.x0) & (x_lo <= box.x1) & (y_hi >= box.y0) & (y_lo <= box.y1)
    return int(np.count_nonzero(touch))


def _reduced(t: np.ndarray, lr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At most about MAX_DRAWN points: the first, min, max and last of each bucket, in order."""
    if len(t) <= MAX_DRAWN:
        return t, lr
    keep = []
    for bucket in np.array_split(np.arange(len(t)), MAX_DRAWN // 4):
        chunk = lr[bucket]
        keep.extend(
            sorted({bucket[0], bucket[np.argmin(chunk)], bucket[np.argmax(chunk)], bucket[-1]})
        )
    index = np.array(keep)
    return t[index], lr[index]


def _num(value: float) -> str:
    return f"{float(value):.3g}"


def _tick_text(t: float) -> str:
    return f"{int(t):,}" if float(t).is_integer() else f"{float(t):,.1f}"


def save_atomically(figure, path: str) -> None:
    """Render ``figure`` into ``path`` (format from its extension) without a half-written file."""
    fmt = FORMATS[os.path.splitext(path)[1].lower()]
    write_atomically(
        path,
        lambda handle: figure.savefig(handle, format=fmt, dpi=DPI, metadata=_NO_DATES[fmt]),
        binary=True,
    )


#: Deterministic output: no creation dates or tool versions in the file.
_NO_DATES = {"svg": {"Date": None}, "png": {"Software": None}, "pdf": {"CreationDate": None}}
