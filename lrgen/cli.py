"""The ``lrgen`` command line: argument parsing and exit codes only.

Each command is a module ``lrgen/commands/NAME.py`` of one shape (see :mod:`lrgen.commands`:
``add_arguments(parser)``, ``run(args) -> int``, optionally ``tidy_argv``). Only the chosen
command's module is imported, and it imports its heavy dependencies inside ``run``, so ``lrgen
validate`` never pays for jinja2, matplotlib or an ML framework.

Exit codes: 0 success, 1 ``build --check`` found stale files, 2 invalid input. Whatever a
command did not turn into a positioned problem (a limit of the machine, a bug) is still exit 2 and
one line on stderr, never a traceback (``LRGEN_TRACEBACK=1`` shows it), and a closed stdout
(``lrgen build --check | head``) discards the rest of the output but keeps the command's own exit
code: exit 0 must mean "up to date", not "the reader stopped early".
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any, TextIO

from lrgen.commands import COMMANDS, EXIT_INVALID, EXIT_OK, EXIT_STALE

__all__ = ["COMMANDS", "EXIT_INVALID", "EXIT_OK", "EXIT_STALE", "build_parser", "main"]


def command_module(name: str) -> ModuleType:
    """The module of the command ``name``: ``lrgen.commands.NAME``."""
    return importlib.import_module(f"lrgen.commands.{name}")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The full parser; with ``only``, just that command's module is imported for its options."""
    parser = argparse.ArgumentParser(
        prog="lrgen",
        description="Define a learning-rate schedule once; generate PyTorch and Keras code.",
    )
    parser.add_argument("--version", action="version", version=f"lrgen {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        if only is not None and name != only:
            continue
        command_module(name).add_arguments(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    only = argv[0] if argv and argv[0] in COMMANDS else None
    if only is not None:  # a command may first untangle its own arguments (table.tidy_argv)
        tidy = getattr(command_module(only), "tidy_argv", None)
        argv = tidy(argv) if tidy is not None else argv
    args = build_parser(only).parse_args(argv)
    stdout = sys.stdout
    sys.stdout = _ClosedPipeSafe(stdout)  # type: ignore[assignment]
    try:
        return int(command_module(args.command).run(args))
    except KeyboardInterrupt:
        return 130
    except Exception as err:  # the last line of defence: no traceback, exit 2
        if os.environ.get("LRGEN_TRACEBACK"):
            raise
        print(f"lrgen {args.command}: error: {_describe(err)}", file=sys.stderr)
        return EXIT_INVALID
    finally:
        sys.stdout = stdout


class _ClosedPipeSafe:
    """stdout whose reader may go away: once a write meets a closed pipe, the rest of the output
    is discarded (stdout is pointed at the null device, so the interpreter's own flush at exit
    cannot fail either) and the command runs on to its real exit code."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._closed = False

    def write(self, text: str) -> int:
        if not self._closed:
            try:
                self._stream.write(text)
            except BrokenPipeError:
                self._discard()
        return len(text)

    def flush(self) -> None:
        if not self._closed:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._discard()

    def _discard(self) -> None:
        self._closed = True
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self._stream.fileno())
            os.close(null)
        except (OSError, ValueError):  # not a real file (a test's StringIO): nothing to flush
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _describe(err: BaseException) -> str:
    """One line about an error no command turned into a positioned problem."""
    if isinstance(err, RecursionError):
        return "the spec is nested too deeply to process (Python's recursion limit was reached)"
    if isinstance(err, MemoryError):
        return "out of memory"
    text = " ".join(str(err).split())
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _version() -> str:
    from lrgen import __version__

    return __version__


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
