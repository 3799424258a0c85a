"""``lrgen validate SPEC... [--strict]``: check spec files, one line per problem.

Prints ``FILE:LINE:COL: json.path: message`` for every problem of every file, sorted, on stdout.
Exit 0 when every file is valid, 2 when any is not (``--strict``: warnings count as failures).
"""

from __future__ import annotations

import argparse
import sys

from lrgen.cli import EXIT_INVALID, EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("specs", nargs="+", metavar="SPEC", help="spec files (YAML or JSON)")
    parser.add_argument(
        "--strict", action="store_true", help="treat warnings as failures (exit 2 on any)"
    )


def run(args: argparse.Namespace) -> int:
    from lrgen.loader import check_paths

    problems = check_paths(args.specs)
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:  # a message may quote odd text; never fail while printing it
        reconfigure(errors="backslashreplace")
    for problem in problems:
        print(problem)
    failing = [p for p in problems if p.severity == "error" or args.strict]
    return EXIT_INVALID if failing else EXIT_OK
