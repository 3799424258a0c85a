"""Smoke test of the benchmark scripts in ``bench/``: each runs with ``--quick`` and writes its
report section to a temporary file (never ``docs/performance.md``).

The scripts start together (each in its own process, with its own output file) and each test
waits for one of them, so the file takes about as long as the slowest script. Nothing here
asserts a timing: the numbers of a ``--quick`` run mean nothing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
SCRIPTS = (
    "scheduler_step",
    "compile_recompiles",
    "keras_fit",
    "reference_eval",
    "cli_startup",
    "scale",
    "optax_schedule",
)
TIMEOUT_S = 600


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[subprocess.Popen, Path]]:
    """Every script started at once with ``--quick --out TMP/NAME.md``."""
    tmp = tmp_path_factory.mktemp("bench")
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
    started = {}
    for name in SCRIPTS:
        out = tmp / f"{name}.md"
        process = subprocess.Popen(
            [sys.executable, str(BENCH / f"{name}.py"), "--quick", "--out", str(out)],
            cwd=tmp,  # not the repository: nothing may depend on the working directory
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        started[name] = (process, out)
    yield started
    for process, _ in started.values():
        if process.poll() is None:
            process.kill()
            process.communicate()


@pytest.mark.parametrize("name", SCRIPTS)
def test_quick_run_writes_its_section(
    runs: dict[str, tuple[subprocess.Popen, Path]], name: str
) -> None:
    process, out = runs[name]
    output, _ = process.communicate(timeout=TIMEOUT_S)
    assert process.returncode == 0, output[-4000:]
    text = out.read_text(encoding="utf-8")
    assert f"<!-- bench:{name} begin -->" in text and f"<!-- bench:{name} end -->" in text
    assert "--quick" in text  # the section says it is a smoke run
    summary = re.search(r"<!-- summary: (.*?) -->", text, re.S)
    assert summary is not None
    rows = json.loads(summary.group(1))
    assert rows and all({"measure", "goal", "result", "ok"} <= set(row) for row in rows)
    assert "## Summary" in text and "## How to reproduce" in text


def test_sections_merge_into_one_report(tmp_path: Path) -> None:
    """Two sections written in turn to one file keep each other and share one summary."""
    sys.path.insert(0, str(BENCH))
    try:
        import _common as C
    finally:
        sys.path.remove(str(BENCH))
    out = tmp_path / "performance.md"
    C.write_section(out, "scale", "body of scale", [C.Row("m1", "g1", "r1", True)], quick=True)
    C.write_section(out, "scheduler_step", "body one", [C.Row("m2", "g2", "r2", False)], quick=True)
    C.write_section(out, "scale", "body two", [C.Row("m3", "g3", "r3", True)], quick=True)
    text = out.read_text(encoding="utf-8")
    assert "body one" in text and "body two" in text and "body of scale" not in text
    assert text.index("bench:scheduler_step begin") < text.index("bench:scale begin")
    start = text.index("## Summary")  # the table only: the findings after it name anything
    summary = text[start : text.index("\n## ", start)]
    assert "m2" in summary and "m3" in summary and "m1" not in summary
    assert "**missed**" in summary and "| met |" in summary
