"""Evaluate generated Keras schedules on one Keras backend, in a process of its own.

Keras reads ``KERAS_BACKEND`` once, at import, so each backend needs a fresh interpreter:
``tests/test_keras_backends.py`` runs this script as

    KERAS_BACKEND=jax python tests/keras_backend_worker.py REQUEST.json RESULT.json

REQUEST holds the generated module sources (rendered by the test, so this process needs only
Keras, its backend and NumPy — never lrgen) and, per schedule, the class, its keyword arguments
and the optimizer iterations to evaluate. RESULT gets, per schedule and device, the eager values,
the compiled values (``jax.jit`` / ``tf.function(jit_compile=True)``; none on the torch backend),
and a few scalar calls, as an optimizer makes them. A schedule's ``"jit": false`` skips the
compiled values and ``"scalars": n`` sets how many scalar calls (besides the last step) it gets:
the explicit coverage cases (hundreds) are compared eagerly, the examples and random ones also
compiled.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
BACKEND = os.environ["KERAS_BACKEND"]  # set by the caller, before Keras is imported below

import keras  # noqa: E402
import numpy as np  # noqa: E402

SCALARS = 4  # scalar calls per schedule (first and last steps)


def gpu_present() -> bool:
    """Whether this backend sees a GPU."""
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return bool(tf.config.list_physical_devices("GPU"))
    if BACKEND == "jax":
        import jax

        try:
            return bool(jax.devices("gpu"))
        except RuntimeError:
            return False
    import torch

    return torch.cuda.is_available()


def compiled(schedule: Any) -> Any:
    """``schedule`` compiled by the backend's jit, or None where not tested (torch)."""
    if BACKEND == "jax":
        import jax

        return jax.jit(schedule.__call__)
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return tf.function(schedule.__call__, jit_compile=True)
    return None  # torch.compile of Keras-on-torch: optional, not run (docs/verification.md)


def load(directory: Path, name: str, source: str) -> Any:
    path = directory / f"{name}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def to_list(value: Any) -> list[float]:
    return np.asarray(keras.ops.convert_to_numpy(value), dtype=np.float64).ravel().tolist()


def evaluate(module: Any, item: dict[str, Any], device: str) -> dict[str, Any]:
    iterations = np.asarray(item["iterations"], dtype=np.int64)
    with keras.device(f"{device}:0"):
        schedule = getattr(module, item["class_name"])(**item["kwargs"])
        steps = keras.ops.convert_to_tensor(iterations.astype(np.int32))
        eager = schedule(steps)
        out: dict[str, Any] = {"eager": to_list(eager), "placed": str(getattr(eager, "device", ""))}
        jit = compiled(schedule) if item.get("jit", True) else None
        out["jit"] = None if jit is None else to_list(jit(steps))
        scalars = item.get("scalars", SCALARS)
        picks = sorted({*range(min(scalars, len(iterations))), len(iterations) - 1})
        out["scalar_index"] = picks
        out["scalar"] = [to_list(schedule(int(iterations[i])))[0] for i in picks]
    return out


def main(request_path: str, result_path: str) -> None:
    request = json.loads(Path(request_path).read_text())
    gpu = gpu_present()
    devices = ["cpu", "gpu"] if gpu else ["cpu"]
    result: dict[str, Any] = {"backend": keras.backend.backend(), "gpu": gpu, "results": {}}
    with tempfile.TemporaryDirectory(prefix=f"lrgen-{BACKEND}-") as tmp:
        modules = {
            name: load(Path(tmp), name, source) for name, source in request["modules"].items()
        }
        for key, item in request["schedules"].items():
            per_device = {}
            for device in devices:
                try:
                    per_device[device] = evaluate(modules[item["module"]], item, device)
                except Exception:  # reported per schedule, so one failure names its spec
                    per_device[device] = {"error": traceback.format_exc()}
            result["results"][key] = per_device
    Path(result_path).write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
