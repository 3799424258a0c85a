"""The commands of ``lrgen``: one module each in this package, all of one shape.

``lrgen/commands/NAME.py`` is the command ``lrgen NAME`` and has:

* ``add_arguments(parser)``: its options (argparse only, no heavy import);
* ``run(args) -> int``: the command, which imports what it needs (NumPy, jinja2, matplotlib)
  inside, so that ``lrgen validate`` never pays for what ``lrgen plot`` needs;
* optionally ``tidy_argv(argv) -> argv``, to untangle its arguments before parsing.

:data:`COMMANDS` lists them (``lrgen --help`` shows them in this order); :mod:`lrgen.cli` parses
the command line and imports only the chosen command's module. The commands import nothing from
:mod:`lrgen.cli`: the exit codes are here.
"""

from __future__ import annotations

#: Exit codes: success, ``build --check`` found stale files, invalid input.
EXIT_OK, EXIT_STALE, EXIT_INVALID = 0, 1, 2

#: command -> one-line help
COMMANDS: dict[str, str] = {
    "validate": "check spec files; one line per problem",
    "build": "write the PyTorch/Keras modules of spec files",
    "schema": "print the JSON Schema of spec files",
    "plot": "draw the schedules of a spec (PNG/SVG, or text)",
    "show": "print a compact text plot of each schedule",
    "table": "print t and the learning rate of each schedule",
    "init": "write a commented starter spec for a recipe",
}
