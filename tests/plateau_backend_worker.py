"""Train with a generated ReduceLROnPlateau Keras callback on one Keras backend, in a process of
its own.

Keras reads ``KERAS_BACKEND`` once, at import, so each backend needs a fresh interpreter:
``tests/test_plateau.py`` runs this script as

    KERAS_BACKEND=jax python tests/plateau_backend_worker.py REQUEST.json RESULT.json

REQUEST names a generated Keras module (a file the test built, so this process needs only Keras,
its backend and NumPy — never lrgen), the callback class and its keyword arguments. RESULT gets:

* ``fit``: ``model.fit(..., validation_data=..., callbacks=[callback], jit_compile=...)`` of a
  linear model on noisy synthetic regression data; the ``History`` (``val_loss``,
  ``learning_rate``), the learning rate each epoch trained with (read at ``on_epoch_begin``), and
  one more step of ``fit`` (same batch shape, so the same compiled train function) whose weight
  change gives the learning rate that function really applied (SGD without momentum:
  ``dW = -lr * dL/dW``). A learning rate baked into the trace at the first epoch shows here.
* ``schedule_error``: the exception ``fit`` raises when the optimizer was built with a
  ``LearningRateSchedule``, and how many epochs ran before it.
* ``warmup_fit`` (optional, ``tests/test_plateau_warmup.py``): as ``fit``, with a callback that
  warms up before its plateau, from the generated module the item names.

The comparison with the reference evaluator is the test's; this script only records.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
BACKEND = os.environ["KERAS_BACKEND"]  # set by the caller, before Keras is imported below

import keras  # noqa: E402
import numpy as np  # noqa: E402

FEATURES = 4
BATCH = 16


def load(path: str) -> Any:
    name = Path(path).stem
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def regression_data(seed: int) -> tuple[np.ndarray, ...]:
    """A linear target plus noise the model cannot fit: the validation loss soon stops
    improving and wanders at the noise floor, so the learning rate drops several times."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(FEATURES, 1))
    x = rng.normal(size=(384, FEATURES))
    y = x @ w + 0.5 + rng.normal(scale=1.0, size=(384, 1))
    x, y = x.astype("float32"), y.astype("float32")
    return x[:256], y[:256], x[256:], y[256:]


def linear_model(learning_rate: Any, jit_compile: bool) -> keras.Model:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((FEATURES,)), keras.layers.Dense(1)])
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=learning_rate),
        loss="mse",
        jit_compile=jit_compile,
    )
    return model


class EpochLR(keras.callbacks.Callback):
    """Records the learning rate each epoch trains with, and the epochs that finished."""

    def __init__(self) -> None:
        super().__init__()
        self.used: list[float] = []
        self.finished = 0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.used.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.finished += 1


def applied_learning_rate(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    """One more step of ``fit``, through the train function ``fit`` compiled (``train_on_batch``
    would trace a new one); the learning rate it applied, from the kernel's change and the
    analytic MSE gradient of the linear model."""
    kernel, bias = (np.asarray(keras.ops.convert_to_numpy(v), np.float64) for v in model.weights)
    residual = x.astype(np.float64) @ kernel + bias - y
    grad = 2.0 / len(x) * x.T.astype(np.float64) @ residual
    model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
    after = np.asarray(keras.ops.convert_to_numpy(model.weights[0]), np.float64)
    delta = after - kernel
    return float(-(delta * grad).sum() / (grad * grad).sum())


def fit(module: Any, item: dict[str, Any]) -> dict[str, Any]:
    x, y, xv, yv = regression_data(item["seed"])
    model = linear_model(item["learning_rate"], item["jit_compile"])
    callback = getattr(module, item["class_name"])(**item["kwargs"])
    probe = EpochLR()
    history = model.fit(
        x,
        y,
        batch_size=BATCH,
        epochs=item["epochs"],
        validation_data=(xv, yv),
        callbacks=[probe, callback],
        shuffle=False,
        verbose=0,
    )
    final = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    return {
        "val_loss": [float(v) for v in history.history["val_loss"]],
        "history_lr": [float(v) for v in history.history["learning_rate"]],
        "used_lr": probe.used,
        "final_lr": final,
        "applied_lr": applied_learning_rate(model, x[:BATCH], y[:BATCH]),
    }


def schedule_error(module: Any, item: dict[str, Any]) -> dict[str, Any]:
    x, y, xv, yv = regression_data(item["seed"])
    decay = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.9)
    model = linear_model(decay, jit_compile=False)
    probe = EpochLR()
    callback = getattr(module, item["class_name"])(**item["kwargs"])
    try:
        model.fit(x, y, epochs=3, validation_data=(xv, yv), callbacks=[probe, callback], verbose=0)
    except Exception as err:  # the test asserts the type and the message
        return {"type": type(err).__name__, "message": str(err), "epochs": probe.finished}
    return {"type": None, "message": "", "epochs": probe.finished}


def main(request_path: str, result_path: str) -> None:
    request = json.loads(Path(request_path).read_text())
    module = load(request["module"]) if "module" in request else None
    result: dict[str, Any] = {"backend": keras.backend.backend()}
    for key, run in (("fit", fit), ("schedule_error", schedule_error), ("warmup_fit", fit)):
        if key not in request:
            continue
        item = request[key]
        try:
            result[key] = run(load(item["module"]) if "module" in item else module, item)
        except Exception:  # reported, so the test shows this backend's traceback
            result[key] = {"error": traceback.format_exc()}
    Path(result_path).write_text(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
