"""``lrgen validate SPEC... [--strict] [--no-lint]``: check spec files, one line per problem.

Prints ``FILE:LINE:COL: json.path: message`` for every problem of every file, sorted, on stdout:
errors, then for valid files the lint warnings (``warning[CODE]:`` after the path; see
lrgen.lint), with the Keras momentum warning that ``lrgen build`` prints. A schedule's
``lint: {ignore: [CODE, ...]}`` silences those codes for that schedule.
Exit 0 when every file is valid, 2 when any is not (``--strict``: warnings count as failures).
``--no-lint`` skips the warnings, and with them the import of NumPy (the fastest check, for
editors and pre-commit on many files).
"""

from __future__ import annotations

import argparse
import sys

from lrgen.commands import EXIT_INVALID, EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("specs", nargs="+", metavar="SPEC", help="spec files (YAML or JSON)")
    parser.add_argument(
        "--strict", action="store_true", help="treat warnings as failures (exit 2 on any)"
    )
    parser.add_argument(
        "--no-lint", action="store_true", help="report errors only, skip the lint warnings"
    )


def run(args: argparse.Namespace) -> int:
    from lrgen.loader import check_path

    problems = []
    for path in args.specs:
        spec, found = check_path(path)
        problems.extend(found)
        if spec is not None and not args.no_lint:
            from lrgen.lint import lint_spec

            problems.extend(lint_spec(spec))
    problems.sort()
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:  # a message may quote odd text; never fail while printing it
        reconfigure(errors="backslashreplace")
    for problem in problems:
        print(problem)
    failing = [p for p in problems if p.severity == "error" or args.strict]
    return EXIT_INVALID if failing else EXIT_OK
