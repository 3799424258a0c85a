"""Warmup, then ReduceLROnPlateau, in one schedule (``warmup_steps``, ``warmup_start_factor``).

The reference against hand-computed values; the generated torch scheduler against the
reference over random metric sequences, with resume (``torch.load(weights_only=True)``) mid-warmup
and after it, in both loading orders; torch's built-in ``ReduceLROnPlateau`` against the
generated scheduler after the warmup, started from the same rate; the generated Keras callback
in a real ``model.fit`` (TensorFlow, in process) against the reference, with
``fit(initial_epoch=k)`` resumes in and after the warmup; the same fit on the JAX and PyTorch
backends through ``tests/plateau_backend_worker.py``.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np
import pytest

import lrgen
from lrgen.cli import main
from lrgen.errors import SpecError
from lrgen.loader import load_text
from tests.frameworks import import_path

torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")

ROOT = Path(__file__).resolve().parents[1]

SPEC = """\
lrgen: 1
schedules:
  warm:
    lr: 0.1
    unit: epoch
    schedule:
      kind: ReduceLROnPlateau
      factor: 0.5
      patience: 1
      warmup_steps: 4
      warmup_start_factor: 0.2
  warm_params:
    lr: lr0
    unit: epoch
    params: {lr0: 0.1, w: 3, f: 0.0, patience: 2, cooldown: 1}
    schedule:
      kind: ReduceLROnPlateau
      factor: 0.5
      patience: patience
      cooldown: cooldown
      warmup_steps: w
      warmup_start_factor: f
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    tmp = tmp_path_factory.mktemp("plateau_warmup")
    path = tmp / "warm.yaml"
    path.write_text(SPEC)
    out = tmp / "generated"
    assert main(["build", str(path), "--out", str(out)]) == 0
    return SimpleNamespace(
        out=out,
        spec=lrgen.load(path),
        torch=import_path(out / "warm_torch.py", "_lrgen_plateau_warmup"),
        keras=import_path(out / "warm_keras.py", "_lrgen_plateau_warmup"),
    )


def _optimizer(*lrs: float) -> Any:
    groups = [{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs]
    return torch.optim.SGD(groups)


# --- the reference -------------------------------------------------------------------------------


def test_reference_hand_computed(built: SimpleNamespace) -> None:
    """lr 0.1, f = 0.2, W = 4: 0.02, 0.04, 0.06, 0.08, then 0.1 at tick 4; the metrics of the
    warmup ticks (5s, a NaN) are ignored; from tick 4 on the plateau sees 1, 1, 1, 1, 1: the
    first is better, the next two bad ones exceed patience 1 (halve at tick 7), two more
    (tick 9)."""
    schedule = built.spec.schedules["warm"]
    metrics = [5.0, float("nan"), 5.0, 5.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    lrs = lrgen.evaluate(schedule, np.arange(10), metrics=metrics)
    expected = [0.02, 0.04, 0.06, 0.08, 0.1, 0.1, 0.1, 0.05, 0.05, 0.025]
    np.testing.assert_allclose(lrs, expected, rtol=1e-15)
    assert lrs[4] == 0.1  # exactly the spec's lr at the end of the warmup


def test_reference_warmup_ignores_metrics_and_needs_them_counted(
    built: SimpleNamespace,
) -> None:
    """Bad metrics during the warmup do not count: with patience 1 and the plateau's first
    metric 1.0, a warmup of rising losses leaves the rate at lr; lr(t) still needs t metrics."""
    schedule = built.spec.schedules["warm"]
    rising = lrgen.evaluate(schedule, [6], metrics=[1, 2, 3, 4, 1, 1])
    assert rising.tolist() == [0.1]
    with pytest.raises(ValueError, match=r"lr\(3\) needs 3 metrics .*got 2"):
        lrgen.evaluate(schedule, [3], metrics=[1.0, 1.0])


def test_reference_start_factor_zero_is_linear_warmup(built: SimpleNamespace) -> None:
    """``warmup_start_factor: 0`` is the LinearWarmup kind's ramp, bit for bit."""
    plateau = built.spec.schedules["warm_params"]
    linear = load_text(
        "lrgen: 1\nschedules:\n  w:\n    lr: 0.1\n    unit: epoch\n"
        "    schedule: {kind: LinearWarmup, warmup_steps: 3}\n",
        "w.yaml",
    ).schedules["w"]
    got = lrgen.evaluate(plateau, np.arange(4), metrics=[1.0, 1.0, 1.0])
    assert got.tolist() == lrgen.evaluate(linear, np.arange(4)).tolist()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("warmup_steps", "-1", "warmup_steps: -1 is less than the minimum of 0"),
        ("warmup_steps", "2.5", "warmup_steps: 2.5 is not an integer"),
        ("warmup_start_factor", "1.5", "warmup_start_factor: 1.5 is greater than the maximum of 1"),
    ],
)
def test_bad_warmup_settings_are_positioned(field: str, value: str, message: str) -> None:
    text = (
        "lrgen: 1\nschedules:\n  p:\n    lr: 0.1\n    unit: epoch\n    schedule:\n"
        f"      kind: ReduceLROnPlateau\n      {field}: {value}\n"
    )
    with pytest.raises(SpecError) as error:
        load_text(text, "p.yaml")
    assert f"p.yaml:8:{9 + len(field)}: schedules.p.schedule.{message}" in str(error.value)


# --- torch ----------------------------------------------------------------------------------------


def _run(scheduler: Any, optimizer: Any, metrics: list[float]) -> list[float]:
    lrs = []
    for metric in metrics:
        scheduler.step(metric)
        lrs.append(optimizer.param_groups[0]["lr"])
        assert scheduler.get_last_lr() == [g["lr"] for g in optimizer.param_groups]
    return lrs


def _random_metrics(rng: np.random.Generator, n: int) -> list[float]:
    """A noisy loss that stalls, with plateaus of exact repeats and the odd NaN."""
    values = 1.0 / (1.0 + np.arange(n)) + rng.normal(scale=0.05, size=n)
    values[rng.random(n) < 0.2] = 0.5
    values[rng.random(n) < 0.05] = np.nan
    return values.tolist()


@pytest.mark.parametrize("seed", range(12))
def test_generated_torch_equals_reference(built: SimpleNamespace, seed: int) -> None:
    rng = np.random.default_rng(seed)
    params = {
        "lr0": float(rng.choice([0.1, 0.3, 1e-3])),
        "w": int(rng.integers(0, 6)),
        "f": float(rng.choice([0.0, 0.1, 1 / 3, 1.0])),
        "patience": int(rng.integers(0, 3)),
        "cooldown": int(rng.integers(0, 2)),
    }
    metrics = _random_metrics(rng, 30)
    metrics[: params["w"]] = [float(k) for k in range(params["w"])]  # counted, these would reduce
    optimizer = _optimizer(params["lr0"])
    kwargs = {k: v for k, v in params.items() if k != "lr0"}
    scheduler = built.torch.WarmParams(optimizer, **kwargs)
    lrs = [optimizer.param_groups[0]["lr"], *_run(scheduler, optimizer, metrics)]
    ref = lrgen.evaluate(
        built.spec.schedules["warm_params"], np.arange(31), params=params, metrics=metrics
    )
    assert lrs == ref.tolist()


def test_torch_builtin_equals_generated_after_the_warmup(built: SimpleNamespace) -> None:
    """After W ticks the generated scheduler is torch's ReduceLROnPlateau started at lr: a
    built-in fed the post-warmup metrics gives the same rates and state; the warmup ticks
    are torch's LinearLR(start_factor=0.2, total_iters=4) in closed form."""
    metrics = _random_metrics(np.random.default_rng(7), 40)
    optimizer = _optimizer(0.1)
    scheduler = built.torch.Warm(optimizer)
    lrs = [optimizer.param_groups[0]["lr"], *_run(scheduler, optimizer, metrics)]

    linear_opt = _optimizer(0.1)
    linear = torch.optim.lr_scheduler.LinearLR(linear_opt, start_factor=0.2, total_iters=4)
    warm = [linear._get_closed_form_lr()[0]]
    for _ in range(4):
        linear_opt.step()
        linear.step()
        warm.append(linear._get_closed_form_lr()[0])
    assert lrs[:5] == pytest.approx(warm, rel=1e-15)

    builtin_opt = _optimizer(0.1)
    builtin = torch.optim.lr_scheduler.ReduceLROnPlateau(builtin_opt, factor=0.5, patience=1)
    after = [0.1, *_run(builtin, builtin_opt, metrics[4:])]
    assert lrs[4:] == after
    assert len(set(after)) >= 3  # it did reduce, twice at least
    state = (scheduler.best, scheduler.num_bad_epochs, scheduler.cooldown_counter)
    assert state == (builtin.best, builtin.num_bad_epochs, builtin.cooldown_counter)
    assert scheduler.last_epoch == 40 and builtin.last_epoch == 36


def test_torch_param_groups_warm_up_to_their_own_lr(built: SimpleNamespace) -> None:
    optimizer = _optimizer(0.1, 0.01)
    scheduler = built.torch.Warm(optimizer)
    assert [g["lr"] for g in optimizer.param_groups] == [0.1 * 0.2, 0.01 * 0.2]
    for _ in range(4):
        scheduler.step(1.0)
    assert [g["lr"] for g in optimizer.param_groups] == [0.1, 0.01]


@pytest.mark.parametrize("stop", [0, 2, 4, 5, 9])
@pytest.mark.parametrize("order", ["construct_then_load", "load_optimizer_first"])
def test_torch_resume_mid_warmup_and_after(built: SimpleNamespace, stop: int, order: str) -> None:
    """Stop after ``stop`` ticks (mid-warmup, at its end, in the plateau), save, load with
    ``torch.load``'s default ``weights_only=True`` into fresh objects, continue: the same
    rates and state as one uninterrupted run. The constructor sets the warmup's first rate,
    so loading the optimizer before constructing the scheduler must not lose the rate."""
    metrics = _random_metrics(np.random.default_rng(3), 24)
    params = {"w": 3, "f": 0.1, "patience": 1, "cooldown": 1}
    optimizer = _optimizer(0.1)
    scheduler = built.torch.WarmParams(optimizer, **params)
    whole = [optimizer.param_groups[0]["lr"], *_run(scheduler, optimizer, metrics)]

    optimizer = _optimizer(0.1)
    scheduler = built.torch.WarmParams(optimizer, **params)
    first = _run(scheduler, optimizer, metrics[:stop])
    buffer = io.BytesIO()
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, buffer)
    buffer.seek(0)
    state = torch.load(buffer)  # weights_only=True: the default
    optimizer = _optimizer(0.1)
    if order == "construct_then_load":
        scheduler = built.torch.WarmParams(optimizer, **params)
        optimizer.load_state_dict(state["optimizer"])
    else:
        optimizer.load_state_dict(state["optimizer"])
        scheduler = built.torch.WarmParams(optimizer, **params)
    scheduler.load_state_dict(state["scheduler"])
    rest = [optimizer.param_groups[0]["lr"], *_run(scheduler, optimizer, metrics[stop:])]
    assert [whole[0], *first] == whole[: stop + 1]
    assert rest == whole[stop:]  # the rate right after loading included
    assert scheduler.last_epoch == 24


def test_torch_step_with_epoch_is_refused(built: SimpleNamespace) -> None:
    scheduler = built.torch.Warm(_optimizer(0.1))
    with pytest.raises(TypeError, match=r"step\(metrics, epoch\) is deprecated in torch"):
        scheduler.step(1.0, 3)


def test_torch_warmup_refuses_what_torch_refuses(built: SimpleNamespace) -> None:
    """The warmup ignores the metric's value, not its type: torch's float() check holds, and
    a refused call does not advance the warmup."""
    optimizer = _optimizer(0.1)
    scheduler = built.torch.Warm(optimizer)
    with pytest.raises(ValueError, match="could not convert string to float: 'low'"):
        scheduler.step("low")
    assert scheduler.last_epoch == 0 and optimizer.param_groups[0]["lr"] == pytest.approx(0.02)
    scheduler.step(torch.tensor(3.0))  # a 0-dim tensor, as torch accepts
    assert scheduler.last_epoch == 1


# --- Keras (TensorFlow backend, in process) -------------------------------------------------------


@pytest.fixture(scope="module")
def worker() -> ModuleType:
    return import_path(ROOT / "tests" / "plateau_backend_worker.py", "_lrgen_plateau_warmup_w")


def _fit(model: Any, data: tuple[Any, ...], callback: Any, start: int, stop: int) -> Any:
    x, y, xv, yv = data
    return model.fit(
        x,
        y,
        batch_size=32,
        initial_epoch=start,
        epochs=stop,
        validation_data=(xv, yv),
        callbacks=[callback],
        verbose=0,
        shuffle=False,
    ).history


def test_keras_fit_equals_reference(built: SimpleNamespace, worker: ModuleType) -> None:
    """One fit of 20 epochs: ``history["learning_rate"][e]`` (the rate epoch e trained with)
    is the reference fed with ``history["val_loss"]``; the warmup epochs' losses are ignored."""
    params = {"lr0": 0.05, "w": 3, "f": 0.1, "patience": 1, "cooldown": 0}
    data = worker.regression_data(1)
    model = worker.linear_model(0.05, jit_compile=True)
    callback = built.keras.WarmParams(**{k: v for k, v in params.items() if k != "lr0"}, lr0=0.05)
    history = _fit(model, data, callback, 0, 20)
    ref = lrgen.evaluate(
        built.spec.schedules["warm_params"],
        np.arange(20),
        params=params,
        metrics=history["val_loss"],
    )
    np.testing.assert_allclose(history["learning_rate"], ref, rtol=1e-6)
    assert ref[0] == pytest.approx(0.005) and ref[3] == 0.05
    assert len(set(ref[3:].tolist())) >= 3  # two reductions at least after the warmup


@pytest.mark.parametrize("seed", range(6))
def test_keras_callback_equals_reference_epoch_by_epoch(
    built: SimpleNamespace, worker: ModuleType, seed: int
) -> None:
    """The callback driven directly (epoch begin, then end with the metric) on a compiled
    model's optimizer, over random metrics whose warmup part rises (a counted warmup would
    reduce early): the rate each epoch trains with is the reference's, in float32."""
    rng = np.random.default_rng(100 + seed)
    params = {"w": int(rng.integers(1, 6)), "f": float(rng.choice([0.0, 0.25])), "patience": 1}
    params["cooldown"] = int(rng.integers(0, 2))
    metrics = _random_metrics(rng, 24)
    metrics[: params["w"]] = [float(k) for k in range(params["w"])]  # worse and worse
    model = worker.linear_model(0.1, jit_compile=True)
    callback = built.keras.WarmParams(**params)
    callback.set_model(model)
    lrs = []
    for epoch, metric in enumerate(metrics):
        callback.on_epoch_begin(epoch)
        lrs.append(float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)))
        callback.on_epoch_end(epoch, {"val_loss": metric})
    ref = lrgen.evaluate(
        built.spec.schedules["warm_params"],
        np.arange(24),
        params={**params, "lr0": 0.1},
        metrics=metrics,
    )
    np.testing.assert_allclose(lrs, ref, rtol=1e-6)


@pytest.mark.parametrize("resume_at", [2, 3, 8])
def test_keras_initial_epoch_resume(
    built: SimpleNamespace, worker: ModuleType, resume_at: int
) -> None:
    """``fit(initial_epoch=k)``: the callback's tick is Keras's epoch index. A fresh callback
    resuming in the warmup (k = 2) or at its end (k = W = 3) gives the uninterrupted run's
    rates; after it (k = 8) the same callback object continues its plateau exactly."""
    params = {"w": 3, "f": 0.1, "patience": 1, "cooldown": 0}
    data = worker.regression_data(2)
    model = worker.linear_model(0.1, jit_compile=True)
    callback = built.keras.WarmParams(**params)
    first = _fit(model, data, callback, 0, resume_at)
    if resume_at <= 3:
        callback = built.keras.WarmParams(**params)
        model.optimizer.learning_rate = 0.123  # a stale rate: the warmup sets its own
    second = _fit(model, data, callback, resume_at, 18)
    val_loss = first["val_loss"] + second["val_loss"]
    lrs = first["learning_rate"] + second["learning_rate"]
    ref = lrgen.evaluate(
        built.spec.schedules["warm_params"],
        np.arange(18),
        params={**params, "lr0": 0.1},
        metrics=val_loss,
    )
    np.testing.assert_allclose(lrs, ref, rtol=1e-6)
    assert len(set(ref[3:].tolist())) >= 2


def test_keras_fit_other_backends(built: SimpleNamespace, tmp_path: Path) -> None:
    """``fit(..., jit_compile=True)`` on JAX and PyTorch (one worker process each, in parallel):
    ``history["learning_rate"]`` is the reference fed with ``history["val_loss"]``, and the
    compiled train step applies the final rate."""
    params = {"w": 3, "f": 0.1, "patience": 1, "cooldown": 0}
    item = {
        "module": str(built.out / "warm_keras.py"),
        "class_name": "WarmParams",
        "kwargs": params,
        "seed": 1,
        "epochs": 20,
        "jit_compile": True,
        "learning_rate": 0.1,
    }
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"warmup_fit": item}))
    worker = ROOT / "tests" / "plateau_backend_worker.py"
    processes = {}
    for backend in ("jax", "torch"):
        env = {**os.environ, "KERAS_BACKEND": backend, "OMP_NUM_THREADS": "1"}
        command = [sys.executable, str(worker), str(request), str(tmp_path / f"{backend}.json")]
        processes[backend] = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
    for backend, process in processes.items():
        output, _ = process.communicate(timeout=540)
        assert process.returncode == 0, output.decode()[-4000:]
        result = json.loads((tmp_path / f"{backend}.json").read_text())
        assert result["backend"] == backend
        fit = result["warmup_fit"]
        assert "error" not in fit, fit.get("error")
        ref = lrgen.evaluate(
            built.spec.schedules["warm_params"],
            np.arange(21),
            params={**params, "lr0": 0.1},
            metrics=fit["val_loss"],
        )
        np.testing.assert_allclose(fit["history_lr"], ref[:20], rtol=1e-6, err_msg=backend)
        np.testing.assert_allclose(fit["final_lr"], ref[20], rtol=1e-6, err_msg=backend)
        np.testing.assert_allclose(fit["applied_lr"], fit["final_lr"], rtol=1e-4, err_msg=backend)
        assert ref[0] == pytest.approx(0.01) and ref[3] == 0.1
        assert len(set(ref[3:].tolist())) >= 2, (backend, ref)  # a reduction after the warmup
