"""Reading specs that are odd on the outside: special files, odd names, big lists, and positions
inside scalars that YAML folds, escapes or quotes."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from lrgen.loader import check_path


def _problems(path: Path | str) -> list[tuple[int, int, str, str]]:
    return [(p.line, p.column, p.path, p.message) for p in check_path(path)[1]]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)
    result: list[object] = []
    reader = threading.Thread(target=lambda: result.append(_problems(fifo)), daemon=True)
    reader.start()
    reader.join(timeout=10)
    if reader.is_alive():  # unblock the reader before failing, so the test process can exit
        with open(fifo, "w"):
            pass
        pytest.fail("reading a FIFO blocked")
    assert result == [
        [(1, 1, "$", "is not a regular file (a FIFO, socket or device); lrgen reads files")]
    ]


def test_a_directory_and_impossible_names_are_problems(tmp_path: Path) -> None:
    assert _problems(tmp_path) == [(1, 1, "$", "is a directory, not a spec file")]
    for name in ("x\ud800.yaml", "x\0.yaml"):
        [(line, column, path, message)] = _problems(name)
        assert (line, column, path) == (1, 1, "$")
        assert message == "no such file (the name is not a valid file name)"
    [problem] = check_path("x\ud800.yaml")[1]
    assert problem.file == "x\\ud800.yaml"  # printable


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_sixty_thousand_milestones_are_refused_quickly(tmp_path: Path, suffix: str) -> None:
    items = ", ".join(str(i + 1) for i in range(60_000))
    if suffix == ".json":
        text = (
            '{"lrgen": 1, "schedules": {"s": {"lr": 0.1, "schedule": '
            f'{{"kind": "MultiStepLR", "milestones": [{items}]}}}}}}}}'
        )
        where = (1, 95)
    else:
        text = (
            "lrgen: 1\nschedules:\n  s:\n    lr: 0.1\n    schedule:\n      kind: MultiStepLR\n"
            f"      milestones: [{items}]\n"
        )
        where = (7, 19)
    path = tmp_path / f"many{suffix}"
    path.write_text(text, encoding="utf-8")
    start = time.perf_counter()
    problems = _problems(path)
    elapsed = time.perf_counter() - start
    assert problems == [
        (*where, "schedules.s.schedule.milestones", "60000 items; lrgen supports at most 10000")
    ]
    # A guard against a hang, not a benchmark (about 0.5 s here, 6 s before lists were bounded
    # and libyaml parsed): the work is bounded by the list limit, whatever the machine's load.
    assert elapsed < 60.0


@pytest.mark.parametrize(
    ("value", "line", "token"),
    [
        ('"\\x74 + \\u0074 + totl"', 8, "totl"),  # escapes: longer in the file than the value
        ("'t +  ''x'' + 1'", 8, "''x''"),  # '' is one quote: the str literal starts there
        ('"t + \\\n      totl"', 9, "totl"),  # an escaped line break, then the next line
        ("t +\n        t +\n        totl", 10, "totl"),  # a plain scalar folded over 3 lines
    ],
)
def test_expression_positions_inside_scalars(tmp_path: Path, value: str, line: int, token: str):
    path = tmp_path / "quoted.yaml"
    path.write_text(
        "lrgen: 1\nschedules:\n  s:\n    lr: 0.1\n    params: {total: 10}\n    schedule:\n"
        f"      kind: LambdaLR\n      lr_lambda: {value}\n",
        encoding="utf-8",
    )
    [(got_line, column, json_path, _)] = _problems(path)
    assert json_path == "schedules.s.schedule.lr_lambda"
    text = path.read_text(encoding="utf-8").splitlines()[got_line - 1]
    assert (got_line, text[column - 1 :][: len(token)]) == (line, token), text


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_the_integer_limit_is_inclusive(tmp_path: Path, suffix: str) -> None:
    """2**53 itself is a valid milestone (every integer up to it is exact in a double);
    2**53 + 1 is the first one refused, at its position."""
    for value, refused in ((2**53, False), (2**53 + 1, True)):
        if suffix == ".json":
            text = (
                '{"lrgen": 1, "schedules": {"s": {"lr": 0.1, "schedule": '
                f'{{"kind": "MultiStepLR", "milestones": [{value}]}}}}}}}}'
            )
        else:
            text = (
                "lrgen: 1\nschedules:\n  s:\n    lr: 0.1\n    schedule:\n"
                f"      kind: MultiStepLR\n      milestones: [{value}]\n"
            )
        path = tmp_path / f"limit{suffix}"
        path.write_text(text, encoding="utf-8")
        problems = _problems(path)
        if refused:
            assert [p[2:] for p in problems] == [
                (
                    "schedules.s.schedule.milestones[0]",
                    f"{value} is too large: integers are limited to 2**53",
                )
            ]
        else:
            assert problems == []
