"""Problems with places: every error about a spec carries file, line, column and JSON path."""

from __future__ import annotations

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

    def __str__(self) -> str:
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{self.file}:{self.line}:{self.column}: {self.path}: {prefix}{self.message}"


class SpecError(ValueError):
    """A spec file is invalid. ``problems`` holds every problem found, sorted."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(sorted(problems))
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid spec")
