"""``lrgen show``: print a compact text plot of each schedule.

Implemented in :mod:`lrgen.plot`.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from lrgen.plot import add_show_arguments

    add_show_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from lrgen.plot import run_show

    return run_show(args)


def tidy_argv(argv: list[str]) -> list[str]:
    """``--schedule NAME... SPEC`` as the table command untangles it."""
    from lrgen.table import tidy_argv as tidy_table_argv

    return tidy_table_argv(argv)
