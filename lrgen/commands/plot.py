"""``lrgen plot``: draw the schedules of a spec (PNG/SVG, or text).

Implemented in :mod:`lrgen.plot`.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from lrgen.plot import add_plot_arguments

    add_plot_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from lrgen.plot import run_plot

    return run_plot(args)


def tidy_argv(argv: list[str]) -> list[str]:
    """``--schedule NAME... SPEC`` as the table command untangles it."""
    from lrgen.table import tidy_argv as tidy_table_argv

    return tidy_table_argv(argv)
