"""The runtime API (lrgen.runtime, lrgen.torch, lrgen.keras, lrgen.optax; docs/runtime.md).

The runtime modules are the text ``lrgen build`` writes, compiled in memory: these tests check
the text byte for byte against the built files, the numbers against the built modules (bit for
bit), and that pickles, state dicts and Keras configs survive a round trip.
"""

from __future__ import annotations

import io
import os
import pickle
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import lrgen
import lrgen.keras
import lrgen.optax
import lrgen.torch
from lrgen import runtime
from lrgen.generate import TARGETS, build
from lrgen.loader import load
from tests.frameworks import import_path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "spec" / "examples").glob("*.yaml"))
TRANSFORMER = ROOT / "spec" / "examples" / "transformer.yaml"
FLAT = (
    "lrgen: 1\nschedules:\n  flat:\n    lr: 0.1\n"
    "    schedule: {kind: ConstantLR, factor: 0.5, total_iters: 3}\n"
)
#: Steps where every example schedule has moved (warmups, milestones, cycles) and the defaults'
#: horizons (up to 100,000 steps).
STEPS = [*range(0, 40), 63, 100, 250, 999, 1000, 1001, 2000, 4000, 10_000, 99_999, 100_000]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``lrgen build --target torch,keras,optax`` of every example, into a fresh folder."""
    out = tmp_path_factory.mktemp("built")
    assert build([str(p) for p in EXAMPLES], out, TARGETS, echo=lambda _: None) == 0
    return out


@pytest.fixture
def keras_registry() -> Iterator[None]:
    """Importing a built Keras module registers its classes under the names the runtime module
    registered (``lrgen.STEM>Class``): put the registry back afterwards."""
    import keras

    objects = keras.saving.get_custom_objects()
    saved = dict(objects)
    yield
    objects.clear()
    objects.update(saved)


def _closed_form(path: Path) -> list[tuple[str, dict[str, int]]]:
    """Each closed-form schedule's name, with the arguments a Keras or optax schedule needs
    (an epoch-counting one, the optimizer steps in an epoch)."""
    return [
        (s.name, {"steps_per_epoch": 7} if s.unit == "epoch" else {})
        for s in load(path).entries
        if not s.metric_driven
    ]


def _sgd(lr: float) -> Any:
    import torch

    return torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)


# --- the same text -------------------------------------------------------------------------------


@pytest.mark.usefixtures("keras_registry")
@pytest.mark.filterwarnings("ignore:.*(keras-momentum|optax-plateau)")
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_module_text_is_the_built_file(path: Path, built: Path) -> None:
    for target in TARGETS:
        made = runtime.module(path, target)
        file = built / f"{path.stem}_{target}.py"
        assert made.__lrgen_source__.encode("utf-8") == file.read_bytes(), file.name
        assert runtime.source(path, target) == made.__lrgen_source__
        assert made.__name__.startswith(f"lrgen._runtime.{path.stem}_{target}_")
        assert sys.modules[made.__name__] is made
        assert made.__all__ == import_path(file, "_lrgen_runtime_test").__all__


# --- the same numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_torch_numbers_are_the_built_modules(path: Path, built: Path) -> None:
    import torch

    file = import_path(built / f"{path.stem}_torch.py", "_lrgen_runtime_test")
    spec = load(path)
    for schedule in spec.entries:
        name, lr = schedule.name, 0.1  # any lr: both follow torch's rule for a group's lr
        ours = _sgd(lr)
        theirs = _sgd(lr)
        scheduler = lrgen.torch.scheduler(path, name, ours)
        reference = getattr(file, schedule.class_name)(theirs)
        assert type(scheduler).__name__ == type(reference).__name__
        assert type(scheduler) is not type(reference)  # compiled from the text, not imported
        for step in range(30):
            ours.step()
            theirs.step()
            if schedule.metric_driven:
                metric = 1.0 / (1 + step % 7)
                scheduler.step(metric)
                reference.step(metric)
            else:
                scheduler.step()
                reference.step()
            assert [g["lr"] for g in ours.param_groups] == [g["lr"] for g in theirs.param_groups]
        if schedule.metric_driven:
            continue
        ours_fn = lrgen.torch.function(path, name)
        assert [ours_fn(t) for t in STEPS] == [getattr(file, name)(t) for t in STEPS], name
        t = torch.tensor(STEPS)
        ours_tensor = lrgen.torch.tensor_function(path, name)(t, dtype=torch.float64)
        assert torch.equal(ours_tensor, getattr(file, f"{name}_tensor")(t, dtype=torch.float64))
        ours, theirs = _sgd(lr), _sgd(lr)
        lambdas = [lrgen.torch.lr_lambda(path, name, ours), getattr(file, f"{name}_lambda")(theirs)]
        for _ in range(20):
            for optimizer, scheduler in zip((ours, theirs), lambdas, strict=True):
                optimizer.step()
                scheduler.step()
            assert ours.param_groups[0]["lr"] == theirs.param_groups[0]["lr"]


@pytest.mark.usefixtures("keras_registry")
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_keras_numbers_are_the_built_modules(path: Path, built: Path) -> None:
    import numpy as np

    file = import_path(built / f"{path.stem}_keras.py", "_lrgen_runtime_test")
    steps = np.array(STEPS, dtype="int64")
    for name, arguments in _closed_form(path):
        ours = lrgen.keras.schedule(path, name, **arguments)
        theirs = getattr(file, type(ours).__name__)(**arguments)
        assert np.array_equal(np.asarray(ours(steps)), np.asarray(theirs(steps))), name


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_optax_numbers_are_the_built_modules(path: Path, built: Path) -> None:
    import numpy as np

    file = import_path(built / f"{path.stem}_optax.py", "_lrgen_runtime_test")
    steps = np.array(STEPS, dtype="int32")
    for name, arguments in _closed_form(path):
        ours = lrgen.optax.schedule(path, name, **arguments)
        theirs = getattr(file, name)(**arguments)
        assert np.array_equal(np.asarray(ours(steps)), np.asarray(theirs(steps))), name


# --- round trips --------------------------------------------------------------------------------


def test_torch_scheduler_pickles_and_its_state_dict_loads_weights_only() -> None:
    import torch

    optimizer = _sgd(5e-4)
    scheduler = lrgen.torch.scheduler(TRANSFORMER, "warmup_cosine", optimizer, total_steps=5000)
    for _ in range(7):
        optimizer.step()
        scheduler.step()
    copy = pickle.loads(pickle.dumps(scheduler))
    assert type(copy) is type(scheduler)
    assert copy.last_epoch == 7
    assert copy.get_last_lr() == scheduler.get_last_lr()

    buffer = io.BytesIO()
    torch.save(scheduler.state_dict(), buffer)
    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)
    assert state["schedule_params"] == {"total_steps": 5000, "warmup_steps": 2000}
    resumed_optimizer = _sgd(5e-4)
    resumed = lrgen.torch.scheduler(TRANSFORMER, "warmup_cosine", resumed_optimizer)
    resumed.load_state_dict(state)
    for _ in range(5):
        for o, s in ((optimizer, scheduler), (resumed_optimizer, resumed)):
            o.step()
            s.step()
        assert resumed.get_last_lr() == scheduler.get_last_lr()
    assert resumed.get_last_lr() == [
        lrgen.torch.function(TRANSFORMER, "warmup_cosine")(12, total_steps=5000)
    ]


def test_pickle_loads_in_a_new_process_once_the_spec_is_loaded(tmp_path: Path) -> None:
    """The module's name depends only on the spec file and lrgen: another process that loads
    the same spec finds the classes a pickle names."""
    optimizer = _sgd(5e-4)
    scheduler = lrgen.torch.scheduler(TRANSFORMER, "noam", optimizer, warmup=100)
    for _ in range(3):
        optimizer.step()
        scheduler.step()
    (tmp_path / "scheduler.pkl").write_bytes(pickle.dumps(scheduler))
    script = (
        "import pickle, sys, lrgen.torch\n"
        f"lrgen.torch.module({str(TRANSFORMER)!r})\n"
        f"s = pickle.loads(open({str(tmp_path / 'scheduler.pkl')!r}, 'rb').read())\n"
        "print(type(s).__module__, type(s).__name__, s.last_epoch, repr(s.get_last_lr()[0]))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        type(scheduler).__module__,
        "Noam",
        "3",
        repr(scheduler.get_last_lr()[0]),
    ]


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")  # never trained
def test_keras_schedule_round_trips_through_keras_saving(tmp_path: Path) -> None:
    """Under a file name of its own: the classes register as ``lrgen.STEM>Class``, which a
    built module of the same spec imported later in this process would take over."""
    import keras
    import numpy as np

    spec = tmp_path / "runtime_round_trip.yaml"
    spec.write_bytes(TRANSFORMER.read_bytes())
    schedule = lrgen.keras.schedule(spec, "warmup_cosine", total_steps=5000)
    cls = lrgen.keras.schedule_class(spec, "warmup_cosine")
    assert type(schedule) is cls
    assert keras.saving.get_registered_name(cls) == "lrgen.runtime_round_trip>WarmupCosine"
    steps = np.array([0, 1, 1999, 2000, 4999, 5000], dtype="int64")
    for restored in (
        cls.from_config(schedule.get_config()),
        keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(schedule)),
        keras.optimizers.deserialize(
            keras.optimizers.serialize(keras.optimizers.AdamW(learning_rate=schedule))
        )._learning_rate,  # the schedule (learning_rate is its current value)
        _saved_and_loaded(schedule, tmp_path / "model.keras"),
    ):
        assert type(restored) is cls
        assert restored.get_config() == schedule.get_config()
        assert np.array_equal(np.asarray(restored(steps)), np.asarray(schedule(steps)))


def _saved_and_loaded(schedule: Any, path: Path) -> Any:
    """The schedule of a model's optimizer after ``model.save`` and ``keras.saving.load_model``."""
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.AdamW(learning_rate=schedule), loss="mse")
    model.save(path)
    return keras.saving.load_model(path).optimizer._learning_rate


def test_the_python_examples_in_docs_runtime_run(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (ROOT / "docs" / "runtime.md").read_text()
    blocks = re.findall(r"^```python\n(.*?)^```$", text, flags=re.DOTALL | re.MULTILINE)
    assert len(blocks) == 3  # torch, keras, optax (the Hydra one is ```python notest)
    monkeypatch.chdir(ROOT)
    for block in blocks:
        exec(compile(block, "docs/runtime.md", "exec"), {})


# --- loading, errors, cache ---------------------------------------------------------------------


def test_an_invalid_spec_raises_spec_error_with_positions(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "lrgen: 1\nschedules:\n  warm:\n    lr: 0.1\n    schedule:\n"
        "      kind: CosineAnnealingLR\n      T_max: -5\n"
    )
    for call in (
        lambda: lrgen.torch.scheduler(bad, "warm", _sgd(0.1)),
        lambda: lrgen.keras.schedule(bad, "warm"),
        lambda: lrgen.optax.schedule(bad, "warm"),
        lambda: runtime.module(str(bad), "torch"),
    ):
        with pytest.raises(lrgen.SpecError) as error:
            call()
        assert [str(p) for p in error.value.problems] == [
            f"{bad}:7:14: schedules.warm.schedule.T_max: -5 is less than the minimum of 1"
        ]
    with pytest.raises(lrgen.SpecError, match=r"missing\.yaml:1:1: \$: no such file$"):
        lrgen.torch.module(tmp_path / "missing.yaml")
    with pytest.raises(lrgen.SpecError, match=r":1:1: \$: is a directory, not a spec file$"):
        lrgen.torch.module(tmp_path)


def test_unknown_schedule_target_and_missing_variant_are_named() -> None:
    with pytest.raises(KeyError, match=r"has no schedule 'warmup'; it has: warmup_cosine, "):
        lrgen.torch.function(TRANSFORMER, "warmup")
    with pytest.raises(ValueError, match=r"^unknown target 'tf'; choose from torch, keras, optax$"):
        runtime.module(TRANSFORMER, "tf")
    plateau = ROOT / "spec" / "examples" / "plateau.yaml"
    with pytest.raises(
        ValueError,
        match=r"'plateau_val_loss' in .*plateau\.yaml has no plateau_val_loss\(\) in the torch ",
    ):
        lrgen.torch.function(plateau, "plateau_val_loss")


def test_optax_warns_about_what_it_leaves_out(tmp_path: Path) -> None:
    """What ``lrgen build --target optax`` prints, as warnings pointing at the caller."""
    plateau = tmp_path / "plateau.yaml"
    plateau.write_bytes((ROOT / "spec" / "examples" / "plateau.yaml").read_bytes())
    with pytest.warns(UserWarning) as record:
        lrgen.optax.module(plateau)
    assert [str(w.message).split(": it needs")[0] for w in record] == [
        f"{plateau}:{line}:7: schedules.{name}.schedule: warning[optax-plateau]: "
        "ReduceLROnPlateau is not generated for optax"
        for line, name in (
            (13, "plateau_val_loss"),
            (30, "plateau_val_accuracy"),
            (47, "plateau_warmup"),
        )
    ]
    assert {w.filename for w in record} == {__file__}


def test_a_loaded_spec_and_its_path_share_one_cached_module(tmp_path: Path) -> None:
    assert lrgen.torch.module(lrgen.load(TRANSFORMER)) is lrgen.torch.module(TRANSFORMER)
    spec = tmp_path / "mine.yaml"
    spec.write_text(FLAT)
    first = lrgen.torch.module(spec)
    assert lrgen.torch.module(spec) is first
    assert runtime.load_spec(spec) is runtime.load_spec(str(spec))  # validated once
    assert lrgen.torch.function(spec, "flat")(0) == 0.05
    spec.write_text(spec.read_text().replace("factor: 0.5", "factor: 0.25"))
    second = lrgen.torch.module(spec)
    assert second is not first and second.__name__ != first.__name__
    assert lrgen.torch.function(spec, "flat")(0) == 0.025
    assert first.flat(0) == 0.05  # the old module still works (pickles of it still load)


def test_a_spec_whose_name_is_no_module_name_still_runs(tmp_path: Path) -> None:
    """``lrgen build`` refuses ``my-spec.yaml`` (it imports the files by name); the runtime
    registers its own names."""
    spec = tmp_path / "my-spec.yaml"
    spec.write_text(FLAT)
    made = lrgen.torch.module(spec)
    assert made.__name__.startswith("lrgen._runtime.my_spec_torch_")
    assert made.flat(3) == 0.1


def test_lrgen_attributes_and_no_shadowing() -> None:
    import torch

    assert lrgen.torch is sys.modules["lrgen.torch"]
    assert lrgen.keras is sys.modules["lrgen.keras"]
    assert torch.__name__ == "torch" and hasattr(torch, "optim")
    assert lrgen.torch.module(TRANSFORMER).torch is torch  # the generated module's own import
