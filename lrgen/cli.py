"""The ``lrgen`` command line: argument parsing and exit codes only.

Each subcommand lives in its own module, which exposes ``add_arguments(parser)`` and
``run(args) -> int`` (or ``add_NAME_arguments``/``run_NAME`` where one module serves two
commands). Only the chosen command's module is imported, and those modules import their heavy
dependencies inside ``run``, so ``lrgen validate`` never pays for jinja2, matplotlib or an ML
framework.

Exit codes: 0 success, 1 ``build --check`` found stale files, 2 invalid input.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

#: command -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("lrgen.commands.validate", "check spec files; one line per problem"),
    "build": ("lrgen.generate", "write the PyTorch/Keras modules of spec files"),
    "schema": ("lrgen.commands.schema", "print the JSON Schema of spec files"),
    "plot": ("lrgen.plot", "draw the schedules of a spec (PNG/SVG, or text)"),
    "show": ("lrgen.plot", "print a compact text plot of each schedule"),
    "table": ("lrgen.table", "print t and the learning rate of each schedule"),
    "init": ("lrgen.init", "write a commented starter spec for a recipe"),
}

EXIT_OK, EXIT_STALE, EXIT_INVALID = 0, 1, 2


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser; with ``only``, just that command's module is imported for its options."""
    parser = argparse.ArgumentParser(
        prog="lrgen",
        description="Define a learning-rate schedule once; generate PyTorch and Keras code.",
    )
    parser.add_argument("--version", action="version", version=f"lrgen {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        command.set_defaults(_module=module_name, _run=f"run_{name}")
        if only is not None and name != only:
            continue
        module = importlib.import_module(module_name)
        add = getattr(module, f"add_{name}_arguments", None) or module.add_arguments
        add(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    only = argv[0] if argv and argv[0] in COMMANDS else None
    if only is not None:  # a command may first untangle its own arguments (table.tidy_argv)
        tidy = getattr(importlib.import_module(COMMANDS[only][0]), "tidy_argv", None)
        argv = tidy(argv) if tidy is not None else argv
    args = build_parser(only).parse_args(argv)
    module = importlib.import_module(args._module)
    run = getattr(module, args._run, None) or module.run
    try:
        return int(run(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `lrgen table ... | head`
        sys.stderr.close()
        return EXIT_OK


def _version() -> str:
    from lrgen import __version__

    return __version__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
