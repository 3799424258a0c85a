"""``lrgen table``: the learning rate of each schedule at integer ticks, as text, CSV, Markdown or
JSON; and the pieces every sampling tool shares (loading specs, ``--schedule``, ``--params``).

``lrgen plot`` and ``lrgen show`` (:mod:`lrgen.plot`) build on the helpers here. This module
imports NumPy and the reference evaluator only.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from lrgen import ir
from lrgen.commands import EXIT_INVALID, EXIT_OK
from lrgen.kinds import NAME_PATTERN

FORMATS = ("text", "csv", "markdown", "json")
#: Most rows a table prints: a schedule's default horizon can be up to 2**53 ticks.
MAX_ROWS = 5_000_000


class ToolError(Exception):
    """A bad command line (unknown schedule, malformed ``--params`` ...): one line, exit 2."""


@dataclass(frozen=True, slots=True)
class Chosen:
    """One schedule picked on the command line, with its label and its parameter overrides."""

    label: str  # the schedule's name, or ``stem:name`` when several specs are shown together
    schedule: ir.Schedule
    params: dict[str, float] = field(default_factory=dict)

    @property
    def unit(self) -> str:
        return self.schedule.unit

    def default_steps(self) -> int:
        """The horizon when ``--steps`` is not given (see :func:`lrgen.lint.default_steps`)."""
        from lrgen.lint import default_steps

        try:
            return default_steps(self.schedule, self.params)
        except ValueError as err:  # ir.BindError: a --params value breaks a constraint
            raise ToolError(f"{self.label}: {err}") from None


# --- shared command-line pieces -----------------------------------------------------------------


def add_selection_arguments(parser: argparse.ArgumentParser) -> None:
    """``--steps``, ``--schedule`` and ``--params``, as every sampling command takes them."""
    parser.add_argument(
        "--steps",
        type=_positive_int,
        metavar="N",
        help="ticks to show: t = 0 .. N-1 (default: 1.1 x the longest of the schedule's own "
        "length and the training length its params declare, such as total_steps or epochs)",
    )
    parser.add_argument(
        "--schedule",
        action="extend",
        nargs="+",
        default=[],
        metavar="NAME",
        help="only these schedules (default: all, in spec order)",
    )
    parser.add_argument(
        "--params",
        action="extend",
        nargs="+",
        default=[],
        metavar="K=V",
        help="override a declared param; NAME.K=V for one schedule only",
    )


#: option -> what its values look like; anything else after it is a spec file it must not take
_SELECTION_VALUES: dict[str, Callable[[str], bool]] = {
    "--schedule": lambda text: re.fullmatch(NAME_PATTERN, text) is not None,
    "--params": lambda text: "=" in text,
}


def tidy_argv(argv: Sequence[str]) -> list[str]:
    """``--schedule`` and ``--params`` take several values; give the spec files that follow them
    back to the positional arguments: ``table --schedule warm spec.yaml`` would otherwise read
    ``spec.yaml`` as a schedule name. A schedule name never contains ``.`` or ``/`` and a
    parameter always contains ``=``, so a file is told apart by its form. The files move to
    just before the option, so that files keep their order."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        token = argv[i]
        out.append(token)
        i += 1
        if token == "--":
            out.extend(argv[i:])
            break
        looks_like = _SELECTION_VALUES.get(token)
        if looks_like is None:
            continue
        values: list[str] = []
        files: list[str] = []
        while i < len(argv) and not argv[i].startswith("-"):
            (values if looks_like(argv[i]) and not files else files).append(argv[i])
            i += 1
        out[-1:] = [*files, token, *values]
    return out


def load_specs(paths: Sequence[str], command: str) -> list[ir.Spec] | None:
    """Load every spec; on failure print each problem (or the I/O error) to stderr, return None."""
    from lrgen import SpecError, load

    specs, failed = [], False
    for path in paths:
        try:
            specs.append(load(path))
        except SpecError as err:
            for problem in err.problems:
                print(problem, file=sys.stderr)
            failed = True
        except OSError as err:
            print(f"lrgen {command}: {path}: {err.strerror or err}", file=sys.stderr)
            failed = True
    return None if failed else specs


def choose(specs: Sequence[ir.Spec], names: Sequence[str], params: Sequence[str]) -> list[Chosen]:
    """The schedules named by ``--schedule`` (all if none), with their ``--params`` applied."""
    several = len(specs) > 1
    everything = [(spec, s) for spec in specs for s in spec.entries]
    if names:
        known = {s.name for _, s in everything}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ToolError(
                f"no schedule named {', '.join(map(repr, unknown))} "
                f"(the spec has: {', '.join(sorted(known))})"
            )
        everything = [(spec, s) for spec, s in everything if s.name in names]
    overrides = parse_params(params)
    chosen = []
    for spec, schedule in everything:
        mine = {
            key: value
            for target, key, value in overrides
            if target in (None, schedule.name) and key in schedule.param_defaults
        }
        label = f"{spec.stem}:{schedule.name}" if several else schedule.name
        chosen.append(Chosen(label, schedule, mine))
    for target, key, _ in overrides:
        if not any(target in (None, c.schedule.name) and key in c.params for c in chosen):
            where = f"schedule {target!r}" if target else "any chosen schedule"
            raise ToolError(f"--params {key}: not a param of {where}")
    return chosen


def parse_params(items: Iterable[str]) -> list[tuple[str | None, str, float]]:
    """``K=V`` or ``NAME.K=V`` -> (NAME or None, K, number)."""
    parsed = []
    for item in items:
        key, sep, text = item.partition("=")
        target, dot, name = key.strip().rpartition(".")
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not sep or not name or not math.isfinite(value):
            raise ToolError(f"--params {item!r}: expected K=V (or NAME.K=V) with a finite number")
        number: float = int(value) if value.is_integer() and _looks_integral(text) else value
        parsed.append((target if dot else None, name, number))
    return parsed


def sample(chosen: Chosen, steps: np.ndarray, metrics: np.ndarray | None = None) -> np.ndarray:
    """``lrgen.evaluate`` of one chosen schedule; a bad parameter value becomes a ToolError."""
    from lrgen import evaluate

    try:
        return evaluate(chosen.schedule, steps, params=chosen.params or None, metrics=metrics)
    except ValueError as err:  # ir.BindError and friends: a --params value breaks a constraint
        raise ToolError(f"{chosen.label}: {err}") from None


def fail(command: str, message: str) -> int:
    print(f"lrgen {command}: {message}", file=sys.stderr)
    return EXIT_INVALID


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not >= 1")
    return value


def _looks_integral(text: str) -> bool:
    return not any(c in text for c in ".eEnN")


# --- lrgen table --------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="spec file (YAML or JSON)")
    add_selection_arguments(parser)
    parser.add_argument(
        "--every",
        type=_positive_int,
        default=1,
        metavar="K",
        help="one row every K ticks (default 1)",
    )
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text and markdown: %%.6e; csv and json: full precision (default text)",
    )


def run(args: argparse.Namespace) -> int:
    specs = load_specs([args.spec], "table")
    if specs is None:
        return EXIT_INVALID
    try:
        chosen = choose(specs, args.schedule, args.params)
        columns = []
        for item in chosen:
            if item.schedule.metric_driven:
                print(
                    f"lrgen table: note: skipping {item.label}: {item.schedule.node.kind} is "
                    "metric-driven and a table has no metrics to drive it",
                    file=sys.stderr,
                )
            else:
                columns.append(item)
        if not columns:
            raise ToolError("nothing to tabulate: every chosen schedule is metric-driven")
        steps = args.steps or max(item.default_steps() for item in columns)
        rows = -(-steps // args.every)
        if rows > MAX_ROWS:
            raise ToolError(
                f"{rows:,} rows (t from 0 to {steps - 1:,}); at most {MAX_ROWS:,}: choose "
                "fewer with --steps N or --every K"
            )
        t = np.arange(0, steps, args.every, dtype=np.int64)
        values = [sample(item, t) for item in columns]
    except ToolError as err:
        return fail("table", str(err))
    write_table(
        sys.stdout,
        args.format,
        t,
        [c.label for c in columns],
        values,
        spec=args.spec,
        units=[c.unit for c in columns],
    )
    return EXIT_OK


def write_table(
    out,
    fmt: str,
    t: np.ndarray,
    labels: Sequence[str],
    values: Sequence[np.ndarray],
    *,
    spec: str = "",
    units: Sequence[str] = (),
) -> None:
    """Write the table in ``fmt`` (one of :data:`FORMATS`) to the text stream ``out``."""
    if fmt == "json":
        document = {
            "spec": spec,
            "t": t.tolist(),
            "schedules": {
                label: {"unit": unit, "lr": column.tolist()}
                for label, unit, column in zip(labels, units, values, strict=True)
            },
        }
        json.dump(document, out)
        out.write("\n")
    elif fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["t", *labels])
        for step, row in zip(t.tolist(), _rows(values), strict=True):
            writer.writerow([step, *map(repr, row)])
    elif fmt == "markdown":
        out.write("| t | " + " | ".join(labels) + " |\n")
        out.write("| ---: |" + " ---: |" * len(labels) + "\n")
        for step, row in zip(t.tolist(), _rows(values), strict=True):
            out.write(f"| {step} | " + " | ".join(f"{v:.6e}" for v in row) + " |\n")
    else:
        widths = [max(len(label), 12) for label in labels]  # 12: len("5.000000e-04")
        t_width = len(str(int(t[-1]))) if len(t) else 1
        header = [
            "t".rjust(t_width),
            *(label.rjust(w) for label, w in zip(labels, widths, strict=True)),
        ]
        out.write("  ".join(header) + "\n")
        for step, row in zip(t.tolist(), _rows(values), strict=True):
            cells = (f"{v:.6e}".rjust(w) for v, w in zip(row, widths, strict=True))
            out.write("  ".join([str(step).rjust(t_width), *cells]) + "\n")


def _rows(values: Sequence[np.ndarray], chunk: int = 4096) -> Iterator[tuple[float, ...]]:
    """The rows of the columns ``values`` as lists of Python floats, a chunk at a time (a table
    of millions of rows is streamed, never formatted whole in memory)."""
    for start in range(0, len(values[0]) if values else 0, chunk):
        yield from zip(*(column[start : start + chunk].tolist() for column in values), strict=True)
