"""The README opens with exactly two commands, and CI runs the second one verbatim."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```bash\n(.*?)\n```", text, flags=re.S)[:2]


def test_readme_opens_with_two_commands() -> None:
    text = (ROOT / "README.md").read_text()
    first_block = text.index("```bash")
    assert text[:first_block].strip() == "# lrgen"
    setup, tests = _readme_commands()
    assert "\n" not in setup and "\n" not in tests
    assert "lrgen build spec/examples/*.yaml" in setup
    assert "pytest" in tests and "torch" in tests


def test_ci_runs_the_readme_test_command() -> None:
    _, tests = _readme_commands()
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert tests in ci, ".ci/run must run the README's test command verbatim"


def test_constraints_pin_torch_cpu_build() -> None:
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    assert "torch==2.13.0" in lines


def _pins(name: str) -> dict[str, str]:
    pins = {}
    for line in (ROOT / name).read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(?:\[[a-z0-9_,-]+\])?==(\S+)", line.strip())
        if match:
            pins[match[1].lower()] = match[2]
    return pins


def test_cuda_requirements_pin_the_tested_versions() -> None:
    """The GPU install path (requirements-cuda.txt) installs the versions the CPU setup tests:
    CUDA TensorFlow at tensorflow-cpu's version, torch, Keras, JAX at constraints.txt's."""
    cpu, cuda = _pins("constraints.txt"), _pins("requirements-cuda.txt")
    assert cuda["tensorflow"] == cpu["tensorflow-cpu"]
    for name in ("torch", "keras", "jax", "jaxlib", "optax", "numpy"):
        assert cuda[name] == cpu[name], name
    text = (ROOT / "requirements-cuda.txt").read_text()
    assert "tensorflow[and-cuda]==" in text and "jax[cuda12]==" in text
    assert "tensorflow-cpu" not in cuda and "\n-e .[plot,test]\n" in text


def test_readme_test_command_runs_the_quality_gates() -> None:
    """The quality gates are tests of the suite the README's command (and so CI) runs: nothing
    in the command deselects them, and tests/test_quality.py has each gate."""
    _, tests = _readme_commands()
    pytest_args = tests.split("pytest", 1)[1].split()
    assert not {"-k", "-m", "--ignore", "--deselect"} & set(pytest_args), pytest_args
    assert not [a for a in pytest_args if a.startswith("tests/")], pytest_args
    source = (ROOT / "tests" / "test_quality.py").read_text()
    for gate in ('"ruff", "check"', '"ruff", "format", "--check"', '"mypy", "--cache-dir"'):
        assert gate in source, gate
    assert '"--strict"' in source and "def test_generated_modules_strict" in source
