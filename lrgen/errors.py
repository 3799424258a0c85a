"""Problems with places: every error about a spec carries file, line, column and JSON path."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One problem in a spec file. Sorts by file, then position.

    ``line`` and ``column`` are 1-based; ``path`` is a dotted JSON path such as
    ``schedules.warm.schedule.T_max`` (``$`` for the document itself).
    """

    file: str
    line: int
    column: int
    path: str
    message: str
    severity: str = "error"  # "error" | "warning"
    #: A warning's code (``zero-start``, docs/spec.md "Lint"), shown as ``warning[CODE]:`` and
    #: named in a schedule's ``lint: {ignore: [...]}`` to silence it; "" for errors.
    code: str = ""

    def __str__(self) -> str:
        prefix = ""
        if self.severity == "warning":
            prefix = f"warning[{self.code}]: " if self.code else "warning: "
        return f"{self.file}:{self.line}:{self.column}: {self.path}: {prefix}{self.message}"


class SpecError(ValueError):
    """A spec file is invalid. ``problems`` holds every problem found, sorted."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(sorted(problems))
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid spec")


def display_path(path: str | os.PathLike[str] | bytes) -> str:
    """``path`` as one printable line: bytes that are not UTF-8 (which Python keeps as lone
    surrogates in a file name) as ``\\xNN``, control characters escaped. Open files with the
    original path; show this one."""
    name = path if isinstance(path, bytes) else os.fspath(path)
    if isinstance(name, bytes):
        raw = name
    else:
        try:
            raw = os.fsencode(name)
        except UnicodeEncodeError:  # a lone surrogate that no file system byte decodes to
            raw = name.encode("utf-8", "backslashreplace")
    text = raw.decode("utf-8", "backslashreplace")
    return text if text.isprintable() else text.encode("unicode_escape").decode("ascii")
