"""``lrgen schema``: print the JSON Schema of spec files (what ``spec/lrgen.schema.json`` holds)."""

from __future__ import annotations

import argparse
import sys

from lrgen.commands import EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options: the schema is the same for every spec."""


def run(args: argparse.Namespace) -> int:
    from lrgen.schema import render

    sys.stdout.write(render())
    return EXIT_OK
