"""Every command the README and docs/ show runs as written, and prints what the page says.

``console`` blocks (``$ command`` lines, then what it printed) are run in a fresh directory with a
copy of ``spec/`` and the output compared, line for line (a block that ends with ``...`` shows the
start of the output only). The quick start is run as a story, in order, from the spec it writes.
Commands that cannot run here (installs, pre-commit, scripts whose files a page does not give)
are listed in NOT_RUN, so that a new one cannot be skipped silently.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BIN = Path(sys.executable).parent

#: ``$`` commands not run here, and why (the pages that show them run them elsewhere, or they
#: need a network, a Git host or files the page does not give).
NOT_RUN = {
    "pre-commit run --all-files": "needs pre-commit and a tagged clone (docs/ci.md says so)",
    "sed -i 's/lr: 5.0e-4/lr: 3.0e-4/' spec/schedules.yaml": "part of the pre-commit session",
    "lrgen build differences.yaml --out gen": "differences.md's scripts need torch and keras",
    "lrgen build my-lr.schedules.yaml": "shows the message for a spec file that is not given",
}


@dataclass(frozen=True)
class Command:
    page: str
    line: str
    output: list[str]
    partial: bool  # the page shows the start of the output only (the block ends with ...)


def console_commands(page: Path) -> list[Command]:
    commands = []
    for block in re.findall(r"^ *```console\n(.*?)^ *```", page.read_text(), flags=re.M | re.S):
        lines = [line.strip() if line.lstrip().startswith("$ ") else line for line in
                 block.rstrip("\n").split("\n")]  # fmt: skip
        indent = min((len(x) - len(x.lstrip()) for x in block.split("\n") if x.strip()), default=0)
        lines = [line[indent:] if not line.startswith("$ ") else line for line in lines]
        partial = bool(lines) and lines[-1].strip() == "..."
        if partial:
            lines = lines[:-1]
        starts = [i for i, line in enumerate(lines) if line.startswith("$ ")]
        for k, i in enumerate(starts):
            end = starts[k + 1] if k + 1 < len(starts) else len(lines)
            last = k + 1 == len(starts)
            commands.append(Command(page.name, lines[i][2:], lines[i + 1 : end], partial and last))
    return commands


def shell(command: str, cwd: Path, *, merge: bool = True) -> tuple[int, str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "COLUMNS": "100"}
    result = subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge else subprocess.DEVNULL,
        text=True,
        timeout=600,
    )
    return result.returncode, result.stdout


def check_output(command: Command, printed: str) -> None:
    got = printed.rstrip("\n").split("\n") if printed.strip() else []
    want = [line.rstrip() for line in command.output]
    got = [line.rstrip() for line in got]
    if command.partial:
        got = got[: len(want)]
    assert got == want, f"{command.page}: $ {command.line}"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "spec", tmp_path / "spec")
    (tmp_path / "docs" / "img").mkdir(parents=True)
    return tmp_path


def _runnable_here(command: Command, workdir: Path) -> bool:
    words = command.line.split()
    files = [w for w in words if re.search(r"\.(ya?ml|json)$", w) and not w.startswith("-")]
    return words[0] == "lrgen" and all((workdir / f).exists() for f in files)


QUICKSTART = "quickstart.md"


def test_every_lrgen_command_of_the_docs_prints_what_the_page_says(workdir: Path) -> None:
    ran, skipped = [], []
    for page in PAGES:
        if page.name == QUICKSTART:  # a story: run in order by the test below
            continue
        for command in console_commands(page):
            if not _runnable_here(command, workdir):
                skipped.append(command.line)
                continue
            _, printed = shell(command.line, workdir)
            check_output(command, printed)
            ran.append(command.line)
    # the Python scripts of differences.md compare with torch and Keras; they are run by hand
    bare = {re.sub(r"\s+# .*$", "", c) for c in skipped if not c.startswith("python ")}
    assert sorted(bare - set(NOT_RUN)) == []
    assert len(ran) >= 8


def _block(text: str, language: str, first_line: str) -> str:
    match = re.search(rf"```{language}\n({re.escape(first_line)}.*?)```", text, flags=re.S)
    assert match, first_line
    return match.group(1)


def test_quickstart_runs_as_written(tmp_path: Path) -> None:
    """From an empty project directory: write the spec the page gives, then every command and
    script of the page, in order, printing what the page says."""
    text = (ROOT / "docs" / QUICKSTART).read_text()
    spec = re.search(r"Create `spec/schedules.yaml`.*?```yaml\n(.*?)```", text, flags=re.S)
    assert spec
    (tmp_path / "spec").mkdir()
    (tmp_path / "spec" / "schedules.yaml").write_text(spec.group(1))
    scripts = dict(re.findall(r"```python\n# (\w+\.py)\n(.*?)```", text, flags=re.S))
    assert set(scripts) == {
        "train_torch.py",
        "train_keras.py",
        "restore_keras.py",
        "train_optax.py",
    }
    for name, code in scripts.items():
        (tmp_path / name).write_text(code)
    for command in console_commands(ROOT / "docs" / QUICKSTART):
        if command.line.startswith("python "):
            framework = next(f for f in ("torch", "optax", "keras") if f in command.line)
            pytest.importorskip(framework)
            code, printed = shell(command.line, tmp_path, merge=False)
        else:
            code, printed = shell(command.line, tmp_path)
        assert code == (2 if "bad" in command.line and "validate" in command.line else 0), (
            command.line,
            printed,
        )
        check_output(command, printed)
    assert "_learning_rate" not in text  # a private attribute of Keras optimizers


def test_readme_spec_and_commands_run(tmp_path: Path) -> None:
    text = (ROOT / "README.md").read_text()
    (tmp_path / "spec.yaml").write_text(_block(text, "yaml", "# yaml-language-server"))
    commands = _block(text, "bash", "lrgen validate spec.yaml").strip().split("\n")
    assert len(commands) == 5
    for line in commands:
        code, printed = shell(line.split("#")[0], tmp_path)
        assert code == 0, (line, printed)
    assert sorted(p.name for p in (tmp_path / "gen").iterdir()) == [
        "spec_keras.py",
        "spec_torch.py",
    ]
    assert (tmp_path / "lr.png").stat().st_size > 10_000


def test_ci_commands_run_in_a_project(tmp_path: Path) -> None:
    """docs/ci.md's two commands, and its CI job less the install, in a project whose
    generated/ is current; then stale after an edit (exit 1)."""
    text = (ROOT / "docs" / "ci.md").read_text()
    (tmp_path / "spec").mkdir()
    shutil.copy2(ROOT / "spec" / "examples" / "cyclical.yaml", tmp_path / "spec")
    assert shell("lrgen build spec/*.yaml", tmp_path)[0] == 0
    two = _block(text, "bash", "lrgen validate").strip()
    assert shell(two, tmp_path)[0] == 0
    job = _block(text, "bash", "pip install tools/").strip().split("\n")[1:]
    for line in job:
        assert shell(line, tmp_path)[0] == 0, line
    spec = tmp_path / "spec" / "cyclical.yaml"
    spec.write_text(spec.read_text().replace("lr: 0.01", "lr: 0.02", 1))
    code, printed = shell(job[-1], tmp_path)
    assert code == 1 and "--- generated/cyclical_torch.py (on disk)" in printed
