"""ReduceLROnPlateau on every target (issue 5), always against torch's built-in scheduler.

* Hypothesis: random metric sequences (noise, plateaus, NaN, infinities, exact ties at the
  threshold) and random settings; the reference evaluator, the generated torch scheduler and the
  generated Keras callback (TensorFlow, driven through a compiled model's optimizer) follow
  torch's ``ReduceLROnPlateau`` epoch by epoch, state included.
* The generated torch scheduler: resume mid-patience and mid-cooldown, pickling, several param
  groups, params as keyword arguments.
* The generated Keras callback: ``model.fit(..., jit_compile=True)`` on the TensorFlow (here), JAX
  and PyTorch (``tests/plateau_backend_worker.py``, one process per backend) backends, its config,
  and the ``TypeError`` for an optimizer built with a ``LearningRateSchedule``.
* Real training loops whose learning-rate history is the reference fed with the recorded
  validation losses; warmup before the plateau by composition (docs/plateau.md).
* Facts about Keras optimizers that docs/momentum.md relies on.

Also the generated code's construction checks, parameter names and configs that once went wrong.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import lrgen
from lrgen.cli import main
from tests.frameworks import import_path

torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "tests" / "plateau_backend_worker.py"
OTHER_BACKENDS = ("jax", "torch")
WORKER_TIMEOUT_S = 540

# --- generated modules ---------------------------------------------------------------------------

#: Every setting a parameter, one schedule per (mode, threshold_mode): Hypothesis draws the values.
SETTINGS = ("factor", "patience", "threshold", "cooldown", "min_lr", "eps")
PARAMS_SPEC = "\n".join(
    [
        "lrgen: 1",
        "description: Every ReduceLROnPlateau setting as a parameter (tests/test_plateau.py).",
        "schedules:",
        *(
            line
            for mode, monitor in (("min", "val_loss"), ("max", "val_accuracy"))
            for threshold_mode in ("rel", "abs")
            for line in (
                f"  {mode}_{threshold_mode}:",
                "    lr: lr0",
                "    unit: epoch",
                "    params: {lr0: 0.1, factor: 0.1, patience: 10, threshold: 1.0e-4, cooldown: 0,"
                " min_lr: 0, eps: 1.0e-8}",
                "    schedule:",
                "      kind: ReduceLROnPlateau",
                f"      mode: {mode}",
                f"      threshold_mode: {threshold_mode}",
                f"      monitor: {monitor}",
                *(f"      {name}: {name}" for name in SETTINGS),
            )
        ),
        "",
    ]
)

#: A top-level field that is an expression of a parameter of the same name.
NAME_CLASH_SPEC = """\
lrgen: 1
schedules:
  clash:
    lr: 0.1
    unit: epoch
    params: {patience: 2, factor: 0.25}
    schedule: {kind: ReduceLROnPlateau, patience: "patience + 1", factor: "factor * 2"}
"""

#: Warmup before the plateau, by composition (docs/plateau.md).
WARMUP_SPEC = """\
lrgen: 1
schedules:
  warmup:
    lr: 0.1
    unit: epoch
    schedule: {kind: LinearLR, start_factor: 0.1, total_iters: 5}
  plateau:
    lr: 0.1
    unit: epoch
    schedule: {kind: ReduceLROnPlateau, factor: 0.5, patience: 2}
"""


def _import(path: Path) -> ModuleType:
    return import_path(path, "_lrgen_plateau")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """The plateau example, the golden spec, and this file's specs, built with ``lrgen build``:
    ``ns.<stem>`` is (spec, torch module, keras module)."""
    tmp = tmp_path_factory.mktemp("plateau")
    specs = [ROOT / "spec" / "examples" / "plateau.yaml", ROOT / "tests" / "golden" / "golden.yaml"]
    for stem, text in (("params", PARAMS_SPEC), ("warmup", WARMUP_SPEC)):
        specs.append(tmp / f"{stem}.yaml")
        specs[-1].write_text(text)
    out = tmp / "generated"
    assert main(["build", *map(str, specs), "--out", str(out)]) == 0
    ns = SimpleNamespace(out=out)
    for path in specs:
        stem = path.stem
        modules = (_import(out / f"{stem}_torch.py"), _import(out / f"{stem}_keras.py"))
        setattr(ns, stem, (lrgen.load(path), *modules))
    return ns


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """Real torch loops on one thread: the machine is shared, and results do not depend on it."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --- torch's built-in, recorded -------------------------------------------------------------------


class Recording(torch.optim.lr_scheduler.ReduceLROnPlateau):
    """torch's scheduler, recording each reduction it attempts: (epoch, old lr, new lr)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.attempts: list[tuple[int, float, float]] = []
        super().__init__(*args, **kwargs)

    def _reduce_lr(self, epoch: int) -> None:
        old = float(self.optimizer.param_groups[0]["lr"])
        self.attempts.append((epoch, old, max(old * self.factor, self.min_lrs[0])))
        super()._reduce_lr(epoch)


def _optimizer(*lrs: float) -> torch.optim.Optimizer:
    groups = [{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs]
    return torch.optim.SGD(groups)


def _state(scheduler: Any) -> tuple[float, int, int]:
    return (scheduler.best, scheduler.num_bad_epochs, scheduler.cooldown_counter)


def _torch_kwargs(case: dict[str, Any]) -> dict[str, Any]:
    keys = ("mode", "threshold_mode", *SETTINGS)
    return {k: case[k] for k in keys}


def _params(case: dict[str, Any]) -> dict[str, float]:
    return {"lr0": case["lr0"], **{k: case[k] for k in SETTINGS}}


def _tie(scheduler: Any) -> float:
    """The metric that exactly meets the threshold: the comparison's own product/difference."""
    best, threshold = scheduler.best, scheduler.threshold
    if scheduler.mode == "min":
        return best * (1.0 - threshold) if scheduler.threshold_mode == "rel" else best - threshold
    return best * (threshold + 1.0) if scheduler.threshold_mode == "rel" else best + threshold


def play(case: dict[str, Any], moves: list[Any]) -> SimpleNamespace:
    """Feed torch's scheduler the metrics the moves describe, resolving ties against its state.

    Returns the metrics, the lr trace (before any step, then after each), the state after each
    step and the reductions attempted."""
    optimizer = _optimizer(case["lr0"])
    builtin = Recording(optimizer, **_torch_kwargs(case))
    metrics: list[float] = []
    trace = [optimizer.param_groups[0]["lr"]]
    states = [_state(builtin)]
    toward_better = -math.inf if case["mode"] == "min" else math.inf
    for move in moves:
        if isinstance(move, float):
            value = move
        elif move == "repeat":
            value = metrics[-1] if metrics else 1.0
        elif move == "tie":
            value = _tie(builtin)
        elif move == "past_tie":
            value = math.nextafter(_tie(builtin), toward_better)
        else:
            value = float(move)  # "nan", "inf", "-inf"
        metrics.append(value)
        builtin.step(value)
        trace.append(optimizer.param_groups[0]["lr"])
        states.append(_state(builtin))
    return SimpleNamespace(metrics=metrics, trace=trace, states=states, attempts=builtin.attempts)


def case_of(**overrides: Any) -> dict[str, Any]:
    base = dict(
        mode="min",
        threshold_mode="rel",
        lr0=1.0,
        factor=0.5,
        patience=1,
        threshold=0.1,
        cooldown=0,
        min_lr=0.0,
        eps=1e-8,
    )
    return {**base, **overrides}


cases = st.builds(
    case_of,
    mode=st.sampled_from(["min", "max"]),
    threshold_mode=st.sampled_from(["rel", "abs"]),
    lr0=st.sampled_from([1.0, 0.1, 3e-4]) | st.floats(1e-4, 10.0),
    factor=st.sampled_from([0.0, 0.1, 0.5]) | st.floats(0.0, 0.95),
    patience=st.integers(0, 5),
    threshold=st.sampled_from([0.0, 1e-4, 0.1]) | st.floats(0.0, 0.5),
    cooldown=st.integers(0, 3),
    min_lr=st.sampled_from([0.0, 1e-3, 0.05]) | st.floats(0.0, 1.0),
    eps=st.sampled_from([0.0, 1e-8, 1e-3]) | st.floats(0.0, 0.1),
)
move = st.one_of(
    st.floats(-3.0, 3.0, allow_nan=False),
    st.sampled_from([1.0, 0.5, -1.0, 0.0]),
    st.sampled_from(["repeat", "tie", "past_tie", "nan", "inf", "-inf"]),
)
moves = st.lists(move, max_size=40) | st.lists(  # long plateaus: reductions and cooldowns
    st.sampled_from(["repeat", "tie", "past_tie", "nan"]) | move, min_size=10, max_size=40
)

#: Boundaries that must never break (each an example of both Hypothesis tests).
PINNED = [
    (case_of(patience=0), ["nan", 1.0, "nan", "nan", 0.5]),  # NaN first, NaN bad epochs
    (case_of(), [1.0, "tie", "tie", "past_tie", "tie", "tie"]),  # min/rel: best * (1 - thr)
    (case_of(threshold_mode="abs"), [1.0, "tie", "tie", "tie", "past_tie"]),  # min/abs
    (case_of(mode="max"), [1.0, "tie", "tie", "tie", "past_tie"]),  # max/rel
    (case_of(mode="max", threshold_mode="abs"), [-1.0, "tie", "tie", "tie"]),  # max/abs
    (case_of(patience=0, cooldown=2), [1.0] * 12),  # reduce, cool down, reduce, ...
    (case_of(min_lr=0.3, eps=0.1, patience=0), [1.0] * 8),  # clamp at min_lr, then eps skips
    (case_of(lr0=1e-4, eps=1e-3, patience=0), [1.0] * 5),  # every reduction below eps
    (case_of(factor=0.0, patience=0), [1.0, 2.0, 3.0]),  # factor 0: straight to min_lr
    (case_of(), [1.0, "-inf", 0.0, "inf", "repeat"]),  # -inf becomes best forever
    (case_of(threshold=0.0, patience=0), [2.0, "repeat", "repeat"]),  # equal is not better
]


def _pinned(test: Any) -> Any:
    for case, sequence in PINNED:
        test = example(case=case, sequence=sequence)(test)
    return test


# --- 1, 2: reference and generated torch against the built-in ----------------------------------


@_pinned
@given(case=cases, sequence=moves)
def test_reference_and_generated_torch_equal_builtin(
    built: SimpleNamespace, case: dict[str, Any], sequence: list[Any]
) -> None:
    spec, tmod, _ = built.params
    name = f"{case['mode']}_{case['threshold_mode']}"
    run = play(case, sequence)
    steps = np.arange(len(run.metrics) + 1)

    reference = lrgen.evaluate(
        spec.schedules[name], steps, params=_params(case), metrics=run.metrics
    )
    assert reference.tolist() == run.trace

    optimizer = _optimizer(case["lr0"])
    scheduler = getattr(tmod, spec.schedules[name].class_name)(optimizer, **_params(case))
    assert isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    got, states = [optimizer.param_groups[0]["lr"]], [_state(scheduler)]
    for metric in run.metrics:
        scheduler.step(metric)
        got.append(optimizer.param_groups[0]["lr"])
        states.append(_state(scheduler))
        assert scheduler.get_last_lr() == [got[-1]]
    assert got == run.trace
    assert states == run.states


def test_nan_metric_is_a_bad_epoch_as_in_torch(built: SimpleNamespace) -> None:
    """torch compares NaN with < / >, which is False: never an improvement, always a bad epoch;
    ``best`` keeps its value. The reference and the generated classes say the same."""
    case = case_of(patience=1)
    run = play(case, [1.0, "nan", "nan", 0.5, "nan", "nan"])
    assert run.trace == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
    assert [s[0] for s in run.states] == [math.inf, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5]
    spec = built.params[0].schedules["min_rel"]
    got = lrgen.evaluate(spec, np.arange(7), params=_params(case), metrics=run.metrics)
    assert got.tolist() == run.trace


# --- 3: the generated Keras callback, TensorFlow in this process ------------------------------


@pytest.fixture(scope="module")
def tf_model() -> Any:
    """A compiled (XLA) model whose optimizer has trained a step: the callback's target."""
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse", jit_compile=True)
    model.fit(np.ones((4, 3), "float32"), np.ones((4, 1), "float32"), epochs=1, verbose=0)
    return model


def _keras_lr(model: Any) -> float:
    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


def _float32_decided(run: SimpleNamespace, eps: float) -> int:
    """How many epochs float32 decides as float64 does.

    Keras holds the learning rate in a float32 variable, so the callback computes
    ``old - new > eps`` from the float32 value. Where torch's margin is within float32 roundoff
    and the reduction would be visible, the two may differ; compare the traces up to there."""
    for epoch, old, new in run.attempts:
        if abs((old - new) - eps) <= 1e-5 * old and old - new > 1e-6 * old:
            return epoch - 1
    return len(run.metrics)


@_pinned
@given(case=cases, sequence=moves)
def test_generated_keras_callback_equals_builtin(
    built: SimpleNamespace, tf_model: Any, case: dict[str, Any], sequence: list[Any]
) -> None:
    spec, _, kmod = built.params
    name = f"{case['mode']}_{case['threshold_mode']}"
    run = play(case, sequence)
    callback = getattr(kmod, spec.schedules[name].class_name)(**_params(case))
    tf_model.optimizer.learning_rate = float(case["lr0"])
    callback.set_model(tf_model)
    callback.on_train_begin()
    got, states = [_keras_lr(tf_model)], [_state(callback)]
    for epoch, metric in enumerate(run.metrics):
        logs: dict[str, Any] = {callback.monitor: metric, "loss": 0.0}
        callback.on_epoch_end(epoch, logs)
        got.append(_keras_lr(tf_model))
        states.append(_state(callback))
        assert logs["learning_rate"] == got[-2]  # the rate this epoch trained with
    decided = _float32_decided(run, case["eps"]) + 1
    np.testing.assert_allclose(got[:decided], run.trace[:decided], rtol=1e-5, atol=1e-30)
    assert states[:decided] == run.states[:decided]


def test_keras_callback_reads_its_monitor(built: SimpleNamespace, tf_model: Any) -> None:
    _, _, kmod = built.plateau
    callback = kmod.PlateauValAccuracy()
    assert callback.monitor == "val_accuracy"  # the spec's monitor is the default
    callback.set_model(tf_model)
    with pytest.raises(KeyError, match=r"'val_accuracy' was not logged.*logged: loss, val_loss"):
        callback.on_epoch_end(0, {"loss": 1.0, "val_loss": 1.0})
    assert kmod.PlateauValAccuracy(monitor="val_auc").monitor == "val_auc"


def test_keras_config_round_trips_through_the_constructor(built: SimpleNamespace) -> None:
    _, _, kmod = built.golden
    callback = kmod.Plateau(patience=3, monitor="val_mae", verbose=1)
    assert callback.get_config() == {"patience": 3, "monitor": "val_mae", "verbose": 1}
    clone = kmod.Plateau(**callback.get_config())
    assert (clone.patience, clone.monitor, clone.verbose) == (3, "val_mae", 1)


def test_keras_config_round_trips_through_keras_saving(built: SimpleNamespace) -> None:
    _, _, kmod = built.golden
    callback = kmod.Plateau(patience=3, monitor="val_mae")
    clone = kmod.Plateau.from_config(callback.get_config())
    assert clone.get_config() == callback.get_config()
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(callback))
    assert type(again) is kmod.Plateau
    assert again.get_config() == callback.get_config()


def test_keras_builtin_breaks_on_a_schedule_and_lrgen_refuses_upfront(
    built: SimpleNamespace,
) -> None:
    """Keras 3's own ReduceLROnPlateau trains `patience` epochs, then its first reduction raises
    the optimizer setter's TypeError mid-fit; lrgen's callback raises before the first epoch."""
    x, y = np.ones((8, 3), "float32"), np.ones((8, 1), "float32")

    def fit(callback: Any) -> tuple[int, Exception]:
        decay = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.9)
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(learning_rate=decay), loss="mse")
        finished = []
        counter = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: finished.append(e))
        with pytest.raises(Exception) as info:
            model.fit(
                x, y, validation_data=(x, y), epochs=5, verbose=0, callbacks=[callback, counter]
            )
        return len(finished), info.value

    keras_cb = keras.callbacks.ReduceLROnPlateau(patience=2, min_delta=1e9)
    epochs, err = fit(keras_cb)
    assert (epochs, type(err)) == (2, TypeError)
    assert "learning rate is not settable" in str(err)

    epochs, err = fit(built.plateau[2].PlateauValLoss())
    assert (epochs, type(err)) == (0, TypeError)
    assert "not a LearningRateSchedule" in str(err)


def test_keras_builtin_reduces_one_epoch_earlier(built: SimpleNamespace, tf_model: Any) -> None:
    """Porting note (docs/plateau.md): Keras's own callback reduces after ``patience`` epochs
    without improvement, torch's and lrgen's after ``patience + 1``."""

    def first_reduction(callback: Any) -> int:
        tf_model.optimizer.learning_rate = 0.1
        callback.set_model(tf_model)
        callback.on_train_begin()
        for epoch in range(10):
            callback.on_epoch_end(epoch, {"loss": 1.0, "val_loss": 1.0})
            if _keras_lr(tf_model) < 0.09:
                return epoch
        raise AssertionError("no reduction")

    keras_cb = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2)
    assert first_reduction(keras_cb) == 2
    assert first_reduction(built.golden[2].Plateau(patience=2)) == 3


# --- 2: the generated torch scheduler ------------------------------------------------------------

#: Accuracy that rises, then stalls: the example's max/abs schedule (patience 10, cooldown 2)
#: reduces twice and cools down after each reduction.
ACCURACY = [0.5, 0.6, 0.65, 0.66, 0.6605, *[0.66] * 12, 0.7, *[0.69] * 14, 0.71, 0.7]


def _step_all(scheduler: Any, optimizer: Any, metrics: list[float]) -> list[float]:
    out = []
    for metric in metrics:
        scheduler.step(metric)
        out.append(optimizer.param_groups[0]["lr"])
    return out


def test_resume_mid_patience_and_mid_cooldown(built: SimpleNamespace) -> None:
    """Save optimizer and scheduler after k epochs, load both into fresh ones, continue: the same
    trace as never stopping, for every k (the learning rate lives in the optimizer's state)."""
    spec, tmod, _ = built.plateau
    lr = 0.1
    whole_opt = _optimizer(lr)
    whole = _step_all(tmod.PlateauValAccuracy(whole_opt), whole_opt, ACCURACY)
    reference = lrgen.evaluate(
        spec.schedules["plateau_val_accuracy"], np.arange(1, len(ACCURACY) + 1), metrics=ACCURACY
    )
    assert whole == reference.tolist()
    assert len(set(whole)) == 3  # two reductions
    seen = set()
    for k in range(len(ACCURACY) + 1):
        optimizer = _optimizer(lr)
        scheduler = tmod.PlateauValAccuracy(optimizer)
        _step_all(scheduler, optimizer, ACCURACY[:k])
        seen.add(
            "mid-patience"
            if scheduler.num_bad_epochs
            else "mid-cooldown"
            if scheduler.cooldown_counter
            else "fresh"
        )
        buffer = io.BytesIO()
        torch.save(
            {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, buffer
        )
        buffer.seek(0)
        state = torch.load(buffer, weights_only=False)
        fresh_opt = _optimizer(lr)
        fresh = tmod.PlateauValAccuracy(fresh_opt)
        fresh_opt.load_state_dict(state["optimizer"])
        fresh.load_state_dict(state["scheduler"])
        assert _step_all(fresh, fresh_opt, ACCURACY[k:]) == whole[k:], k
    assert seen == {"fresh", "mid-patience", "mid-cooldown"}


def test_state_dict_loads_with_torch_load_defaults(built: SimpleNamespace) -> None:
    """torch.load's default is weights_only=True (torch >= 2.6); torch's own scheduler state
    loads that way, so the generated one must too."""
    _, tmod, _ = built.plateau
    optimizer = _optimizer(0.1)
    scheduler = tmod.PlateauValAccuracy(optimizer)
    _step_all(scheduler, optimizer, ACCURACY[:8])
    buffer = io.BytesIO()
    torch.save(scheduler.state_dict(), buffer)
    buffer.seek(0)
    fresh = tmod.PlateauValAccuracy(_optimizer(0.1))
    fresh.load_state_dict(torch.load(buffer))
    assert _state(fresh) == _state(scheduler)


def test_scheduler_pickles_and_continues(built: SimpleNamespace) -> None:
    _, tmod, _ = built.plateau
    optimizer = _optimizer(0.1)
    scheduler = tmod.PlateauValAccuracy(optimizer)
    _step_all(scheduler, optimizer, ACCURACY[:20])
    clone = pickle.loads(pickle.dumps(scheduler))
    assert type(clone) is type(scheduler)
    assert _step_all(clone, clone.optimizer, ACCURACY[20:]) == _step_all(
        scheduler, optimizer, ACCURACY[20:]
    )


def test_param_groups_each_reduce_from_their_own_lr(built: SimpleNamespace) -> None:
    """As torch: each group is reduced from its own lr; min_lr and eps are absolute, so a group
    may stop at min_lr before another. Each group is the reference at that group's lr."""
    spec, tmod, _ = built.params
    case = case_of(factor=0.5, patience=1, min_lr=0.01, eps=1e-4)
    metrics = [1.0, *[1.0] * 24]
    lrs = (0.1, 0.8, 0.01)
    optimizer = _optimizer(*lrs)
    builtin_opt = _optimizer(*lrs)
    scheduler = tmod.MinRel(optimizer, **_params(case))
    builtin = torch.optim.lr_scheduler.ReduceLROnPlateau(builtin_opt, **_torch_kwargs(case))
    traces: list[list[float]] = [[lr] for lr in lrs]
    for metric in metrics:
        scheduler.step(metric)
        builtin.step(metric)
        groups = [g["lr"] for g in optimizer.param_groups]
        assert groups == [g["lr"] for g in builtin_opt.param_groups]
        for trace, lr in zip(traces, groups, strict=True):
            trace.append(lr)
    for lr, trace in zip(lrs, traces, strict=True):
        params = {**_params(case), "lr0": lr}
        ref = lrgen.evaluate(
            spec.schedules["min_rel"], np.arange(26), params=params, metrics=metrics
        )
        assert trace == ref.tolist()
    assert traces[0][-1] == traces[1][-1] == traces[2][-1] == 0.01  # all end at min_lr


@pytest.mark.parametrize("patience", [0, 1, 3, 7])
def test_params_are_keyword_arguments(built: SimpleNamespace, patience: int) -> None:
    """The golden spec's plateau declares ``patience`` as a param: ``patience=`` overrides it in
    both targets, and the trace is torch's with that patience."""
    spec, tmod, kmod = built.golden
    metrics = [1.0, 0.9, *[0.95] * 20]
    optimizer = _optimizer(0.001)
    scheduler = tmod.Plateau(optimizer, patience=patience)
    assert scheduler.patience == patience
    got = _step_all(scheduler, optimizer, metrics)
    builtin_opt = _optimizer(0.001)
    builtin = torch.optim.lr_scheduler.ReduceLROnPlateau(builtin_opt, factor=0.5, patience=patience)
    assert got == _step_all(builtin, builtin_opt, metrics)
    ref = lrgen.evaluate(
        spec.schedules["plateau"],
        np.arange(1, len(metrics) + 1),
        params={"patience": patience},
        metrics=metrics,
    )
    assert got == ref.tolist()
    assert kmod.Plateau(patience=patience).patience == patience
    assert tmod.Plateau(_optimizer(0.001)).patience == 5  # the spec's default


@pytest.mark.parametrize(
    ("bad", "problem"),
    [(-1, "patience must be >= 0, got -1"), (2.5, "patience must be an integer, got 2.5")],
)
def test_param_values_are_checked_at_construction(
    built: SimpleNamespace, bad: float, problem: str
) -> None:
    _, tmod, kmod = built.golden
    message = f"Plateau(patience={bad!r}): {problem}"
    with pytest.raises(ValueError) as caught:
        tmod.Plateau(_optimizer(0.001), patience=bad)
    assert str(caught.value) == message
    with pytest.raises(ValueError) as caught:
        kmod.Plateau(patience=bad)
    assert str(caught.value) == message


def test_field_named_like_a_param_keeps_its_expression(tmp_path: Path) -> None:
    path = tmp_path / "clash.yaml"
    path.write_text(NAME_CLASH_SPEC)
    assert main(["build", str(path), "--out", str(tmp_path)]) == 0
    tmod, kmod = _import(tmp_path / "clash_torch.py"), _import(tmp_path / "clash_keras.py")
    schedule = lrgen.load(path).schedules["clash"]
    metrics = [1.0, *[2.0] * 10]
    ref = lrgen.evaluate(schedule, np.arange(1, 12), metrics=metrics)
    optimizer = _optimizer(0.1)
    assert _step_all(tmod.Clash(optimizer), optimizer, metrics) == ref.tolist()
    callback = kmod.Clash()
    assert (callback.patience, callback.factor) == (3, 0.5)
    clone = kmod.Clash(**callback.get_config())
    assert (clone.patience, clone.factor) == (3, 0.5)


@pytest.mark.parametrize("name", ["monitor", "verbose"])
def test_callback_argument_names_are_reserved(tmp_path: Path, name: str) -> None:
    path = tmp_path / "reserved.yaml"
    path.write_text(
        "lrgen: 1\nschedules:\n  r:\n    lr: 0.1\n    unit: epoch\n"
        f"    params: {{{name}: 3}}\n"
        f"    schedule: {{kind: ReduceLROnPlateau, patience: {name}}}\n"
    )
    assert main(["validate", str(path)]) == 2


def test_build_warns_that_keras_does_not_cycle_momentum(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One positioned warning per momentum-cycling schedule, when Keras is a target, except
    where the schedule's lint ignores it (spec/examples/cyclical.yaml does, so it is quiet)."""
    spec_path = tmp_path / "cycling.yaml"
    spec_path.write_text(
        "lrgen: 1\n"
        "schedules:\n"
        "  one_cycle:\n"
        "    lr: 0.1\n"
        "    schedule: {kind: OneCycleLR, max_lr: 0.1, total_steps: 100}\n"
        "  clr:\n"
        "    lr: 0.1\n"
        "    schedule: {kind: CyclicLR, base_lr: 0.01, max_lr: 0.1, step_size_up: 10}\n"
        "  quiet:\n"
        "    lr: 0.1\n"
        "    lint: {ignore: [keras-momentum]}\n"
        "    schedule: {kind: OneCycleLR, max_lr: 0.1, total_steps: 100}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert main(["build", str(spec_path), "--out", str(out), "--target", "torch"]) == 0
    assert "warning" not in capsys.readouterr().err  # torch cycles the momentum
    assert main(["build", str(spec_path), "--out", str(out)]) == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert [line.split(": warning[")[0] for line in warned] == [
        f"{spec_path}:5:15: schedules.one_cycle.schedule",
        f"{spec_path}:8:15: schedules.clr.schedule",
    ]
    assert all("warning[keras-momentum]:" in line for line in warned)
    assert all("docs/momentum.md" in line for line in warned)
    cyclical = ROOT / "spec" / "examples" / "cyclical.yaml"
    assert main(["build", str(cyclical), "--out", str(out)]) == 0
    assert "warning" not in capsys.readouterr().err


# --- real training loops -------------------------------------------------------------------------


def _drops(lrs: list[float]) -> int:
    return sum(1 for a, b in itertools.pairwise(lrs) if b < a)


def test_torch_training_loop(built: SimpleNamespace, one_torch_thread: None) -> None:
    """A small MLP on noisy regression data, 40 epochs, ``scheduler.step(val_loss)``: the LR
    history is the reference fed with the recorded validation losses, exactly."""
    spec, tmod, _ = built.plateau
    schedule = spec.schedules["plateau_val_loss"]
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(384, 8, generator=gen)
    y = 0.3 * (x @ torch.randn(8, 1, generator=gen)) + torch.randn(384, 1, generator=gen)
    (xt, xv), (yt, yv) = x.split(256), y.split(256)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(), torch.nn.Linear(32, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.001)  # the spec's lr
    scheduler = tmod.PlateauValLoss(optimizer)
    lrs, val_losses = [optimizer.param_groups[0]["lr"]], []
    for _ in range(40):
        model.train()
        for i in range(0, 256, 8):
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(model(xt[i : i + 8]), yt[i : i + 8]).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            val_loss = torch.nn.functional.mse_loss(model(xv), yv).item()
        scheduler.step(val_loss)
        val_losses.append(val_loss)
        lrs.append(optimizer.param_groups[0]["lr"])
    assert _drops(lrs) >= 2, lrs  # the data must exercise the schedule
    assert lrs == lrgen.evaluate(schedule, np.arange(41), metrics=val_losses).tolist()


def _fit_request(built: SimpleNamespace) -> dict[str, Any]:
    """One request for every backend: the golden plateau with patience=2 (a keyword override),
    30 epochs of ``fit(..., jit_compile=True)``."""
    module = str(built.out / "golden_keras.py")
    callback = {"class_name": "Plateau", "kwargs": {"patience": 2}, "seed": 0}
    return {
        "module": module,
        "fit": {**callback, "epochs": 30, "jit_compile": True, "learning_rate": 0.1},
        "schedule_error": callback,
    }


def _check_fit(built: SimpleNamespace, backend: str, fit: dict[str, Any]) -> None:
    assert "error" not in fit, f"{backend}:\n{fit.get('error')}"
    spec = built.golden[0].schedules["plateau"]
    val_loss = fit["val_loss"]
    epochs = len(val_loss)
    ref = lrgen.evaluate(spec, np.arange(epochs + 1), params={"patience": 2}, metrics=val_loss)
    ref = ref * (0.1 / 0.001)  # the optimizer starts at 0.1, the spec's lr is 0.001
    assert _drops(ref.tolist()) >= 2, (backend, ref)
    # the LR each epoch trained with (read at on_epoch_begin) is lr(epoch)
    np.testing.assert_allclose(fit["used_lr"], ref[:epochs], rtol=1e-6, err_msg=backend)
    # History's "learning_rate" is the same: the LR each epoch trained with (Keras's convention)
    np.testing.assert_allclose(fit["history_lr"], ref[:epochs], rtol=1e-6, err_msg=backend)
    np.testing.assert_allclose(fit["final_lr"], ref[-1], rtol=1e-6, err_msg=backend)
    # the compiled train step applies the reduced rate (not the rate it was traced with)
    np.testing.assert_allclose(fit["applied_lr"], fit["final_lr"], rtol=1e-4, err_msg=backend)


def _check_schedule_error(backend: str, result: dict[str, Any]) -> None:
    assert "error" not in result, f"{backend}:\n{result.get('error')}"
    assert result["type"] == "TypeError", (backend, result)
    assert "not a LearningRateSchedule" in result["message"], (backend, result)
    assert result["epochs"] == 0, (backend, result)


@pytest.fixture(scope="module")
def worker_module() -> ModuleType:
    """The worker script imported here: this process runs the TensorFlow backend."""
    return _import(WORKER)


def test_keras_fit_tensorflow(built: SimpleNamespace, worker_module: ModuleType) -> None:
    assert keras.backend.backend() == "tensorflow"
    request = _fit_request(built)
    module = built.golden[2]
    _check_fit(built, "tensorflow", worker_module.fit(module, request["fit"]))
    _check_schedule_error(
        "tensorflow", worker_module.schedule_error(module, request["schedule_error"])
    )


@pytest.fixture(scope="module")
def backend_workers(
    built: SimpleNamespace, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], dict[str, Any]]]:
    """Start one worker per other backend (in parallel, in the background); ``result(backend)``
    waits for that one."""
    tmp = tmp_path_factory.mktemp("plateau-workers")
    request = tmp / "request.json"
    request.write_text(json.dumps(_fit_request(built)))
    started = {}
    for backend in OTHER_BACKENDS:
        env = {**os.environ, "KERAS_BACKEND": backend, "OMP_NUM_THREADS": "1"}
        result = tmp / f"{backend}.json"
        log = (tmp / f"{backend}.log").open("w")
        process = subprocess.Popen(
            [sys.executable, str(WORKER), str(request), str(result)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        started[backend] = (process, result, tmp / f"{backend}.log")

    def result(backend: str) -> dict[str, Any]:
        process, path, log = started[backend]
        try:
            code = process.wait(timeout=WORKER_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        assert code == 0 and path.exists(), f"{backend} worker failed:\n{log.read_text()[-4000:]}"
        return json.loads(path.read_text())

    yield result
    for process, _, _ in started.values():
        if process.poll() is None:
            process.kill()


@pytest.fixture(scope="module", autouse=True)
def _start_workers_early(request: pytest.FixtureRequest) -> None:
    """The workers run while the in-process tests do, when any selected test needs them."""
    if any("backend_workers" in item.fixturenames for item in request.session.items):
        request.getfixturevalue("backend_workers")


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
def test_keras_fit_other_backends(
    built: SimpleNamespace, backend_workers: Callable[[str], dict[str, Any]], backend: str
) -> None:
    result = backend_workers(backend)
    assert result["backend"] == backend
    _check_fit(built, backend, result["fit"])
    _check_schedule_error(backend, result["schedule_error"])


def test_keras_fit_in_two_chunks_continues_the_plateau(
    built: SimpleNamespace, worker_module: ModuleType
) -> None:
    """The callback keeps its state across ``fit`` calls (it does not reset at train begin):
    two fits of 12 epochs with one callback are one plateau run over the 24 val losses."""
    spec, _, kmod = built.golden
    x, y, xv, yv = worker_module.regression_data(1)
    model = worker_module.linear_model(0.1, jit_compile=True)
    callback = kmod.Plateau(patience=2)
    val_loss, lrs = [], []
    for start in (0, 12):
        history = model.fit(
            x,
            y,
            batch_size=16,
            epochs=start + 12,
            initial_epoch=start,
            validation_data=(xv, yv),
            callbacks=[callback],
            verbose=0,
            shuffle=False,
        )
        val_loss += history.history["val_loss"]
        lrs += history.history["learning_rate"]
    ref = 100 * lrgen.evaluate(
        spec.schedules["plateau"], np.arange(24), params={"patience": 2}, metrics=val_loss
    )
    assert _drops(ref.tolist()) >= 2
    np.testing.assert_allclose(lrs, ref, rtol=1e-6)


# --- 4: warmup before the plateau, by composition ----------------------------------------------


def test_torch_warmup_then_plateau(built: SimpleNamespace) -> None:
    """docs/plateau.md's recipe: a warmup scheduler stepped for the first epochs, then the
    plateau scheduler with the validation loss. The plateau sees only post-warmup metrics."""
    spec, tmod, _ = built.warmup
    metrics = [3.0, 2.0, 1.5, 1.2, 1.1, 1.0, 0.9, 0.95, 0.93, 0.94, 0.92, 0.95, 0.96, 0.97]
    optimizer = _optimizer(0.1)
    warmup = tmod.Warmup(optimizer)
    plateau = tmod.Plateau(optimizer)
    warmup_epochs = 5
    lrs = [optimizer.param_groups[0]["lr"]]
    for epoch, metric in enumerate(metrics):
        optimizer.step()  # (the epoch's training)
        if epoch < warmup_epochs:
            warmup.step()
        else:
            plateau.step(metric)
        lrs.append(optimizer.param_groups[0]["lr"])
    warm = lrgen.evaluate(spec.schedules["warmup"], np.arange(warmup_epochs + 1))
    after = lrgen.evaluate(
        spec.schedules["plateau"],
        np.arange(len(metrics) - warmup_epochs + 1),
        metrics=metrics[warmup_epochs:],
    )
    assert lrs[: warmup_epochs + 1] == pytest.approx(warm.tolist(), rel=1e-15)
    assert lrs[warmup_epochs:] == after.tolist()
    assert _drops(after.tolist()) >= 2


def test_keras_warmup_then_plateau(built: SimpleNamespace, worker_module: ModuleType) -> None:
    """docs/plateau.md's Keras recipe: a first fit with a LearningRateScheduler for the warmup
    epochs, the rate set to ``lr``, then a second fit with the plateau callback."""
    spec, _, kmod = built.warmup
    x, y, xv, yv = worker_module.regression_data(2)
    model = worker_module.linear_model(0.1, jit_compile=True)
    warmup, warmup_epochs = kmod.Warmup(steps_per_epoch=1), 5

    def warm_lr(epoch: int) -> float:
        return float(keras.ops.convert_to_numpy(warmup(epoch)))

    first = model.fit(
        x,
        y,
        batch_size=16,
        epochs=warmup_epochs,
        validation_data=(xv, yv),
        callbacks=[keras.callbacks.LearningRateScheduler(warm_lr)],
        verbose=0,
    )
    model.optimizer.learning_rate = 0.1  # the spec's lr: the end of the warmup
    second = model.fit(
        x,
        y,
        batch_size=16,
        initial_epoch=warmup_epochs,
        epochs=30,
        validation_data=(xv, yv),
        callbacks=[kmod.Plateau()],
        verbose=0,
    )
    warm = lrgen.evaluate(spec.schedules["warmup"], np.arange(warmup_epochs))
    np.testing.assert_allclose(first.history["learning_rate"], warm, rtol=1e-6)
    val_loss = second.history["val_loss"]
    after = lrgen.evaluate(spec.schedules["plateau"], np.arange(len(val_loss)), metrics=val_loss)
    np.testing.assert_allclose(second.history["learning_rate"], after, rtol=1e-6)
    assert _drops([0.1, *after.tolist()]) >= 2


# --- 5: what docs/momentum.md relies on (TensorFlow backend, here) -------------------------------


def _momentum_run(make: Any, values: list[float], set_value: Any, eager: bool = False) -> Any:
    """Kernel after one train step per value, ``set_value(optimizer, v)`` before each step."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 3)).astype("float32"), rng.normal(size=(16, 1)).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, use_bias=False)])
    model.layers[0].kernel.assign(rng.normal(size=(3, 1)).astype("float32"))
    optimizer = make()
    model.compile(optimizer=optimizer, loss="mse", jit_compile=not eager, run_eagerly=eager)
    for value in values:
        set_value(optimizer, value)
        model.train_on_batch(x, y)
    return keras.ops.convert_to_numpy(model.layers[0].kernel)


def test_keras_optimizer_momentum_facts() -> None:
    values = [0.9, 0.1, 0.5, 0.0, 0.8, 0.3]

    def adam() -> Any:
        return keras.optimizers.Adam(learning_rate=0.05, beta_1=0.9)

    def set_beta_1(optimizer: Any, value: float) -> None:
        optimizer.beta_1 = value

    followed = _momentum_run(adam, values, set_beta_1, eager=True)
    first_only = _momentum_run(adam, [values[0]] * len(values), set_beta_1, eager=True)
    assert not np.allclose(followed, first_only, rtol=1e-4)
    # a float reassigned after compile: the compiled step keeps the value it was traced with
    np.testing.assert_allclose(_momentum_run(adam, values, set_beta_1), first_only, rtol=1e-5)
    # a keras.Variable beta_1, assigned between steps: followed inside the compiled step
    beta_1 = keras.Variable(0.9, trainable=False, name="beta_1")

    def adam_var() -> Any:
        return keras.optimizers.Adam(learning_rate=0.05, beta_1=beta_1)

    def assign(optimizer: Any, value: float) -> None:
        beta_1.assign(value)

    np.testing.assert_allclose(_momentum_run(adam_var, values, assign), followed, rtol=1e-5)
    # ... but it is not serializable: the optimizer's config carries the Variable itself
    assert isinstance(adam_var().get_config()["beta_1"], keras.Variable)
    # a callable beta_1 (documented by Keras) is never called: ops.cast fails on the function
    with pytest.raises(TypeError):
        _momentum_run(
            lambda: keras.optimizers.Adam(beta_1=lambda: 0.9), values[:1], lambda o, v: None
        )
    # SGD: momentum must be a float, and a Variable swapped in breaks the traced step's
    # Python `if self.momentum != 0`
    with pytest.raises(ValueError, match="must be a float"):
        keras.optimizers.SGD(momentum=keras.Variable(0.9))

    def sgd_var() -> Any:
        optimizer = keras.optimizers.SGD(learning_rate=0.05, momentum=0.9)
        optimizer.momentum = keras.Variable(0.9, trainable=False)
        return optimizer

    import tensorflow as tf

    with pytest.raises(tf.errors.OperatorNotAllowedInGraphError):
        _momentum_run(sgd_var, values[:1], lambda o, v: None)
