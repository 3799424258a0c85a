"""The recipes of docs/integrations.md, run for real: PyTorch Lightning's ``Trainer.fit`` and the
Hugging Face ``Trainer.train`` on a tiny model, on the CPU.

Every test records the learning rate of every optimizer update as the framework applies it and
compares it with ``lrgen.evaluate`` of the spec. The recipes are the files the page shows
(``docs/integrations/*.py``, ``*.yaml``); the tests at the end check that the page's code is
theirs, character for character, and that its links lead somewhere.
"""

from __future__ import annotations

import contextlib
import glob
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import lrgen
from tests.frameworks import float32_close, float64_close, import_path

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "docs" / "integrations"
PAGE = ROOT / "docs" / "integrations.md"
BIN = Path(sys.executable).parent

pytest.importorskip("lightning")
pytest.importorskip("transformers")


@contextlib.contextmanager
def _at_root() -> Iterator[None]:
    """The recipes name their spec relative to the repository root, as the page runs them."""
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(ROOT)
        yield


@pytest.fixture(scope="module")
def lightning_recipe() -> ModuleType:
    with _at_root():
        return import_path(RECIPES / "lightning_recipe.py", "_lrgen_docs")


@pytest.fixture(scope="module")
def hf_recipe() -> ModuleType:
    with _at_root():
        return import_path(RECIPES / "hf_recipe.py", "_lrgen_docs")


@pytest.fixture(scope="module")
def keras_recipe() -> ModuleType:
    return import_path(RECIPES / "keras_recipe.py", "_lrgen_docs")


def _schedule(spec: str, name: str) -> Any:
    return lrgen.load(RECIPES / spec).schedules[name]


def _assert_rates(got: list[float], schedule: Any, **params: float) -> None:
    """``got[t]`` is lr(t) for every t, to float64 rounding (docs/verification.md)."""
    ref = lrgen.evaluate(schedule, np.arange(len(got)), params=params)
    values = np.asarray(got, dtype=np.float64)
    bad = np.flatnonzero(~float64_close(values, ref))
    assert bad.size == 0, f"step {bad[0]}: {values[bad[0]]!r} != lr(t) = {ref[bad[0]]!r}"


# --- PyTorch Lightning ----------------------------------------------------------------------------


def _lightning_fit(
    recipe: ModuleType, model: Any, root: Path, **options: Any
) -> tuple[list[float], Any]:
    """``Trainer.fit`` with a callback recording the lr of every optimizer update."""
    import lightning as L

    rates: list[float] = []

    class Rates(L.Callback):
        def on_before_optimizer_step(self, trainer: Any, module: Any, optimizer: Any) -> None:
            rates.append(optimizer.param_groups[0]["lr"])

    ckpt_path = options.pop("ckpt_path", None)
    trainer = L.Trainer(
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        default_root_dir=root,
        callbacks=[Rates(), *options.pop("callbacks", [])],
        **options,
    )
    trainer.fit(model, recipe.data(), recipe.data(seed=1), ckpt_path=ckpt_path)
    return rates, trainer


@pytest.mark.parametrize("accumulate", [1, 2])
def test_lightning_per_step_schedule_sets_lr_t_before_update_t(
    lightning_recipe: ModuleType, tmp_path: Path, accumulate: int
) -> None:
    """interval "step": one scheduler step per optimizer update (not per batch when gradients
    accumulate), and total_steps from ``trainer.estimated_stepping_batches`` is the run's length."""
    rates, trainer = _lightning_fit(
        lightning_recipe,
        lightning_recipe.PerStep(),
        tmp_path,
        max_epochs=3,
        accumulate_grad_batches=accumulate,
    )
    updates = 3 * 8 // accumulate  # 8 batches an epoch
    assert len(rates) == trainer.estimated_stepping_batches == updates
    assert trainer.lr_scheduler_configs[0].scheduler.last_epoch == updates
    _assert_rates(
        rates, _schedule("schedules.yaml", "warmup_cosine"), total_steps=updates, warmup_steps=5
    )
    assert rates[-1] < rates[5] / 10  # the run went through its warmup and most of the decay


def test_lightning_per_epoch_schedule_holds_each_epochs_rate(
    lightning_recipe: ModuleType, tmp_path: Path
) -> None:
    rates, _ = _lightning_fit(lightning_recipe, lightning_recipe.PerEpoch(), tmp_path, max_epochs=6)
    per_epoch = [rates[e * 8 : (e + 1) * 8] for e in range(6)]
    assert all(len(set(epoch)) == 1 for epoch in per_epoch), per_epoch
    _assert_rates([epoch[0] for epoch in per_epoch], _schedule("schedules.yaml", "step_decay"))
    assert [epoch[0] for epoch in per_epoch][::2] == pytest.approx([0.1, 0.01, 0.001], rel=1e-12)


def test_lightning_built_class_is_the_same_scheduler(
    lightning_recipe: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The page's other way: ``lrgen build`` the spec and import the class from the module."""
    subprocess.run(
        [BIN / "lrgen", "build", RECIPES / "schedules.yaml", "--out", tmp_path / "gen"],
        check=True,
        capture_output=True,
    )
    built = import_path(tmp_path / "gen" / "schedules_torch.py")
    monkeypatch.setattr(lightning_recipe, "WarmupCosine", built.WarmupCosine)
    rates, trainer = _lightning_fit(
        lightning_recipe, lightning_recipe.PerStep(), tmp_path, max_epochs=2
    )
    assert type(trainer.lr_scheduler_configs[0].scheduler) is built.WarmupCosine
    _assert_rates(
        rates, _schedule("schedules.yaml", "warmup_cosine"), total_steps=16, warmup_steps=5
    )


#: Validation losses, one an epoch, that make ReduceLROnPlateau (patience 1) halve the rate.
VAL_LOSSES = [1.0, 0.8, 0.9, 0.85, 0.5, 0.5, 0.6, 0.55]
#: The rate of each epoch: plateau has no improvement at epochs 2 and 3 (halve after 3), a new
#: best at 4, then none (halve after 6); plateau_warmup ramps over epochs 0 and 1 and ignores
#: their losses, so its first bad epochs are 5 and 6.
PLATEAU_RATES = {
    "plateau": [0.01] * 4 + [0.005] * 3 + [0.0025],
    "plateau_warmup": [0.001, 0.0055] + [0.01] * 5 + [0.005],
}


@pytest.mark.parametrize("name", sorted(PLATEAU_RATES))
def test_lightning_passes_the_monitored_metric_to_the_plateau_class(
    lightning_recipe: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """The generated ReduceLROnPlateau class subclasses torch's, so Lightning recognises it and
    calls ``step(val_loss)`` after each validation."""
    import torch

    scheduler_class = lrgen.torch.scheduler_class(RECIPES / "schedules.yaml", name)
    monkeypatch.setattr(lightning_recipe, "Plateau", scheduler_class)

    class Scripted(lightning_recipe.OnPlateau):  # type: ignore[name-defined]
        def validation_step(self, batch: Any, batch_idx: int) -> None:
            self.log("val_loss", torch.tensor(VAL_LOSSES[self.current_epoch]))

    epochs = len(VAL_LOSSES)
    rates, trainer = _lightning_fit(lightning_recipe, Scripted(), tmp_path, max_epochs=epochs)
    config = trainer.lr_scheduler_configs[0]
    assert type(config.scheduler) is scheduler_class
    assert (config.reduce_on_plateau, config.monitor) == (True, "val_loss")
    per_epoch = [rates[e * 8] for e in range(epochs)]
    assert rates == [r for r in per_epoch for _ in range(8)]
    ref = lrgen.evaluate(_schedule("schedules.yaml", name), np.arange(epochs), metrics=VAL_LOSSES)
    assert per_epoch == pytest.approx(list(ref), rel=1e-15)
    assert per_epoch == pytest.approx(PLATEAU_RATES[name], rel=1e-12)


@pytest.mark.parametrize(
    ("model", "stop_at", "checkpoint", "saved", "count"),
    [
        # in the middle of the second epoch (Lightning warns that the data order may differ)
        ("PerStep", 12, {"every_n_train_steps": 12}, 12, 40),
        ("PerEpoch", 24, {"every_n_epochs": 3}, 3, 5),  # after the third epoch
    ],
)
def test_lightning_resume_from_checkpoint_continues_the_schedule(
    lightning_recipe: ModuleType,
    tmp_path: Path,
    model: str,
    stop_at: int,
    checkpoint: dict,
    saved: int,
    count: int,
) -> None:
    """Lightning saves the scheduler's ``state_dict`` in the checkpoint and loads it on
    ``fit(ckpt_path=...)``: the resumed run's rates are the rest of the uninterrupted run's.
    ``saved`` and ``count`` are the scheduler's step counts (updates, or epochs) in the
    checkpoint and after 5 epochs."""
    import torch
    from lightning.pytorch.callbacks import ModelCheckpoint

    make = getattr(lightning_recipe, model)
    saver = ModelCheckpoint(dirpath=tmp_path / "ckpt", save_top_k=-1, **checkpoint)
    whole, _ = _lightning_fit(lightning_recipe, make(), tmp_path, max_epochs=5, callbacks=[saver])
    (path,) = glob.glob(str(tmp_path / "ckpt" / f"*step={stop_at}.ckpt"))
    (state,) = torch.load(path, weights_only=True)["lr_schedulers"]
    assert state["last_epoch"] == saved
    rest, trainer = _lightning_fit(
        lightning_recipe, make(), tmp_path / "resumed", max_epochs=5, ckpt_path=path
    )
    assert len(whole) == 40
    assert rest == whole[stop_at:]
    assert trainer.lr_scheduler_configs[0].scheduler.last_epoch == count


# --- Hugging Face Trainer -------------------------------------------------------------------------


def _args(tmp_path: Path, **options: Any) -> Any:
    from transformers import TrainingArguments

    defaults: dict[str, Any] = {
        "output_dir": str(tmp_path),
        "per_device_train_batch_size": 4,
        "learning_rate": 1e-3,
        "logging_steps": 1,
        "report_to": [],
        "use_cpu": True,
        "save_strategy": "no",
        "disable_tqdm": True,
    }
    return TrainingArguments(**{**defaults, **options})


def _logged_rates(trainer: Any) -> list[float]:
    """The learning rate the Trainer logged at each optimizer step: the one that step used."""
    return [
        entry["learning_rate"] for entry in trainer.state.log_history if "learning_rate" in entry
    ]


@pytest.mark.parametrize("accumulation", [1, 2])
def test_hf_trainer_steps_the_scheduler_once_per_optimizer_update(
    hf_recipe: ModuleType, tmp_path: Path, accumulation: int
) -> None:
    trainer = hf_recipe.train(
        _args(tmp_path, max_steps=12, gradient_accumulation_steps=accumulation)
    )
    rates = _logged_rates(trainer)
    assert len(rates) == trainer.state.global_step == 12
    assert trainer.lr_scheduler.last_epoch == 12
    _assert_rates(
        rates, _schedule("schedules.yaml", "warmup_cosine"), total_steps=12, warmup_steps=5
    )
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(1e-5)  # eta_min at the end


def test_hf_trainer_resume_from_checkpoint_loads_the_scheduler_state(
    hf_recipe: ModuleType, tmp_path: Path
) -> None:
    """The Trainer saves ``scheduler.pt`` and reads it back with ``torch.load(...,
    weights_only=True)``: the state is plain numbers, and the resumed rates continue."""
    import torch

    whole = hf_recipe.train(_args(tmp_path, max_steps=12, save_strategy="steps", save_steps=6))
    state = torch.load(tmp_path / "checkpoint-6" / "scheduler.pt", weights_only=True)
    assert (state["last_epoch"], state["schedule_params"]) == (
        6,
        {"total_steps": 12, "warmup_steps": 5},
    )
    resumed = hf_recipe.train(
        _args(tmp_path, max_steps=12), resume_from_checkpoint=str(tmp_path / "checkpoint-6")
    )
    assert resumed.lr_scheduler.last_epoch == 12
    assert _logged_rates(resumed) == _logged_rates(whole)


def test_hf_trainer_create_scheduler_override_gets_the_update_count(
    hf_recipe: ModuleType, tmp_path: Path
) -> None:
    """With ``num_train_epochs`` the Trainer computes the number of updates (64 examples,
    batches of 4, accumulation 2: 8 an epoch) and hands it to ``create_scheduler``."""
    args = _args(tmp_path, num_train_epochs=3, gradient_accumulation_steps=2)
    trainer = hf_recipe.LrgenTrainer(
        model=hf_recipe.Regression(), args=args, train_dataset=hf_recipe.dataset()
    )
    trainer.train()
    rates = _logged_rates(trainer)
    assert type(trainer.lr_scheduler) is hf_recipe.WarmupCosine
    assert len(rates) == trainer.lr_scheduler.schedule_params["total_steps"] == 24
    _assert_rates(
        rates, _schedule("schedules.yaml", "warmup_cosine"), total_steps=24, warmup_steps=5
    )


# --- HF-style names: the TransformersSchedule kind ------------------------------------------------


def _transformers_schedule(name: str) -> Any:
    from lrgen.kinds import KINDS

    assert "TransformersSchedule" in {k.name for k in KINDS}, (
        "the kind TransformersSchedule is not in lrgen.kinds yet: docs/integrations.md documents it"
    )
    return _schedule("transformers.yaml", name)


#: (schedule in docs/integrations/transformers.yaml, the TrainingArguments it stands for)
HF_ARGUMENTS = [
    ("hf_cosine", {"learning_rate": 5e-5, "lr_scheduler_type": "cosine", "warmup_steps": 0.06}),
    ("hf_linear", {"learning_rate": 2e-5, "lr_scheduler_type": "linear", "warmup_steps": 4}),
    (
        "hf_cosine_min_lr",
        {
            "learning_rate": 1e-4,
            "lr_scheduler_type": "cosine_with_min_lr",
            "warmup_steps": 0.1,
            "lr_scheduler_kwargs": {"min_lr_rate": 0.1},
        },
    ),
]


@pytest.mark.parametrize(("name", "arguments"), HF_ARGUMENTS)
def test_training_arguments_and_the_transformers_schedule_give_the_same_rates(
    hf_recipe: ModuleType, tmp_path: Path, name: str, arguments: dict
) -> None:
    """The Trainer's own scheduler (no ``optimizers=``), built from TrainingArguments, logs
    lr(t) of the spec's TransformersSchedule at every update."""
    from transformers import Trainer

    schedule = _transformers_schedule(name)
    steps = 45  # warmup_steps 0.06 * 45 = 2.7 and 0.1 * 45 = 4.5: the Trainer's ceil matters
    args = _args(tmp_path, max_steps=steps, **arguments)
    trainer = Trainer(
        model=hf_recipe.Regression(), args=args, train_dataset=hf_recipe.dataset(n=180)
    )
    trainer.train()
    rates = _logged_rates(trainer)
    assert len(rates) == steps
    assert rates[0] == 0.0 and rates[1] > 0  # transformers' warmup starts at 0
    _assert_rates(rates, schedule, num_training_steps=steps)


def test_the_keras_port_of_a_training_arguments_schedule(
    hf_recipe: ModuleType, keras_recipe: ModuleType, tmp_path: Path
) -> None:
    """docs/integrations/keras_recipe.py: the Keras optimizer's schedule gives the Trainer's
    rates (float32), and its settings are TrainingArguments' defaults."""
    from transformers import Trainer, TrainingArguments

    _transformers_schedule("hf_cosine")
    steps = 45
    name, arguments = HF_ARGUMENTS[0]
    trainer = Trainer(
        model=hf_recipe.Regression(),
        args=_args(tmp_path, max_steps=steps, **arguments),
        train_dataset=hf_recipe.dataset(n=180),
    )
    trainer.train()
    rates = np.asarray(_logged_rates(trainer))
    with _at_root():
        optimizer = keras_recipe.optimizer(num_training_steps=steps)
    t = np.arange(2 * steps)
    got = np.asarray(optimizer._learning_rate(t), dtype=np.float64)
    ref = lrgen.evaluate(
        _schedule("transformers.yaml", name), t, params={"num_training_steps": steps}
    )
    assert float32_close(got[:steps], rates).all(), np.abs(got[:steps] - rates).max()
    assert float32_close(got, ref).all(), np.abs(got - ref).max()  # and past the end
    defaults = TrainingArguments(output_dir=str(tmp_path), report_to=[])
    assert (optimizer.weight_decay, optimizer.epsilon, optimizer.global_clipnorm) == (
        defaults.weight_decay,
        defaults.adam_epsilon,
        defaults.max_grad_norm,
    )
    assert (optimizer.beta_1, optimizer.beta_2) == (defaults.adam_beta1, defaults.adam_beta2)


@pytest.mark.parametrize("per_update", [False, True])
def test_keras_gradient_accumulation_calls_the_schedule_with_the_batch_count(
    keras_recipe: ModuleType, per_update: bool
) -> None:
    """With ``gradient_accumulation_steps=2``, Keras makes update ``j`` with the schedule at
    batch ``2j + 1``; keras_recipe.PerUpdate gives it ``lr(j)``, as the Trainer does. The lr
    each update applied is read off plain SGD: a gradient of 1 moves a weight at 0 by -lr."""
    import keras

    schedule = lrgen.keras.schedule(
        RECIPES / "schedules.yaml", "warmup_cosine", total_steps=10, warmup_steps=3
    )
    rate = keras_recipe.PerUpdate(schedule, 2) if per_update else schedule
    optimizer = keras.optimizers.SGD(learning_rate=rate, gradient_accumulation_steps=2)
    weight = keras.Variable(0.0)
    applied = []
    for batch in range(10):
        weight.assign(0.0)
        optimizer.apply([keras.ops.ones(())], [weight])
        if batch % 2 == 1:
            applied.append(-float(weight.numpy()))
        else:
            assert float(weight.numpy()) == 0.0  # accumulating
    updates = np.arange(5)
    t = updates if per_update else 2 * updates + 1
    ref = lrgen.evaluate(
        _schedule("schedules.yaml", "warmup_cosine"),
        t,
        params={"total_steps": 10, "warmup_steps": 3},
    )
    assert float32_close(np.asarray(applied), ref).all(), (applied, ref)
    if per_update:  # and it survives the optimizer's config
        config = keras.saving.serialize_keras_object(optimizer)
        restored = keras.saving.deserialize_keras_object(config)._learning_rate
        assert type(restored) is keras_recipe.PerUpdate
        steps = np.arange(10)
        assert np.array_equal(np.asarray(restored(steps)), np.asarray(rate(steps)))


# --- the page -------------------------------------------------------------------------------------


def test_the_pages_code_is_the_code_the_tests_run() -> None:
    """Every ``python`` and ``yaml`` block of docs/integrations.md is part of a file under
    docs/integrations/ (which the tests above import or load), character for character."""
    text = PAGE.read_text()
    sources = {
        language: [p.read_text() for p in sorted(RECIPES.glob(f"*.{ext}"))]
        for language, ext in (("python", "py"), ("yaml", "yaml"))
    }
    checked = 0
    for language, block in re.findall(r"^```(python|yaml)\n(.*?)^```$", text, flags=re.S | re.M):
        assert any(block in source for source in sources[language]), block
        checked += 1
    assert checked >= 8


def test_the_pages_links_lead_somewhere() -> None:
    """Relative links of docs/integrations.md name files that exist, and headings that exist."""
    text = PAGE.read_text()
    links = re.findall(r"\]\(([^)#]+)(?:#([^)]+))?\)", text)
    assert len(links) >= 8
    for target, anchor in links:
        path = PAGE.parent / target
        assert path.exists(), target
        if anchor:
            headings = re.findall(r"^#+ (.+)$", path.read_text(), flags=re.M)
            slugs = {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings}
            assert anchor in slugs, f"{target}#{anchor}"
