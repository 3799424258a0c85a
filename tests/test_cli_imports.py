"""``lrgen validate`` and ``lrgen build`` never import an ML framework or a plotting library.

Each command runs through ``lrgen.cli.main`` in a fresh interpreter, which then reports
``sys.modules``: the test process itself may have imported anything. (Start-up time is measured
by ``bench/cli_startup.py``, never asserted here.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(str(p) for p in (ROOT / "spec" / "examples").glob("*.yaml"))
HEAVY = ("torch", "tensorflow", "keras", "jax", "matplotlib")

_CHILD = """
import contextlib, io, json, sys
from lrgen.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    code = main(json.loads(sys.argv[1]))
print(json.dumps({"code": code, "modules": sorted(sys.modules), "out": out.getvalue()}))
"""


def run_main(args: list[str]) -> dict:
    """``lrgen.cli.main(args)`` in a fresh interpreter: its exit code, modules and output."""
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def heavy_modules(modules: list[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The examples built into a fresh folder (by a fresh interpreter, checked below too)."""
    out = tmp_path_factory.mktemp("generated")
    report = run_main(["build", *EXAMPLES, "--out", str(out)])
    assert report["code"] == 0, report["out"]
    assert heavy_modules(report["modules"]) == []
    return out


def test_validate_imports_no_framework() -> None:
    report = run_main(["validate", "spec/examples/transformer.yaml"])
    assert report["code"] == 0, report["out"]
    assert heavy_modules(report["modules"]) == []
    assert "lrgen.loader" in report["modules"]  # the command really ran


def test_validate_all_examples_imports_no_framework() -> None:
    report = run_main(["validate", *EXAMPLES])
    assert report["code"] == 0, report["out"]
    assert heavy_modules(report["modules"]) == []


def test_validate_no_lint_imports_no_numpy() -> None:
    """The documented promise of ``--no-lint``: the fastest check skips NumPy altogether."""
    report = run_main(["validate", "--no-lint", "spec/examples/transformer.yaml"])
    assert report["code"] == 0, report["out"]
    assert heavy_modules(report["modules"]) == []
    assert "numpy" not in report["modules"]


def test_build_check_imports_no_framework(built: Path) -> None:
    report = run_main(["build", *EXAMPLES, "--check", "--out", str(built)])
    assert report["code"] == 0, report["out"]  # up to date: the fixture just built it
    assert heavy_modules(report["modules"]) == []
    assert "lrgen.generate" in report["modules"]


def test_build_of_one_target_imports_no_framework(tmp_path: Path) -> None:
    for target in ("torch", "keras"):
        report = run_main(["build", EXAMPLES[0], "--target", target, "--out", str(tmp_path)])
        assert report["code"] == 0, report["out"]
        assert heavy_modules(report["modules"]) == [], target
