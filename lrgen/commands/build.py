"""``lrgen build SPEC... [--out DIR] [--target T,...] [--check]``: write the generated modules.

The build itself is :func:`lrgen.generate.build`; exit 1 with ``--check`` when a file is out of
date, 2 on invalid input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lrgen.commands import EXIT_INVALID


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from lrgen.generate import DEFAULT_TARGETS

    parser.add_argument("specs", nargs="+", metavar="SPEC", help="spec files (YAML or JSON)")
    parser.add_argument("--out", default="generated", help="output directory (default: generated)")
    parser.add_argument(
        "--target",
        default=",".join(DEFAULT_TARGETS),
        help="comma-separated targets: torch, keras, optax (default: torch,keras)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; print a diff and exit 1 if files are out of date",
    )


def run(args: argparse.Namespace) -> int:
    from lrgen.generate import TARGETS, build

    targets = [t.strip() for t in args.target.split(",") if t.strip()]
    unknown = [t for t in targets if t not in TARGETS]
    if unknown or not targets:
        print(
            f"lrgen build: unknown target(s) {', '.join(unknown) or '(none)'}; "
            f"choose from {', '.join(TARGETS)}",
            file=sys.stderr,
        )
        return EXIT_INVALID
    return build(args.specs, Path(args.out), targets, check=args.check)
