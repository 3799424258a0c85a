"""``lrgen init``: write a commented starter spec for a recipe.

Implemented in :mod:`lrgen.init`.
"""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from lrgen.init import add_arguments as add_init_arguments

    add_init_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from lrgen.init import run as run_init

    return run_init(args)
