"""User expressions compute the reference's real value on every target (issue 10, item 6).

The reference evaluates expressions with NumPy: a division by zero is inf or nan, an overflow
inf, a negative base to a fractional power nan — never a complex number and never an exception.
Constant folding at build time, the Python target (plain floats) and the tensor targets must give
the same values, and the generated source must never print a bare ``inf`` or ``nan`` name.
"""

from __future__ import annotations

import ast
import itertools
import math
import os
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import lrgen
from lrgen import expr as ex
from lrgen import generate, loader
from lrgen.cli import main as cli_main
from lrgen.ir import Spec
from tests.frameworks import import_path

torch = pytest.importorskip("torch")

VALUES = (0.0, -0.0, 1.0, -1.0, 2.5, -2.5, 3.0, -3.0, 1e308, -1e308, math.inf, -math.inf, math.nan)


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@pytest.mark.parametrize("op", ex.BINARY_OPS)
def test_scalar_binary_ops_are_numpys(op: str) -> None:
    """The scalar evaluator (binding; ``binary_value`` also folds constants) equals NumPy's ufunc
    on every pair of special values; before, ``1 // 0`` gave nan (NumPy inf) and ``0 ** -1`` nan
    (NumPy inf)."""
    bad = []
    for a, b in itertools.product(VALUES, VALUES):
        with np.errstate(all="ignore"):
            want = float(ex.evaluate(ex.Binary(op, ex.Num(a), ex.Num(b)), {}))
        got = ex.evaluate_scalar(ex.Binary(op, ex.Num(a), ex.Num(b)), {})
        if not isinstance(got, float) or not (
            _same(got, want) or math.isclose(got, want, rel_tol=1e-15)
        ):
            bad.append((a, b, got, want))
    assert bad == []


@pytest.mark.parametrize("name", [f for f, n in ex.FUNCTIONS.items() if n == 1])
def test_scalar_functions_are_numpys(name: str) -> None:
    for x in VALUES:
        with np.errstate(all="ignore"):
            want = float(getattr(np, name)(x))
        assert _same(ex.evaluate_scalar(ex.Call(name, (ex.Num(x),)), {}), want), (name, x)


SPEC = """\
lrgen: 1
schedules:
  poly:
    lr: 0.1
    schedule: {kind: LambdaLR, lr_lambda: "(1 - t / 10) ** 0.9"}
  div_zero:
    lr: 0.1
    schedule: {kind: LambdaLR, lr_lambda: "1 / 0"}
  exp_big:
    lr: 0.1
    schedule: {kind: LambdaLR, lr_lambda: "exp(1000)"}
  pow_big:
    lr: 0.1
    schedule: {kind: LambdaLR, lr_lambda: "2 ** 5000"}
  tower:
    lr: 0.1
    schedule: {kind: LambdaLR, lr_lambda: "9 ** 9 ** 9"}
  poles:
    lr: 0.1
    schedule:
      kind: LambdaLR
      lr_lambda: "1 / (t - 5) + log(t - 3) + sqrt(t - 4) + t % (t - 2) + t // (t - 6)"
  big_floor:
    lr: 0.1
    schedule: {kind: LambdaLR, lr_lambda: "floor(exp(t * 1000)) / 1e300"}
"""
STEPS = [0, 2, 3, 4, 5, 6, 10, 11, 20]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Spec, ModuleType]:
    """``lrgen build`` of SPEC (before: ``1 / 0`` raised ZeroDivisionError in constant folding,
    ``2 ** 5000`` OverflowError, ``exp(1000)`` OverflowError)."""
    out = tmp_path_factory.mktemp("numerics_expr")
    spec_path = out / "expr_edges.yaml"
    spec_path.write_text(SPEC)
    assert cli_main(["build", str(spec_path), "--out", str(out)]) == 0
    return loader.load(spec_path), import_path(out / "expr_edges_torch.py")


def test_no_bare_inf_or_nan_in_source(built: tuple[Spec, ModuleType]) -> None:
    """Folded non-finite constants print as ``math.inf``/``math.nan``, never as a bare name
    (``inf`` was a NameError at import)."""
    spec, _ = built
    for target in ("torch", "keras"):
        tree = ast.parse(generate.render(spec, target))
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        assert not names & {"inf", "nan", "Infinity", "NaN"}, target
    assert "math.inf" in generate.render(spec, "torch")


def _python_value(fn: object, step: int, name: str) -> float:
    """The Python target's value; a ValueError naming the schedule (the non-finite check) also
    counts as the reference's non-finite value."""
    try:
        value = fn(step)  # type: ignore[operator]
    except ValueError as err:
        assert name in str(err)
        return math.nan
    assert isinstance(value, float), (name, step, value)  # never complex
    return value


@pytest.mark.parametrize(
    "name", ["poly", "div_zero", "exp_big", "pow_big", "tower", "poles", "big_floor"]
)
def test_python_and_torch_targets_give_the_reference_values(
    built: tuple[Spec, ModuleType], name: str
) -> None:
    spec, module = built
    ref = lrgen.evaluate(spec.schedules[name], STEPS)
    for step, want in zip(STEPS, ref, strict=True):
        got = _python_value(getattr(module, name), step, name)
        if math.isfinite(want):
            assert got == pytest.approx(want, rel=1e-12), (step, got, want)
        else:
            assert math.isnan(got) or got == want, (step, got, want)
    tensor = getattr(module, f"{name}_tensor")(torch.tensor(STEPS), dtype=torch.float64)
    got64 = tensor.numpy()
    finite = np.isfinite(ref)
    np.testing.assert_allclose(got64[finite], ref[finite], rtol=1e-12)
    assert np.array_equal(np.isnan(got64), np.isnan(ref))
    assert np.array_equal(got64[np.isinf(ref)], ref[np.isinf(ref)])


def test_poly_past_its_end_is_nan_not_complex(built: tuple[Spec, ModuleType]) -> None:
    """``(1 - t / max_iter) ** 0.9`` past max_iter: the reference's nan (Python gave a complex
    number, which torch then put into ``group["lr"]``)."""
    spec, module = built
    assert np.isnan(lrgen.evaluate(spec.schedules["poly"], [11]))[0]
    assert math.isnan(_python_value(module.poly, 11, "poly"))


def test_validate_accepts_the_folded_specs(tmp_path: Path) -> None:
    path = tmp_path / "folded.yaml"
    path.write_text(SPEC)
    assert cli_main(["validate", str(path)]) == 0
    assert os.path.exists(path)
