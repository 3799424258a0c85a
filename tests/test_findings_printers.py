"""Findings in the printed Python: nan through ``min``/``max``, the type of a printed power,
and ruff's B905 in the module helpers."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lrgen
from lrgen import generate
from lrgen.loader import load_text
from lrgen.lower import FLOAT, Const, Var, arith, op
from lrgen.printers import PythonPrinter
from tests.strategies import generated_module

torch = pytest.importorskip("torch")

NAN_SPEC = {
    "lrgen": 1,
    "schedules": {
        "nan_first": {
            "lr": 0.1,
            "schedule": {"kind": "LambdaLR", "lr_lambda": "min(sqrt(t - 5), 1.0)"},
        },
        "nan_last": {
            "lr": 0.1,
            "schedule": {"kind": "LambdaLR", "lr_lambda": "min(1.0, sqrt(t - 5))"},
        },
        "max_nan_last": {
            "lr": 0.1,
            "schedule": {"kind": "LambdaLR", "lr_lambda": "max(0.5, log(t - 5))"},
        },
    },
}


@pytest.fixture(scope="module")
def nan_spec() -> Any:
    return load_text(json.dumps(NAN_SPEC), "nan.json")


#: name -> the learning rate at t = 9 (at t = 2 the square root and the log are nan)
AT_NINE = {"nan_first": 0.1, "nan_last": 0.1, "max_nan_last": 0.1 * math.log(4)}


@pytest.mark.parametrize("name", sorted(AT_NINE))
def test_python_min_max_propagate_nan_in_either_position(nan_spec: Any, name: str) -> None:
    entry = next(e for e in nan_spec.entries if e.name == name)
    reference = lrgen.evaluate(entry, [2, 9])
    assert math.isnan(reference[0])
    assert reference[1] == pytest.approx(AT_NINE[name], rel=1e-15)
    module = generated_module(nan_spec, "torch")
    with pytest.raises(ValueError) as info:
        getattr(module, name)(2)
    assert str(info.value) == f"{name}: the learning rate at step 2 is nan, not a finite number"
    assert getattr(module, name)(9) == reference[1]
    tensor = getattr(module, f"{name}_tensor")(torch.tensor([2, 9]), dtype=torch.float64)
    assert math.isnan(tensor[0]) and float(tensor[1]) == pytest.approx(reference[1], rel=1e-15)


def test_folded_min_max_propagate_nan() -> None:
    nan = Const(math.nan, FLOAT)
    for args in ((nan, Const(1.0, FLOAT)), (Const(1.0, FLOAT), nan)):
        for name in ("min", "max"):
            folded = op(name, *args)
            assert isinstance(folded, Const) and math.isnan(folded.value), (name, args)


def test_printed_power_is_typed_float() -> None:
    """``float ** float`` is Any to mypy: a power with a non-integer exponent is wrapped."""
    x = Var("x", FLOAT, param=True)
    printer = PythonPrinter()
    assert printer.expr(arith("**", x, Const(0.9, FLOAT))) == "float(x ** 0.9)"
    assert printer.expr(arith("**", Const(0.5, FLOAT), x)) == "float(0.5 ** x)"
    assert printer.expr(arith("**", x, Const(2.0, FLOAT))) == "x ** 2"  # float ** int is float


RESTARTS = {
    "lrgen": 1,
    "schedules": {
        "sgdr": {
            "lr": 0.1,
            "schedule": {"kind": "CosineAnnealingWarmRestarts", "T_0": 10, "T_mult": 2},
        },
        "keras_sgdr": {
            "lr": 0.1,
            "schedule": {"kind": "CosineDecayRestarts", "first_decay_steps": 10, "t_mul": 2.0},
        },
    },
}


@pytest.mark.parametrize("target", ["torch", "keras", "optax"])
def test_helpers_pass_ruff_b905(target: str, tmp_path: Path) -> None:
    """``zip`` in the restart-table helpers has ``strict=True`` (ruff B905)."""
    spec = load_text(json.dumps(RESTARTS), "restarts.json")
    source = generate.render(spec, target)
    assert "def _geometric_cycles(" in source or "def _geometric_periods(" in source
    assert "zip(" in source
    path = tmp_path / f"restarts_{target}.py"
    path.write_text(source, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "B905", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout
    module = generated_module(spec, target)
    if target == "torch":  # the helpers run: restarts at 10 and 30
        entry = next(e for e in spec.entries if e.name == "sgdr")
        steps = [0, 9, 10, 29, 30, 31]
        got = [module.sgdr(t) for t in steps]
        np.testing.assert_allclose(got, lrgen.evaluate(entry, steps), rtol=1e-12)
