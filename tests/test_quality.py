"""Quality gates, run by the README's test command (and so by CI): lint, format, types.

* ``ruff check`` and ``ruff format --check`` (the pinned ruff, the project's configuration) on
  ``lrgen/``, ``tests/``, ``bench/`` and ``docs/`` (its scripts); ``ruff check --ignore-noqa`` on
  ``generated/`` (its file-level ``noqa`` is for users' linters, not ours). Generated code is laid
  out by lrgen itself (lrgen/layout.py, whose invariants tests/test_layout.py checks), not by
  ruff format.
* Users' tools leave generated files alone: ``ruff format`` at line lengths 79, 88 (the
  default) and 100 changes nothing, ``ruff check --select ALL`` reports nothing, and ``lrgen build
  --check`` still passes after a user's ``ruff format`` of the output directory.
* ``mypy lrgen`` with the project's configuration.
* ``mypy --strict`` on a fresh build of every example spec, both targets. Two relaxations, both
  about Keras, which ships no type information: ``--ignore-missing-imports`` (``import keras``)
  and ``--allow-subclassing-any`` (``keras.optimizers.schedules.LearningRateSchedule`` is
  ``Any`` to mypy). Everything else of ``--strict`` holds, except the open findings below, which
  are the only errors tolerated; once fixed, their strict ``xfail`` fails and the entry goes.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from lrgen.cli import main

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(str(p) for p in (ROOT / "spec" / "examples").glob("*.yaml"))
RUFF_PATHS = ["lrgen", "tests", "bench", "docs"]
STRICT = ["--strict", "--ignore-missing-imports", "--allow-subclassing-any"]

#: Open findings of ``mypy --strict`` on generated code: id -> error code. None open: the last,
#: generated-pow-returns-any (``float ** float`` is ``Any`` in typeshed, so a generated function
#: returning a power returned ``Any`` where it declares ``float``), was fixed by ``float(...)``
#: around such powers in the Python printer and in ``_power`` of templates/runtime_helpers.py.
OPEN_FINDINGS: dict[str, str] = {}


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_ruff_check() -> None:
    proc = _run("ruff", "check", "--no-cache", *RUFF_PATHS)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]


def test_ruff_check_generated() -> None:
    """The project's rule set on generated/, through the files' own ``# ruff: noqa``."""
    proc = _run("ruff", "check", "--no-cache", "--ignore-noqa", "generated")
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]


@pytest.fixture(scope="module")
def fresh_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every example spec, every target, built into a directory of its own."""
    out = tmp_path_factory.mktemp("users")
    code = main(["build", *EXAMPLES, "--out", str(out), "--target", "torch,keras,optax"])
    assert code == 0
    return out


@pytest.mark.parametrize("options", [[], ["--line-length", "79"], ["--line-length", "100"]])
def test_users_ruff_format_leaves_generated_files_alone(
    fresh_build: Path, options: list[str]
) -> None:
    """``# fmt: off`` in the header: a user's ruff format (any line length) changes nothing."""
    proc = _run(
        "ruff", "format", "--isolated", "--no-cache", "--check", *options, ".", cwd=fresh_build
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert f"{3 * len(EXAMPLES)} files already formatted" in proc.stdout, proc.stdout


def test_users_ruff_check_all_rules_reports_nothing(fresh_build: Path) -> None:
    proc = _run(
        "ruff", "check", "--isolated", "--no-cache", "--select", "ALL", ".", cwd=fresh_build
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert proc.stdout.strip() == "All checks passed!", proc.stdout[-3000:]


def test_build_check_passes_after_users_ruff_format(tmp_path: Path) -> None:
    """The issue's report: a user's default ``ruff format`` of the output directory made
    ``lrgen build --check`` fail. Formatting with a config of their own (line length 79, single
    quotes) now leaves the files as lrgen wrote them."""
    assert main(["build", *EXAMPLES, "--out", str(tmp_path)]) == 0
    (tmp_path / "ruff.toml").write_text(
        'line-length = 79\n[format]\nquote-style = "single"\n', encoding="utf-8"
    )
    before = {p.name: p.read_text() for p in tmp_path.glob("*.py")}
    proc = _run("ruff", "format", "--no-cache", ".", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert {p.name: p.read_text() for p in tmp_path.glob("*.py")} == before
    assert main(["build", *EXAMPLES, "--out", str(tmp_path), "--check"]) == 0


def test_ruff_format() -> None:
    proc = _run("ruff", "format", "--check", "--no-cache", *RUFF_PATHS)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]


def test_mypy_lrgen(tmp_path: Path) -> None:
    proc = _run("mypy", "--cache-dir", str(tmp_path / "mypy"), "lrgen")
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]


# --- mypy --strict on generated modules -----------------------------------------------------------


@dataclass(frozen=True)
class MypyError:
    file: str
    line: int
    message: str
    code: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}  [{self.code}]"


_ERROR = re.compile(
    r"(?P<file>[^:]+\.py):(?P<line>\d+): error: (?P<msg>.*?)  \[(?P<code>[a-z-]+)\]"
)


def parse_mypy(output: str) -> list[MypyError]:
    matches = (_ERROR.match(line) for line in output.splitlines())
    return [MypyError(m["file"], int(m["line"]), m["msg"], m["code"]) for m in matches if m]


def _returns_power(path: Path, line: int) -> bool:
    """The ``return`` statement at ``line`` returns an expression containing ``**``."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Return) and node.lineno == line and node.value is not None:
            return any(
                (isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow))
                or (
                    isinstance(n, ast.Call)
                    and isinstance(n.func, ast.Name)
                    and n.func.id == "_power"
                )
                for n in ast.walk(node.value)
            )
    return False


def open_finding(error: MypyError, root: Path) -> str | None:
    """The open finding an error belongs to, or None."""
    if (
        error.code == OPEN_FINDINGS.get("generated-pow-returns-any")
        and error.message.startswith("Returning Any from function declared to return")
        and _returns_power(root / error.file, error.line)
    ):
        return "generated-pow-returns-any"
    return None


@pytest.fixture(scope="module")
def strict_errors(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[MypyError], str]:
    out = tmp_path_factory.mktemp("strict")
    assert main(["build", *EXAMPLES, "--out", str(out)]) == 0
    modules = sorted(p.name for p in out.glob("*.py"))
    assert len(modules) == 2 * len(EXAMPLES), modules
    cache = tmp_path_factory.mktemp("mypy-cache")
    proc = _run("mypy", *STRICT, "--cache-dir", str(cache), *modules, cwd=out)
    errors = parse_mypy(proc.stdout)
    assert proc.returncode in (0, 1), proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (proc.returncode == 0) == (not errors), proc.stdout[-3000:]
    return out, errors, proc.stdout


def test_generated_modules_strict_but_open_findings(
    strict_errors: tuple[Path, list[MypyError], str],
) -> None:
    """No ``--strict`` error in generated code beyond the open findings (regressions fail)."""
    out, errors, _ = strict_errors
    unexpected = [str(e) for e in errors if open_finding(e, out) is None]
    assert not unexpected, "\n".join(unexpected)


def test_generated_modules_strict(strict_errors: tuple[Path, list[MypyError], str]) -> None:
    _, errors, _ = strict_errors
    assert not errors, "\n".join(map(str, errors))


def test_strict_gate_detects(tmp_path: Path) -> None:
    """The gate can fail: a module with a real strict error, a power returned as ``float`` (the
    open finding) and a return without ``**`` are told apart."""
    (tmp_path / "bad.py").write_text(
        "def untyped(x):\n"
        "    return x\n"
        "\n"
        "\n"
        "def power(a: float, b: float) -> float:\n"
        "    return a**b\n"
        "\n"
        "\n"
        "def anything(a: object) -> float:\n"
        "    import json\n"
        "\n"
        "    return json.loads(str(a))  # Any, no power\n"
    )
    proc = _run("mypy", *STRICT, "--cache-dir", str(tmp_path / "c"), "bad.py", cwd=tmp_path)
    errors = parse_mypy(proc.stdout)
    assert [(e.line, e.code) for e in errors] == [
        (1, "no-untyped-def"),
        (6, "no-any-return"),
        (12, "no-any-return"),
    ], proc.stdout
    # generated-pow-returns-any is fixed: a power returned as ``float`` is an error again
    assert [open_finding(e, tmp_path) for e in errors] == [None, None, None]


# --- the mutation set of bench/mutation.py ---------------------------------------------------


def test_mutations_apply_exactly_once_and_cover_the_generator() -> None:
    """Each mutation's old text occurs exactly once in its file (a refactor that moves a line
    shows up here, not hours into a mutation run), and the set covers every part of lrgen."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import mutation
    finally:
        sys.path.remove(str(ROOT / "bench"))
    assert mutation.problems(mutation.MUTATIONS, lambda f: (ROOT / f).read_text()) == []
    ids = [m.id for m in mutation.MUTATIONS]
    assert len(ids) == len(set(ids)) >= 40
    files = {m.file for m in mutation.MUTATIONS}
    for part in ("lower", "printers", "templates/", "reference", "expr", "kinds", "loader"):
        assert any(part in f for f in files), part
    assert any("generate" in f for f in files)
    categories = {m.category for m in mutation.MUTATIONS}
    assert {"mode", "operator", "default", "bound", "constructor check", "momentum"} <= categories
