"""Generated Keras schedules equal the reference on every Keras backend, eager and compiled.

Keras reads ``KERAS_BACKEND`` at import, so each backend runs in a subprocess of its own
(``tests/keras_backend_worker.py``). The specs: every example under ``spec/examples/`` and a
derandomized batch of random schedules from :mod:`tests.strategies` (rendered here, sent to the
worker as module sources). Each schedule is evaluated at its boundary steps -1/0/+1, the end of
its horizon and beyond, and steps up to 2**31 - 1: eagerly, as scalar calls, and compiled
(``jax.jit`` on JAX, ``tf.function(jit_compile=True)`` on TensorFlow; ``torch.compile`` of the
Keras torch backend is optional and not run — the torch target's tensor variant is compiled in
tests/test_devices.py). Everything is compared with ``lrgen.evaluate`` by the float32 rule.
When a backend sees a GPU the worker repeats everything there; without one the GPU tests skip
(``LRGEN_REQUIRE_GPU=1`` turns the skip into a failure).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings

import lrgen
from lrgen import generate, ir
from tests.conftest import skip_without_gpu
from tests.frameworks import float32_close
from tests.strategies import (
    CLOSED_FORM_KINDS,
    MAX_STEP,
    Case,
    cases,
    coverage_spec,
    explicit_cases,
    float32_rule,
    float32_steps,
    make_case,
    one_kind,
    spec_json,
    steps_for,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "spec" / "examples").glob("*.yaml"))
WORKER = ROOT / "tests" / "keras_backend_worker.py"
BACKENDS = ("jax", "torch", "tensorflow")
STEPS_PER_EPOCH = 3
RANDOM_SPECS = min(settings.default.max_examples, 40)
COVERAGE_HORIZON = 100  # as in tests/test_coverage.py
COVERAGE_BACKENDS = ("jax", "torch")  # the explicit cases; TensorFlow: tests/test_coverage.py


def random_cases(count: int) -> list[Case]:
    """One schedule of each closed-form kind, then ``count`` random ones (nested, with params),
    the same ones on every run (derandomized)."""
    found: list[Case] = []
    for kind in CLOSED_FORM_KINDS:
        found.extend(_collect(cases(one_kind(kind)), 1))
    return found + _collect(cases(), count)


def _collect(strategy: Any, count: int) -> list[Case]:
    found: list[Case] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(case: Case) -> None:
        found.append(case)

    collect()
    return found


def _iterations(schedule: ir.Schedule, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(counter steps, optimizer iterations) within int32; epochs are STEPS_PER_EPOCH long."""
    if schedule.unit == "step":
        return steps, steps
    steps = steps[steps * STEPS_PER_EPOCH + STEPS_PER_EPOCH - 1 <= MAX_STEP]
    return steps, steps * STEPS_PER_EPOCH + (STEPS_PER_EPOCH - 1)


@dataclasses.dataclass
class Expected:
    spec: str  # where the schedule comes from, for messages
    steps: np.ndarray
    reference: np.ndarray
    rule: Callable[[np.ndarray, np.ndarray], np.ndarray]  # the float32 rule for this schedule
    compiled: bool = True  # whether the worker also compiles it (jit)


def build_request() -> tuple[dict[str, Any], dict[str, Expected]]:
    request: dict[str, Any] = {"modules": {}, "schedules": {}}
    expected: dict[str, Expected] = {}

    def add(
        module: str,
        key: str,
        schedule: ir.Schedule,
        params: dict[str, float],
        where: str,
        horizon: int = 300,
        compiled: bool = True,
    ) -> None:
        case = make_case(schedule, params)
        steps = float32_steps(case, steps_for(case.bound, horizon=horizon))
        steps, iterations = _iterations(schedule, steps)
        kwargs: dict[str, Any] = dict(params)
        if schedule.unit == "epoch":
            kwargs["steps_per_epoch"] = STEPS_PER_EPOCH
        request["schedules"][key] = {
            "module": module,
            "class_name": schedule.class_name,
            "kwargs": kwargs,
            "iterations": iterations.tolist(),
            **(
                {}
                if compiled
                else {"jit": False, "scalars": 0, "backends": list(COVERAGE_BACKENDS)}
            ),
        }
        reference = lrgen.evaluate(schedule, steps, params=params)
        expected[key] = Expected(where, steps, reference, float32_rule(case), compiled)

    for path in EXAMPLES:
        spec = lrgen.load(path)
        module = f"_lrgen_backend_{path.stem}_keras"
        request["modules"][module] = generate.render(spec, "keras")
        for name, schedule in spec.schedules.items():
            if not schedule.metric_driven:
                add(module, f"{path.stem}.{name}", schedule, {}, str(path.relative_to(ROOT)))

    randoms = random_cases(RANDOM_SPECS)
    renamed = [dataclasses.replace(c.schedule, name=f"random_{i}") for i, c in enumerate(randoms)]
    spec = ir.Spec("random.json", "0" * 64, 1, tuple(renamed))
    request["modules"]["_lrgen_backend_random_keras"] = generate.render(spec, "keras")
    for schedule, case in zip(renamed, randoms, strict=True):
        where = f"{spec_json(case.schedule)} params={dict(case.params)}"
        add("_lrgen_backend_random_keras", schedule.name, schedule, dict(case.params), where)

    # every kind x every mode, in literal form (tests/test_coverage.py has the param forms, whose
    # constants are computed in Python before the backend sees them): eager and at the last
    # step, not compiled; TensorFlow runs them in process (tests/test_coverage.py)
    items = tuple(i for i in explicit_cases() if not i.label.endswith(":params"))
    spec, covered = coverage_spec(items)
    request["modules"]["_lrgen_backend_coverage_keras"] = generate.render(spec, "keras")
    for item, case in zip(items, covered, strict=True):
        where = f"{item.label} {spec_json(item.case.schedule)} params={dict(case.params)}"
        add(
            "_lrgen_backend_coverage_keras",
            case.schedule.name,
            case.schedule,
            dict(case.params),
            where,
            horizon=COVERAGE_HORIZON,
            compiled=False,
        )
    return request, expected


@pytest.fixture(scope="module")
def request_and_expected() -> tuple[dict[str, Any], dict[str, Expected]]:
    return build_request()


def _backend_available(backend: str) -> bool:
    module = {"jax": "jax", "torch": "torch", "tensorflow": "tensorflow"}[backend]
    return importlib.util.find_spec(module) is not None


@pytest.fixture(scope="module", params=BACKENDS)
def backend_run(
    request: pytest.FixtureRequest,
    request_and_expected: tuple[dict[str, Any], dict[str, Expected]],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[str, dict[str, Any], dict[str, Expected]]:
    backend: str = request.param
    if not _backend_available(backend):
        pytest.skip(f"Keras backend {backend} is not installed")
    full_request, all_expected = request_and_expected
    keys = [
        key
        for key, item in full_request["schedules"].items()
        if backend in item.get("backends", BACKENDS)
    ]
    work_request = {**full_request, "schedules": {k: full_request["schedules"][k] for k in keys}}
    expected = {key: all_expected[key] for key in keys}
    tmp = tmp_path_factory.mktemp(f"keras-{backend}")
    request_file, result_file = tmp / "request.json", tmp / "result.json"
    request_file.write_text(json.dumps(work_request))
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, str(WORKER), str(request_file), str(result_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, f"worker on {backend} failed:\n{proc.stderr[-5000:]}"
    result = json.loads(result_file.read_text())
    assert result["backend"] == backend
    return backend, result, expected


def _failures(
    result: dict[str, Any], expected: dict[str, Expected], device: str, what: str
) -> list[str]:
    problems = []
    for key, exp in expected.items():
        got_all = result["results"][key][device]
        if "error" in got_all:
            problems.append(f"{key} ({exp.spec}): raised\n{got_all['error']}")
            continue
        if what == "jit" and not exp.compiled:
            continue
        if what == "scalar":
            index = np.asarray(got_all["scalar_index"])
            got, ref, steps = np.asarray(got_all["scalar"]), exp.reference[index], exp.steps[index]
            ok = exp.rule(got, ref) | float32_close(got, ref, float(np.max(np.abs(exp.reference))))
        else:
            got, ref, steps = np.asarray(got_all[what]), exp.reference, exp.steps
            ok = exp.rule(got, ref)
        if got.shape != ref.shape:
            problems.append(f"{key}: {what} gave shape {got.shape}, expected {ref.shape}")
        elif not ok.all():
            i = int(np.argmax(~ok))
            problems.append(
                f"{key} ({exp.spec}): {what} at t={int(steps[i])}: {got[i]!r} != {ref[i]!r}"
            )
    return problems


#: Findings reported (/tmp/findings_h4a.md) and open: name -> (backend, text of the spec that
#: shows it). Their schedules are left out of the checks above, and each has a strict xfail
#: (test_open_backend_finding) that passes, and so fails, once the finding is fixed.
OPEN_BACKEND_FINDINGS: dict[str, tuple[str, str]] = {}


def _finding(backend: str, exp: Expected) -> str | None:
    for name, (where, text) in OPEN_BACKEND_FINDINGS.items():
        if where == backend and text in exp.spec:
            return name
    return None


def _check(run: tuple[str, dict[str, Any], dict[str, Expected]], device: str, what: str) -> None:
    backend, result, expected = run
    kept = {k: e for k, e in expected.items() if _finding(backend, e) is None}
    problems = _failures(result, kept, device, what)
    assert not problems, f"{backend}/{device}/{what}:\n" + "\n".join(problems[:10])


class BackendFindingOpen(AssertionError):
    """The open finding still shows (its strict xfail expects exactly this)."""


@pytest.mark.parametrize(
    "finding",
    [
        pytest.param(
            name, marks=pytest.mark.xfail(strict=True, raises=BackendFindingOpen, reason=name)
        )
        for name in OPEN_BACKEND_FINDINGS
    ],
)
def test_open_backend_finding(backend_run: tuple, finding: str) -> None:
    backend, result, expected = backend_run
    if backend != OPEN_BACKEND_FINDINGS[finding][0]:
        pytest.skip(f"{finding} concerns {OPEN_BACKEND_FINDINGS[finding][0]} only")
    shown = {k: e for k, e in expected.items() if _finding(backend, e) == finding}
    assert shown, f"no schedule shows {finding}"
    problems = _failures(result, shown, "cpu", "eager")
    if len(problems) == len(shown):
        raise BackendFindingOpen("\n".join(problems))


@pytest.mark.parametrize("what", ["eager", "scalar"])
def test_backend_equals_reference_on_cpu(backend_run: tuple, what: str) -> None:
    _check(backend_run, "cpu", what)
    backend, result, expected = backend_run
    for key in expected:  # keras.device("cpu:0") really placed the values there
        placed = result["results"][key]["cpu"]["placed"].lower()
        assert "gpu" not in placed and "cuda" not in placed, (backend, key, placed)


def test_backend_jit_equals_reference_on_cpu(backend_run: tuple) -> None:
    if backend_run[0] == "torch":
        pytest.skip("torch.compile of the Keras torch backend is optional and not run here")
    _check(backend_run, "cpu", "jit")


@pytest.mark.gpu
@pytest.mark.parametrize("what", ["eager", "scalar", "jit"])
def test_backend_equals_reference_on_gpu(backend_run: tuple, what: str) -> None:
    backend, result, _ = backend_run
    skip_without_gpu(result["gpu"], f"a GPU visible to Keras's {backend} backend")
    if what == "jit" and backend == "torch":
        pytest.skip("torch.compile of the Keras torch backend is optional and not run here")
    _check(backend_run, "gpu", what)


def test_random_batch_covers_every_closed_form_kind() -> None:
    """The derandomized batch sent to the workers is not a handful of trivial schedules."""
    seen: set[str] = set()

    def visit(node: ir.Node) -> None:
        seen.add(node.kind)
        for child in node.children:
            visit(child)

    for case in random_cases(RANDOM_SPECS):
        visit(case.schedule.node)
    for path in EXAMPLES:
        for schedule in lrgen.load(path).schedules.values():
            visit(schedule.node)
    assert set(CLOSED_FORM_KINDS) <= seen, set(CLOSED_FORM_KINDS) - seen
