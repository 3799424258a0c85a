"""The install and release paths docs/ci.md documents work as written from a clone.

``python -m build --wheel`` turns a copy of the checkout into a wheel; the wheel, installed on
its own (``pip install --no-deps --target``: the dependencies come from this environment, the
network is not needed), runs the commands a CI job runs, from a directory with no checkout in
sight: the schema, the templates and the recipes travel inside it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import lrgen

ROOT = Path(__file__).resolve().parents[1]
#: What the wheel is built from (the rest of the checkout is not needed).
SOURCES = ("pyproject.toml", "README.md", "lrgen", "spec", "templates")


def _run(*argv: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    pytest.importorskip("build")
    base = tmp_path_factory.mktemp("wheel")
    source = base / "src"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(
                ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(ROOT / name, source / name)
    _run(sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", base / "dist",
         cwd=source)  # fmt: skip
    (wheel,) = (base / "dist").glob("lrgen-*.whl")
    target = base / "site"
    _run(sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", target, wheel,
         cwd=base)  # fmt: skip
    env = {
        **os.environ,
        "PYTHONPATH": str(target),
        "PATH": f"{target / 'bin'}{os.pathsep}{os.environ['PATH']}",
    }
    return wheel, env


def test_versions_agree() -> None:
    """The release procedure bumps the version in pyproject.toml and lrgen/__init__.py."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["version"] == lrgen.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", lrgen.__version__)


def test_the_wheel_is_named_after_the_version(installed) -> None:
    wheel, _ = installed
    assert wheel.name == f"lrgen-{lrgen.__version__}-py3-none-any.whl"


def test_installed_wheel_runs_the_ci_commands(installed, tmp_path: Path) -> None:
    _, env = installed
    project = tmp_path / "project"
    (project / "spec").mkdir(parents=True)
    shutil.copy2(ROOT / "spec" / "examples" / "transformer.yaml", project / "spec")
    where = _run(sys.executable, "-c", "import lrgen; print(lrgen.__file__)", cwd=project, env=env)
    assert Path(where.strip()).is_relative_to(env["PYTHONPATH"])  # not the checkout's lrgen
    lrgen_bin = shutil.which("lrgen", path=env["PATH"])
    assert lrgen_bin is not None and Path(lrgen_bin).is_relative_to(env["PYTHONPATH"])
    assert _run("lrgen", "--version", cwd=project, env=env) == f"lrgen {lrgen.__version__}\n"
    _run("lrgen", "validate", "spec/transformer.yaml", cwd=project, env=env)
    _run("lrgen", "build", "spec/transformer.yaml", "--out", "generated", cwd=project, env=env)
    assert sorted(p.name for p in (project / "generated").iterdir()) == [
        "transformer_keras.py",
        "transformer_torch.py",
    ]
    _run("lrgen", "build", "spec/transformer.yaml", "--out", "generated", "--check",
         cwd=project, env=env)  # fmt: skip
    schema = _run("lrgen", "schema", cwd=project, env=env)
    assert schema == (ROOT / "spec" / "lrgen.schema.json").read_text()
    _run("lrgen", "init", "1cycle", "-o", "spec/one.yaml", cwd=project, env=env)
    _run("lrgen", "validate", "--strict", "spec/one.yaml", cwd=project, env=env)
