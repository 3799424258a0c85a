"""floor, ceil, ``//`` and ``%`` of a float quotient in user expressions are exact on every
tensor target.

XLA (Keras on JAX, the optax target) rewrites a division by a constant as a multiplication by
its float32 reciprocal: ``ceil(21 * float32(1 / 7)) = ceil(3.0000002) = 4``, so
``0.5 ** ceil(t / 7)`` was one period ahead at t = 21. In float32 a quotient just below an
integer also rounds up to it (``(3k - 1) / 3`` near 2**24). The generated code corrects the
floor with the exact remainder; these tests compare each target with :func:`lrgen.evaluate` at
every step up to 10**4 (so at every multiple of each divisor and its neighbours) and just below
2**24. Every expression's values are integers or multiples of 0.5, so the comparison is exact:
a float32 target must give the reference's value rounded to float32 (the F6 spec itself is
compared with the float32 rule).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lrgen
from lrgen import generate
from lrgen.loader import load_text
from tests.frameworks import float32_close
from tests.strategies import generated_module

ROOT = Path(__file__).resolve().parent.parent
WORKER = ROOT / "tests" / "keras_backend_worker.py"

#: name -> (lr_lambda, params, overrides used in the comparison)
EXPRESSIONS: dict[str, tuple[str, dict[str, float], dict[str, float]]] = {
    "f6": ("0.5 ** ceil(t / 7)", {}, {}),
    "floor_7_5": ("floor(t / 7.5)", {}, {}),
    "floor_7": ("floor(t / 7)", {}, {}),
    "ceil_3": ("ceil(t / 3)", {}, {}),
    "ceil_7": ("ceil(t / 7)", {}, {}),
    "ceil_0_75": ("ceil(t / 0.75)", {}, {}),
    "floordiv_2_5": ("t // 2.5", {}, {}),
    "mod_2_5": ("t % 2.5", {}, {}),
    "floor_param": ("floor(t / d)", {"d": 7.5}, {}),
    "ceil_param": ("ceil(t / d)", {"d": 3.0}, {}),
    "floor_negative_param": ("floor(t / d)", {"d": 7.5}, {"d": -7.5}),
    "ceil_negative_param": ("ceil(t / d)", {"d": 3.0}, {"d": -3.0}),
    "floor_negative": ("floor(t / -7)", {}, {}),
    "ceil_negative": ("ceil(t / -2.5)", {}, {}),
    "floordiv_param": ("t // d", {"d": 2.5}, {}),
    "floordiv_negative_param": ("t // d", {"d": 2.5}, {"d": -2.5}),
    "mod_param": ("t % d", {"d": 2.5}, {}),
    "mod_negative_param": ("t % d", {"d": 2.5}, {"d": -2.5}),
    "floor_of_shifted": ("floor((t + 1) / 7)", {}, {}),
    "ceil_scaled": ("ceil(2 * t / 7)", {}, {}),
}

STEPS = np.concatenate([np.arange(0, 10_001), np.arange(2**24 - 300, 2**24 + 1)])


def _spec() -> Any:
    schedules = {
        name: {
            "lr": 1.0,
            **({"params": params} if params else {}),
            "schedule": {"kind": "LambdaLR", "lr_lambda": text},
        }
        for name, (text, params, _) in EXPRESSIONS.items()
    }
    return load_text(json.dumps({"lrgen": 1, "schedules": schedules}), "quotients.json")


@pytest.fixture(scope="module")
def spec() -> Any:
    return _spec()


@pytest.fixture(scope="module")
def reference(spec: Any) -> dict[str, np.ndarray]:
    return {e.name: lrgen.evaluate(e, STEPS, params=EXPRESSIONS[e.name][2]) for e in spec.entries}


#: A quotient that is not an integer over a literal (a param divisor that is not an integer, a
#: dividend ``2.0 * t``) is corrected in float arithmetic: exact at every multiple and up to
#: 10**4, but near 2**24 a float32 product ``q * 7.5`` rounds, so there the float32 rule
#: applies (an off-by-one of 2236922 is 4.5e-7).
RUNTIME_FRACTIONS = frozenset(
    {
        "floor_param",
        "floor_negative_param",
        "ceil_scaled",
        "floordiv_param",
        "floordiv_negative_param",
    }
)


def _compare(what: str, name: str, got: Any, ref: np.ndarray, steps: Any = STEPS) -> None:
    got = np.asarray(got, dtype=np.float64).ravel()
    float32 = "float64" not in what and "x64=True" not in what
    # a float32 target gives the reference rounded to float32 (22369223 is 22369224 there)
    ok = got == (ref.astype(np.float32).astype(np.float64) if float32 else ref)
    if name == "f6":
        ok = float32_close(got, ref)
    elif name in RUNTIME_FRACTIONS and float32:
        ok |= (np.asarray(steps) > 10_000) & float32_close(got, ref)
    bad = np.flatnonzero(~ok)
    shown = [(int(np.asarray(steps)[i]), float(got[i]), float(ref[i])) for i in bad[:5]]
    assert not bad.size, f"{what} {name}: {bad.size} steps differ (t, got, reference): {shown}"


def test_reference_values(reference: dict[str, np.ndarray]) -> None:
    """The comparisons below are against the right numbers (the issue's example)."""
    at = {int(t): i for i, t in enumerate(STEPS)}
    assert reference["f6"][at[21]] == 0.125
    assert reference["f6"][at[22]] == 0.0625
    assert reference["ceil_3"][at[2**24 - 1]] == 5592405.0
    assert reference["floor_negative_param"][at[15]] == -2.0
    assert reference["mod_negative_param"][at[16]] == -1.5


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_torch_tensor(spec: Any, reference: dict[str, np.ndarray], dtype: str) -> None:
    torch = pytest.importorskip("torch")
    module = generated_module(spec, "torch")
    steps = torch.as_tensor(STEPS, dtype=torch.int64)
    for entry in spec.entries:
        fn = getattr(module, f"{entry.name}_tensor")
        got = fn(steps, dtype=getattr(torch, dtype), **EXPRESSIONS[entry.name][2])
        _compare(f"torch tensor {dtype}", entry.name, got.numpy(), reference[entry.name])


def test_torch_function(spec: Any, reference: dict[str, np.ndarray]) -> None:
    pytest.importorskip("torch")
    module = generated_module(spec, "torch")
    picks = np.r_[0:200, 10_001 : STEPS.size]
    for entry in spec.entries:
        fn = getattr(module, entry.name)
        got = [fn(int(STEPS[i]), **EXPRESSIONS[entry.name][2]) for i in picks]
        ref = reference[entry.name][picks]
        assert got == ref.tolist(), entry.name


@pytest.mark.parametrize("x64", [False, True])
def test_optax(spec: Any, reference: dict[str, np.ndarray], x64: bool) -> None:
    jax = pytest.importorskip("jax")
    pytest.importorskip("optax")
    module = generated_module(spec, "optax")
    with jax.enable_x64(x64):
        steps = jax.numpy.asarray(STEPS, dtype=jax.numpy.int32)
        for entry in spec.entries:
            schedule = getattr(module, entry.name)(**EXPRESSIONS[entry.name][2])
            for what, fn in (("jit", jax.jit(jax.vmap(schedule))), ("eager", schedule)):
                got = np.asarray(fn(steps))
                _compare(f"optax x64={x64} {what}", entry.name, got, reference[entry.name])


@pytest.fixture(scope="module")
def keras_request(spec: Any) -> dict[str, Any]:
    module = "_lrgen_quotients_keras"
    return {
        "modules": {module: generate.render(spec, "keras")},
        "schedules": {
            e.name: {
                "module": module,
                "class_name": e.class_name,
                "kwargs": EXPRESSIONS[e.name][2],
                "iterations": STEPS.tolist(),
                "scalars": 2,
            }
            for e in spec.entries
        },
    }


@pytest.mark.parametrize("backend", ["jax", "tensorflow", "torch"])
def test_keras_backend(
    keras_request: dict[str, Any],
    reference: dict[str, np.ndarray],
    backend: str,
    tmp_path: Path,
) -> None:
    pytest.importorskip({"tensorflow": "tensorflow"}.get(backend, backend))
    request_file, result_file = tmp_path / "request.json", tmp_path / "result.json"
    request_file.write_text(json.dumps(keras_request))
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, str(WORKER), str(request_file), str(result_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(result_file.read_text())["results"]
    for name, per_device in results.items():
        out = per_device["cpu"]
        assert "error" not in out, out.get("error")
        _compare(f"keras {backend} eager", name, out["eager"], reference[name])
        if out["jit"] is not None:
            _compare(f"keras {backend} jit", name, out["jit"], reference[name])
        picks = out["scalar_index"]
        scalars = reference[name][picks]
        _compare(f"keras {backend} scalar", name, out["scalar"], scalars, STEPS[picks])
