"""``lrgen table``: print t and the learning rate of each schedule.

Implemented in :mod:`lrgen.table`.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from lrgen.table import add_arguments as add_table_arguments

    add_table_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from lrgen.table import run as run_table

    return run_table(args)


def tidy_argv(argv: list[str]) -> list[str]:
    from lrgen.table import tidy_argv as tidy_table_argv

    return tidy_table_argv(argv)
