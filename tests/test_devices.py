"""The torch tensor variant on every device, inside ``torch.compile``, without host syncs.

* Every closed-form example schedule's ``NAME_tensor`` on each device (CPU always; CUDA skips
  cleanly without one, ``LRGEN_REQUIRE_GPU=1`` fails instead): results on the steps' device,
  equal to the reference (float64 and float32 rules).
* ``torch.compile(fullgraph=True)``: no graph break, and no recompilation over 200 different step
  tensors after warm-up (frames counted by ``torch._dynamo.testing.CompileCounter``); one schedule
  also through the default inductor backend, against the reference.
* No host synchronisation: on CUDA, ``torch.cuda.set_sync_debug_mode("error")`` around a call;
  everywhere, the generated tensor functions contain no ``.item()``/``float()``/``int()``-style
  conversions of a tensor (checked on their syntax tree), and ``fullgraph=True`` compiles them,
  which it could not across a data-dependent host read.
"""

from __future__ import annotations

import ast
import inspect
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import lrgen
from lrgen import ir
from tests.conftest import skip_without_gpu
from tests.frameworks import float32_close, float64_close
from tests.strategies import (
    Case,
    float32_rule,
    float32_steps,
    float64_steps,
    generated_module,
    make_case,
    steps_for,
)

torch = pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "spec" / "examples").glob("*.yaml"))
WARMUP_CALLS = 3
DISTINCT_STEPS = 200


def _closed_form() -> list[tuple[str, str]]:
    return [
        (path.stem, name)
        for path in EXAMPLES
        for name, schedule in lrgen.load(path).schedules.items()
        if not schedule.metric_driven
    ]


CLOSED_FORM = _closed_form()
IDS = [f"{stem}.{name}" for stem, name in CLOSED_FORM]


def _schedule(stem: str, name: str) -> tuple[ir.Spec, ir.Schedule]:
    spec = lrgen.load(ROOT / "spec" / "examples" / f"{stem}.yaml")
    return spec, spec.schedules[name]


def _tensor_fn(stem: str, name: str) -> object:
    spec, _ = _schedule(stem, name)
    return getattr(generated_module(spec, "torch"), f"{name}_tensor")


def _device_available(device: str) -> bool:
    return device == "cpu" or (device == "cuda" and torch.cuda.is_available())


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)])
@pytest.mark.parametrize(("stem", "name"), CLOSED_FORM, ids=IDS)
def test_tensor_variant_on_device(device: str, stem: str, name: str) -> None:
    skip_without_gpu(_device_available(device), f"a {device} device")
    _, schedule = _schedule(stem, name)
    case = make_case(schedule)
    steps = steps_for(case.bound, horizon=1000)
    fn = _tensor_fn(stem, name)
    t = torch.as_tensor(steps, device=device)
    for dtype, close, compared in (
        (torch.float64, float64_close, float64_steps(case, steps)),
        (torch.float32, float32_rule(case), float32_steps(case, steps)),
    ):
        got = fn(t, dtype=dtype)
        assert got.device == t.device and got.dtype == dtype and got.shape == t.shape
        keep = np.isin(steps, compared)
        values = got.cpu().numpy().astype(np.float64)[keep]
        ok = close(values, lrgen.evaluate(schedule, steps[keep]))
        assert ok.all(), f"{dtype} at t={steps[keep][~ok][:5]}: {values[~ok][:5]}"
    default = fn(t)  # dtype=None: torch's default dtype
    assert default.dtype == torch.get_default_dtype()


def test_tensor_variant_accepts_any_integer_dtype_and_shape() -> None:
    _, schedule = _schedule("transformer", "warmup_cosine")
    fn = _tensor_fn("transformer", "warmup_cosine")
    steps = np.array([[0, 1, 1999], [2000, 2001, 100_000]])
    ref = lrgen.evaluate(schedule, steps)
    for dtype in (torch.int32, torch.int64):
        got = fn(torch.as_tensor(steps, dtype=dtype), dtype=torch.float64)
        assert got.shape == (2, 3)
        assert float64_close(got.numpy(), ref).all()
    scalar = fn(torch.tensor(2001), dtype=torch.float64)
    assert scalar.shape == () and float64_close(scalar.numpy(), ref[1, 1:2]).all()


# --- torch.compile --------------------------------------------------------------------------------


def _step_tensors(seed: int, shape: tuple[int, ...] = ()) -> list[torch.Tensor]:
    """DISTINCT_STEPS different step tensors of ``shape``: small, boundary-sized and huge."""
    rng = np.random.default_rng(seed)
    values = np.unique(
        np.concatenate([np.arange(50), rng.integers(0, 200_000, 100), rng.integers(0, 2**31, 100)])
    )[:DISTINCT_STEPS]
    assert len(values) == DISTINCT_STEPS
    return [torch.full(shape, int(v), dtype=torch.int64) for v in values]


def _compile_and_count(case: Case, fn: Any, shape: tuple[int, ...]) -> None:
    from torch._dynamo.testing import CompileCounter

    torch._dynamo.reset()
    counter = CompileCounter()
    compiled = torch.compile(fn, backend=counter, fullgraph=True)  # fullgraph: no graph break
    steps = _step_tensors(len(case.schedule.name), shape)
    for t in steps[:WARMUP_CALLS]:
        compiled(t)
    warm = counter.frame_count
    assert warm >= 1
    values = torch.stack([compiled(t) for t in steps])
    assert counter.frame_count == warm, f"recompiled {counter.frame_count - warm} time(s)"
    assert values.dtype == torch.get_default_dtype()
    numbers = np.array([int(t.reshape(-1)[0]) for t in steps])
    keep = np.isin(numbers, float32_steps(case, numbers))
    ref = lrgen.evaluate(case.schedule, numbers[keep])
    got = values.reshape(len(steps), -1)[:, 0].numpy().astype(np.float64)[keep]
    assert float32_rule(case)(got, ref).all()


@pytest.mark.parametrize(("stem", "name"), CLOSED_FORM, ids=IDS)
def test_compiled_without_graph_breaks_or_recompilation(stem: str, name: str) -> None:
    """0-d steps, as an optimizer's step counter is; schedules with tables
    (cifar_resnet_piecewise, sgdr, cosine_restarts) once read such an index back to the host."""
    _, schedule = _schedule(stem, name)
    _compile_and_count(make_case(schedule), _tensor_fn(stem, name), ())


def test_inductor_compiled_equals_reference() -> None:
    """One schedule with tables, params and a where-tree through the default backend."""
    torch._dynamo.reset()
    spec, schedule = _schedule("cyclical", "sgdr")
    fn = generated_module(spec, "torch").sgdr_tensor
    compiled = torch.compile(fn, fullgraph=True)
    steps = steps_for(ir.bind(schedule), horizon=500)
    ref = lrgen.evaluate(schedule, steps)
    got = compiled(torch.as_tensor(steps), dtype=torch.float64)
    assert float64_close(got.numpy(), ref).all()
    got32 = compiled(torch.as_tensor(steps), dtype=torch.float32)
    assert float32_close(got32.numpy().astype(np.float64), ref).all()


# --- host synchronisation -------------------------------------------------------------------------

#: Methods that read a tensor's value back to the host, and conversions that do when given a
#: tensor (the counter ``t`` or a local ``vN``; ``float(c.x)`` of a Python constant is fine).
HOST_METHODS = {"item", "tolist", "cpu", "numpy", "nonzero", "__bool__", "__index__"}
CONVERSIONS = {"float", "int", "bool", "len"}


def _tensor_names(node: ast.AST) -> set[str]:
    return {
        n.id
        for n in ast.walk(node)
        if isinstance(n, ast.Name) and (n.id == "t" or re.fullmatch(r"v\d+", n.id))
    }


def _host_reads(fn: Any) -> list[str]:
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in HOST_METHODS:
            found.append(ast.unparse(node))
        elif isinstance(func, ast.Name) and func.id in CONVERSIONS:
            found.extend(ast.unparse(node) for arg in node.args[:1] if _tensor_names(arg))
    return found


@pytest.mark.parametrize(("stem", "name"), CLOSED_FORM, ids=IDS)
def test_tensor_source_has_no_host_reads(stem: str, name: str) -> None:
    fn = _tensor_fn(stem, name)
    assert not _host_reads(fn), _host_reads(fn)


def test_host_read_detector_detects() -> None:
    """The check above can fail: it finds the reads a careless tensor function would make."""

    def careless(t: torch.Tensor, c: Any) -> torch.Tensor:
        v1 = t * float(c.scale)  # a Python constant: fine
        if float(t.max()) > 3:
            return v1 * t.sum().item() + int(v1[0])
        return t

    found = sorted(_host_reads(careless))
    assert found == ["float(t.max())", "int(v1[0])", "t.sum().item()"], found


@pytest.mark.gpu
@pytest.mark.parametrize(("stem", "name"), CLOSED_FORM, ids=IDS)
def test_no_host_sync_on_cuda(stem: str, name: str) -> None:
    skip_without_gpu(torch.cuda.is_available())
    fn = _tensor_fn(stem, name)
    t = torch.arange(0, 5000, 7, device="cuda")
    fn(t)  # warm-up: the first call may copy the constant tables to the device
    torch.cuda.synchronize()
    previous = torch.cuda.get_sync_debug_mode()
    torch.cuda.set_sync_debug_mode("error")
    try:
        out = fn(t, dtype=torch.float32)
    finally:
        torch.cuda.set_sync_debug_mode(previous)
    assert out.device.type == "cuda"


# --- LRGEN_REQUIRE_GPU ----------------------------------------------------------------------------

#: The test files with GPU tests, and the ``gpu``-marked tests that decide in their own body which
#: GPU they need (the rest are parametrized with ``device="cuda"`` and handled by the conftest).
GPU_FILES = ("test_devices.py", "test_properties.py", "test_keras_backends.py")


def _gpu_tests(path: Path) -> dict[str, str]:
    """``gpu``-marked test functions of a file (by decorator or by a ``torch_devices()`` /
    ``pytest.param("cuda", marks=pytest.mark.gpu)`` parametrization) -> how they get their GPU."""
    tree = ast.parse(path.read_text())
    found = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test_"):
            continue
        decorators = [ast.unparse(d) for d in node.decorator_list]
        marked = any(d == "pytest.mark.gpu" for d in decorators)
        cuda_param = any("torch_devices()" in d or "mark.gpu)" in d for d in decorators)
        if not (marked or cuda_param):
            continue
        body = ast.unparse(node)
        found[node.name] = (
            "device param" if cuda_param else "body" if "skip_without_gpu(" in body else "none"
        )
    return found


def test_every_gpu_test_fails_under_require_gpu() -> None:
    """Each GPU test either has a ``device="cuda"`` parameter marked ``gpu`` (the conftest skips
    or fails it) or calls ``skip_without_gpu`` in its body: none can skip silently."""
    found = {
        f"{name}::{test}": how
        for name in GPU_FILES
        for test, how in _gpu_tests(ROOT / "tests" / name).items()
    }
    assert "test_properties.py::test_torch_tensor_equals_reference" in found
    assert len(found) >= 4, found
    assert not [t for t, how in found.items() if how == "none"], found


def test_require_gpu_fails_the_torch_gpu_tests_without_cuda() -> None:
    """Without CUDA, ``LRGEN_REQUIRE_GPU=1`` makes every torch GPU test fail (the tensor
    property of tests/test_properties.py included): none passes, none skips."""
    if torch.cuda.is_available():
        pytest.skip("CUDA is present: the GPU tests run for real")
    env = {**os.environ, "LRGEN_REQUIRE_GPU": "1", "LRGEN_HYPOTHESIS_PROFILE": "ci"}
    files = ["tests/test_devices.py", "tests/test_properties.py"]
    options = ["-m", "gpu", "-q", "-p", "no:cacheprovider", "-rfEs", "--tb=line", "-o", "addopts="]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", *files, *options],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    out = proc.stdout
    # A failure in the conftest's setup hook is reported as an error, in the body as a failure.
    failed = re.findall(r"^(?:FAILED|ERROR) (\S+)", out, re.M)
    summary = out.strip().splitlines()[-1]
    assert proc.returncode == 1, out[-3000:]
    assert "passed" not in summary and "skipped" not in summary, summary
    assert "tests/test_properties.py::test_torch_tensor_equals_reference[cuda]" in failed, out
    on_devices = [f for f in failed if f.startswith("tests/test_devices.py")]
    assert len(on_devices) == 2 * len(CLOSED_FORM), out[-3000:]
    assert out.count("LRGEN_REQUIRE_GPU=1 but") >= len(failed), out[-3000:]
