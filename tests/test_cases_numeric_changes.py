"""The stale-golden and stale-generated/ messages say which schedules' numbers changed.

A text diff of generated code says that the code changed; :func:`tests.frameworks.
numeric_changes` imports the old and the new module text and evaluates every closed-form
schedule of both over 0..1000 and every boundary -1/0/+1, so that the message names the
schedules whose values moved, by how much and where (tests/test_generate.py uses it).
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from lrgen import generate
from lrgen.loader import load_text
from tests.frameworks import numeric_changes

pytest.importorskip("torch")
pytest.importorskip("keras")

GOLDEN = Path(__file__).resolve().parent / "golden" / "golden.yaml"


def _specs() -> tuple:
    text = GOLDEN.read_text(encoding="utf-8")
    changed = text.replace("step_size: 30, gamma: 0.1", "step_size: 30, gamma: 0.2")
    assert changed != text
    return load_text(text, "golden.yaml"), load_text(changed, "golden.yaml")


@pytest.mark.parametrize("target", ["torch", "keras"])
def test_a_changed_schedule_is_named_with_its_numbers(target: str) -> None:
    old_spec, new_spec = _specs()
    old, new = generate.render(old_spec, target), generate.render(new_spec, target)
    report = numeric_changes(old, new, new_spec, target)
    lines = {line.split(":", 1)[0].strip(): line for line in report.splitlines()[1:]}
    # gamma 0.1 -> 0.2: epochs 0..29 stay, from 30 on the ratio is 2**k (k = t // 30)
    assert "max relative difference 8.59e+09 at t=990" in lines["step_decay"]
    assert "971 of 1001 steps differ" in lines["step_decay"]
    assert lines["warmup_cosine"].endswith("values unchanged")
    assert lines["one_cycle"].endswith("values unchanged")
    assert "plateau" not in lines  # metric-driven: no closed form to compare


def test_largest_difference_and_where() -> None:
    old_spec, new_spec = _specs()
    report = numeric_changes(
        generate.render(old_spec, "torch"), generate.render(new_spec, "torch"), new_spec, "torch"
    )
    (line,) = [x for x in report.splitlines() if x.strip().startswith("step_decay")]
    # 0.1 * 0.2**k / (0.1 * 0.1**k) - 1 = 2**k - 1 grows with k = t // 30: the largest from
    # t = 990 (k = 33) on, first reached there
    assert f"max relative difference {2**33 - 1:.3g} at t=990 " in line
    shown = re.search(r"\(old (\S+), new (\S+);", line)
    assert shown, line
    old, new = float(shown[1]), float(shown[2])
    assert math.isclose(old, 0.1 * 0.1**33, rel_tol=1e-12), line
    assert math.isclose(new, 0.1 * 0.2**33, rel_tol=1e-12), line


def test_a_reformatted_module_has_no_numeric_change() -> None:
    spec, _ = _specs()
    text = generate.render(spec, "torch")
    report = numeric_changes(text, text.replace("\n\n\n", "\n\n\n# a comment\n", 1), spec, "torch")
    assert all(line.endswith("values unchanged") for line in report.splitlines()[1:]), report


def test_a_module_that_does_not_import_is_reported() -> None:
    spec, _ = _specs()
    report = numeric_changes("", generate.render(spec, "torch"), spec, "torch")
    assert "warmup_cosine: the old module fails: AttributeError" in report
