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

import numpy as np

from lrgen.lint import Mark, marks
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
    write_atomically,
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
#: Okabe & Ito's colour-blind-safe palette.
COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
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

    @property
    def label(self) -> str:
        return self.chosen.label

    @property
    def unit(self) -> str:
        return self.chosen.unit

    @property
    def peak_index(self) -> int:
        return int(np.argmax(self.lr))


def sample_series(chosen: Chosen, steps: int) -> Series:
    if steps <= MAX_SAMPLES:
        t = np.arange(steps, dtype=np.int64)
    else:
        t = np.unique(np.linspace(0, steps - 1, MAX_SAMPLES).round().astype(np.int64))
    metric = None
    if chosen.schedule.metric_driven:
        metric = synthetic_metric(steps, chosen.schedule.node.arg("mode"))
    lr = sample(chosen, t, metric)
    found = tuple(m for m in marks(chosen.schedule, chosen.params) if m.t < steps)
    return Series(chosen, steps, t, lr, found, metric)


def _series_for(chosen: Sequence[Chosen], steps: int | None, shared: bool) -> list[Series]:
    if steps is None and shared:
        steps = max(c.default_steps() for c in chosen)
    return [sample_series(c, steps or c.default_steps()) for c in chosen]


def _select(args: argparse.Namespace, command: str) -> list[Chosen] | int:
    specs = load_specs(args.spec, command)
    if specs is None:
        return EXIT_INVALID
    return choose(specs, args.schedule, args.params)


# --- the text plot ------------------------------------------------------------------------------

_BRAILLE_BITS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))  # [column][row from top]


def text_plot(series: Series, *, width: int = DEFAULT_WIDTH, height: int = DEFAULT_HEIGHT,
              log: bool = False) -> list[str]:
    """A braille plot of one series: a title line, ``height`` rows of ``width`` braille cells with
    the max, min and start values on the left axis and the final value on the right, the
    x axis, and a summary line."""
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
        grid[low:high + 1, col] = True
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
    start, final, peak = float(lr[0]), float(lr[-1]), float(lr[series.peak_index])
    low_value = float(np.min(lr))
    left = {0: peak, height - 1: low_value}
    start_row = height - 1 - _row(values[0], lo, hi, rows_px) // 4
    left.setdefault(start_row, start)
    final_row = height - 1 - _row(values[-1], lo, hi, rows_px) // 4
    label_width = 9
    body = []
    for row, text in enumerate(cells):
        tick = f"{left[row]:.2e}".rjust(label_width) + " ┤" if row in left else \
            " " * label_width + " │"
        right = f"├ {final:.2e}" if row == final_row else "│"
        body.append(f"{tick}{text}{right}")
    last = series.steps - 1
    axis = " " * label_width + " └" + "─" * width + "┘"
    ticks = " " * (label_width + 2) + "0" + str(last).rjust(width - 1) + f" {series.unit}"
    note = f" ({SYNTHETIC_NOTE})" if series.metric is not None else ""
    scale = ", log scale" if log else ""
    title = (f"{series.label}: {series.chosen.schedule.node.kind}, lr(t) for "
             f"{series.unit} 0..{last}{scale}{note}")
    summary = (f"start {start:.3e}   peak {peak:.3e} at {series.unit} "
               f"{int(series.t[series.peak_index])}   min {low_value:.3e}   final {final:.3e}")
    return [title, *body, axis, ticks, summary]


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
    parser.add_argument("--width", type=_at_least(8), default=DEFAULT_WIDTH, metavar="W",
                        help=f"{prefix}plot width in characters (default {DEFAULT_WIDTH})")
    parser.add_argument("--height", type=_at_least(2), default=DEFAULT_HEIGHT, metavar="H",
                        help=f"{prefix}plot height in lines (default {DEFAULT_HEIGHT})")


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


def add_plot_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", nargs="+", metavar="SPEC", help="spec files (YAML or JSON)")
    add_selection_arguments(parser)
    parser.add_argument("--log", action="store_true", help="logarithmic learning-rate axis")
    parser.add_argument("--small-multiples", action="store_true",
                        help="one panel per schedule (always so when units are mixed)")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="the image to write, .png, .svg or .pdf (default: the first spec's "
                        "name with .png, in the current directory)")
    parser.add_argument("--text", action="store_true",
                        help="print text plots instead of drawing (as `lrgen show`)")
    _add_text_arguments(parser, "with --text: ")


def run_plot(args: argparse.Namespace) -> int:
    output = args.output
    if not args.text:
        output = output or _default_output(args.spec[0])
        if os.path.splitext(output)[1].lower() not in FORMATS:
            return fail("plot", f"{output}: unknown image format; use "
                        f"{', '.join(FORMATS)}")
    try:
        chosen = _select(args, "plot")
        if isinstance(chosen, int):
            return chosen
        mixed = len({c.unit for c in chosen}) > 1
        panels = args.small_multiples or mixed
        if args.text:
            _print_text(_series_for(chosen, args.steps, shared=False), args.width, args.height,
                        args.log)
            return EXIT_OK
        try:
            import matplotlib
        except ImportError:
            return fail("plot", "matplotlib is not installed: pip install 'lrgen[plot]' "
                        "(or use `lrgen show` for a text plot)")
        matplotlib.use("Agg")
        series = _series_for(chosen, args.steps, shared=not panels)
    except ToolError as err:
        return fail("plot", str(err))
    with matplotlib.rc_context(STYLE):
        figure = draw(series, title=_title(args.spec), log=args.log, panels=panels)
        save_atomically(figure, output)
    print(output)
    return EXIT_OK


def _default_output(spec: str) -> str:
    stem = os.path.splitext(os.path.basename(spec))[0] or "lrgen"
    return f"{stem}.png"


def _title(paths: Sequence[str]) -> str:
    return ", ".join(os.path.basename(p) for p in paths)


def draw(series: Sequence[Series], *, title: str, log: bool = False, panels: bool = False):
    """A matplotlib figure of ``series``: overlaid on one axes, or one panel each.

    Draw and save it inside ``matplotlib.rc_context(STYLE)``.
    """
    from matplotlib.figure import Figure

    if panels and len(series) > 1:
        cols = 2 if len(series) <= 4 else 3
        rows = math.ceil(len(series) / cols)
        figure = Figure(figsize=(4.2 * cols, 3.0 * rows), layout="constrained")
        axes = figure.subplots(rows, cols, squeeze=False).ravel()
        for ax, (i, s) in zip(axes, enumerate(series), strict=False):
            _draw_axes(ax, [s], [COLORS[i % len(COLORS)]], log)
            ax.set_title(s.label + (f" ({SYNTHETIC_NOTE})" if s.metric is not None else ""),
                         fontsize="medium")
        for ax in axes[len(series):]:
            ax.set_visible(False)
        figure.suptitle(title, fontsize="large")
    else:
        figure = Figure(figsize=(7.0, 4.2), layout="constrained")
        ax = figure.subplots()
        colors = [COLORS[i % len(COLORS)] for i in range(len(series))]
        _draw_axes(ax, list(series), colors, log)
        synthetic = any(s.metric is not None for s in series)
        name = series[0].label if len(series) == 1 else title
        ax.set_title(name + (f" ({SYNTHETIC_NOTE})" if synthetic else ""))
        if len(series) > 1:
            ax.legend(loc="best", frameon=False)
    return figure


STYLE = {
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.25,
    "grid.linewidth": 0.6,
    "axes.titleweight": "bold",
    "lines.linewidth": 1.8,
    "svg.hashsalt": "lrgen",
    "svg.fonttype": "none",
}


def _draw_axes(ax, series: Sequence[Series], colors: Sequence[str], log: bool) -> None:
    from matplotlib.ticker import EngFormatter

    for s, color in zip(series, colors, strict=True):
        t, lr = _reduced(s.t, s.lr)
        if log:
            lr = np.where(lr > 0, lr, np.nan)
        ax.plot(t, lr, color=color, label=s.label, drawstyle="default", zorder=3)
        _mark(ax, s, color)
        _annotate(ax, s, color, log)
        if s.metric is not None and len(series) == 1:
            twin = ax.twinx()
            twin.plot(np.arange(s.steps), s.metric, color="0.55", linestyle="--", linewidth=1.0,
                      zorder=1)
            twin.set_ylabel(f"{SYNTHETIC_NOTE} ({s.chosen.schedule.node.arg('mode')}imised)",
                            color="0.4")
            twin.tick_params(axis="y", colors="0.4")
            twin.spines["right"].set_visible(True)
            twin.grid(False)
    units = {s.unit for s in series}
    ax.set_xlabel(units.pop() if len(units) == 1 else "t")
    ax.set_ylabel("learning rate")
    ax.set_xlim(0, max(s.steps - 1 for s in series) or 1)
    if max(s.steps for s in series) >= 10_000:
        ax.xaxis.set_major_formatter(EngFormatter(sep=""))
    if log:
        ax.set_yscale("log")
    else:
        ax.set_ylim(bottom=0)
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3), useMathText=True)
    ax.margins(y=0.15)


def _reduced(t: np.ndarray, lr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """At most about MAX_DRAWN points: the first, min, max and last of each bucket, in order."""
    if len(t) <= MAX_DRAWN:
        return t, lr
    keep = []
    for bucket in np.array_split(np.arange(len(t)), MAX_DRAWN // 4):
        chunk = lr[bucket]
        keep.extend(sorted({bucket[0], bucket[np.argmin(chunk)], bucket[np.argmax(chunk)],
                            bucket[-1]}))
    index = np.array(keep)
    return t[index], lr[index]


def _mark(ax, series: Series, color: str) -> None:
    """Dotted vertical lines at SequentialLR joins and warmup ends, labelled at the top."""
    seen: set[tuple[float, str]] = set()
    for mark in series.marks:
        if (mark.t, mark.label) in seen:
            continue
        seen.add((mark.t, mark.label))
        ax.axvline(mark.t, color=color, linestyle=":", linewidth=1.1, alpha=0.8, zorder=2)
        ax.text(mark.t, 0.99, f" {mark.label} ({_tick_text(mark.t)}) ", rotation=90,
                transform=ax.get_xaxis_transform(), ha="right", va="top", fontsize=7,
                color=color)


def _annotate(ax, series: Series, color: str, log: bool) -> None:
    """Dots and values at the start, the peak and the final tick (merged where they coincide)."""
    lr, t = series.lr, series.t
    points: dict[int, list[str]] = {}
    for name, index in (("start", 0), ("peak", series.peak_index), ("final", len(t) - 1)):
        points.setdefault(index, []).append(name)
    for index, names in points.items():
        value = float(lr[index])
        if log and value <= 0:
            continue
        x = float(t[index])
        text = " = ".join(names) + f" {value:.3g}"
        if "peak" in names and index not in (0, len(t) - 1):
            text += f"\nat {series.unit} {_tick_text(x)}"
        at_end = index == len(t) - 1 and index != 0
        ax.plot([x], [value], marker="o", markersize=4, color=color, zorder=4, clip_on=False)
        ax.annotate(text, (x, value), xytext=(-6 if at_end else 6, 6),
                    textcoords="offset points", ha="right" if at_end else "left",
                    va="bottom", fontsize=7.5, color=color)


def _tick_text(t: float) -> str:
    return f"{int(t):,}" if float(t).is_integer() else f"{t:,.1f}"


def save_atomically(figure, path: str) -> None:
    """Render ``figure`` into ``path`` (format from its extension) without a half-written file."""
    fmt = FORMATS[os.path.splitext(path)[1].lower()]
    write_atomically(path, lambda handle: figure.savefig(
        handle, format=fmt, dpi=200, metadata=_NO_DATES[fmt]), binary=True)


#: Deterministic output: no creation dates or tool versions in the file.
_NO_DATES = {"svg": {"Date": None}, "png": {"Software": None}, "pdf": {"CreationDate": None}}
