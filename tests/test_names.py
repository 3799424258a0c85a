"""Generated names cannot collide, whatever the spec's names.

Module-private helpers live in a namespace no spec name reaches (``_`` + the class name + ``_`` +
a role); parameters are stored in one private dict, never as attributes; what is left (a schedule
named like an import of the module) is a positioned build error, found by counting the module's
actual top-level bindings. The adversarial spec below uses every name the generated modules define
(helpers, methods and attributes of the generated classes, locals of the generated functions)
as schedule and parameter names, and checks each schedule's numbers, the torch scheduler, the
momentum it cycles, and the Keras serialization round trip.
"""

from __future__ import annotations

import ast
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch

import lrgen
from lrgen.cli import main
from lrgen.reference import momentum
from tests.frameworks import float32_close, float64_close, import_path

#: Names of helpers, methods, attributes and locals of the generated modules and classes
#: (without their leading ``_``), and of the imports that are classes.
ADVERSARIAL = [
    "checked",
    "negative_step",
    "not_computable",
    "argument_error",
    "require",
    "integer",
    "momentum_key",
    "set_momentum",
    "closed_form_l_r",
    "lambda_l_r",
    "l_r_scheduler",
    "package",
    "max_step",
    "power",
    "exp",
    "counter",
    "finite",
    "fit_int32",
    "log_split",
    "schedule",
    "lrs",
    "per_group",
    "constants",
    "schedule_params",
    "group_constants",
    "state_dict",
    "load_state_dict",
    "get_lr",
    "get_last_lr",
    "base_lrs",
    "from_config",
    "arguments",
    "error",
    "count",
    "index",
    "c",
]
#: Param names that are attributes or methods of the generated classes, or locals.
PARAMS = {
    "constants": 40,
    "get_config": 0.5,
    "from_config": 3,
    "schedule_params": 2,
    "state_dict": 1,
    "base_lrs": 4,
    "group_constants": 5,
    "c": 6,
    "error": 7,
    "arguments": 8,
    "count": 9,
    "index": 10,
    "momentum_key": 11,
    "get_lr": 12,
    "steps_per_epoch_": 13,
}


def _spec() -> str:
    lines = ["lrgen: 1", "schedules:"]
    # sgd's momentum helper and sgd_momentum's formula once shared the name _sgd_momentum_at.
    lines.append("  sgd: {lr: 0.1, schedule: {kind: OneCycleLR, max_lr: 0.01, total_steps: 100}}")
    lines.append(
        "  sgd_momentum: {lr: 0.1, schedule: {kind: OneCycleLR, max_lr: 0.05, total_steps: 40,"
        " base_momentum: 0.7, max_momentum: 0.99}}"
    )
    total = " + ".join(k for k in PARAMS if k not in ("constants", "get_config"))
    lines.append("  get_config:")
    lines.append("    lr: 0.1")
    params = ", ".join(f"{k}: {v}" for k, v in PARAMS.items())
    lines.append(f"    params: {{{params}}}")
    lines.append(
        f'    schedule: {{kind: LambdaLR, lr_lambda: "get_config ** (t / constants) * ({total})'
        f' / 100"}}'
    )
    for i, name in enumerate(ADVERSARIAL):
        lines.append(
            f"  {name}: {{lr: 0.1, params: {{{name}: {i + 2}}}, "
            f"schedule: {{kind: LinearWarmup, warmup_steps: {name}}}}}"
        )
    lines.append(
        "  reduce_l_r_on_plateau: {lr: 0.1, params: {constants: 3, get_config: 0.5}, "
        "schedule: {kind: ReduceLROnPlateau, patience: constants, factor: get_config}}"
    )
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[lrgen.Spec, ModuleType, ModuleType]:
    out = tmp_path_factory.mktemp("names")
    path = out / "names.yaml"
    path.write_text(_spec())
    assert main(["build", str(path), "--out", str(out)]) == 0
    torch_module = import_path(out / "names_torch.py", "_lrgen_names")
    keras_module = import_path(out / "names_keras.py", "_lrgen_names")
    return lrgen.load(path), torch_module, keras_module


def _closed_form(spec: lrgen.Spec) -> list[str]:
    return [s.name for s in spec.entries if not s.metric_driven]


def test_every_top_level_name_is_bound_once(built: tuple) -> None:
    for module in built[1:]:
        tree = ast.parse(Path(module.__file__).read_text())
        names: list[str] = []
        for statement in tree.body:
            if isinstance(statement, ast.FunctionDef | ast.ClassDef):
                names.append(statement.name)
            elif isinstance(statement, ast.Import | ast.ImportFrom):
                names += [(a.asname or a.name).split(".")[0] for a in statement.names]
        assert sorted(n for n in set(names) if names.count(n) > 1) == []


def test_each_schedule_keeps_its_own_numbers(built: tuple) -> None:
    spec, tmod, _ = built
    steps = np.arange(0, 120)
    for name in _closed_form(spec):
        ref = lrgen.evaluate(spec.schedules[name], steps)
        got = np.array([getattr(tmod, name)(int(t)) for t in steps])
        assert float64_close(got, ref).all(), name
        tensor = getattr(tmod, f"{name}_tensor")(torch.as_tensor(steps), dtype=torch.float64)
        assert float64_close(tensor.numpy(), ref).all(), name


def test_torch_schedulers_and_momentum(built: tuple) -> None:
    spec, tmod, _ = built
    for name in _closed_form(spec):
        schedule = spec.schedules[name]
        optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
        scheduler = getattr(tmod, schedule.class_name)(optimizer)
        lrs, momenta = [], []
        for _ in range(60):
            lrs.append(optimizer.param_groups[0]["lr"])
            momenta.append(optimizer.param_groups[0]["momentum"])
            optimizer.step()
            scheduler.step()
        assert lrs == [getattr(tmod, name)(t) for t in range(60)], name
        expected = momentum(schedule, np.arange(60))
        if expected is not None:
            assert float64_close(np.array(momenta), expected).all(), name
    # the two momentum-cycling schedules really differ (once they shared a helper)
    assert tmod.sgd(10) != tmod.sgd_momentum(10)


def test_params_named_like_attributes_and_methods(built: tuple) -> None:
    spec, tmod, kmod = built
    schedule = spec.schedules["get_config"]
    params = {**PARAMS, "constants": 25, "error": 1}
    steps = np.arange(0, 50)
    ref = lrgen.evaluate(schedule, steps, params=params)
    got = np.array([tmod.get_config(int(t), **params) for t in steps])
    assert float64_close(got, ref).all()
    keras_schedule = kmod.GetConfig(**params)
    assert float32_close(np.array([float(keras_schedule(int(t))) for t in steps]), ref).all()
    config = keras_schedule.get_config()
    assert config == {**params, "steps_per_epoch": None, "name": "GetConfig"}
    clone = kmod.GetConfig.from_config(config)
    assert clone.get_config() == config
    assert float(clone(7)) == float(keras_schedule(7))


def test_keras_serialization_round_trip(built: tuple) -> None:
    import keras

    spec, _, kmod = built
    for name in _closed_form(spec):
        schedule = getattr(kmod, spec.schedules[name].class_name)()
        restored = keras.saving.deserialize_keras_object(
            keras.saving.serialize_keras_object(schedule)
        )
        assert type(restored) is type(schedule)
        assert restored.get_config() == schedule.get_config(), name
        assert float(restored(5)) == float(schedule(5)), name
    callback = kmod.ReduceLROnPlateau(constants=4, get_config=0.25)
    assert callback.get_config() == {
        "constants": 4,
        "get_config": 0.25,
        "monitor": "val_loss",
        "verbose": 0,
    }
    assert (callback.patience, callback.factor) == (4, 0.25)


@pytest.mark.parametrize(
    ("schedules", "message"),
    [
        (
            "  bisect: {lr: 0.1, schedule: {kind: MultiStepLR, milestones: [3, 6]}}",
            "3:11: schedules.bisect: the generated torch module would define 'bisect' for this "
            "schedule and for 'import bisect': one would replace the other for every schedule; "
            "rename the schedule",
        ),
        (
            "  named_tuple: {lr: 0.1, schedule: {kind: Constant}}",
            "3:16: schedules.named_tuple: the generated torch module would define 'NamedTuple' "
            "for this schedule and for 'from typing import NamedTuple': one would replace the "
            "other for every schedule; rename the schedule",
        ),
    ],
)
def test_a_name_an_import_takes_is_a_positioned_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], schedules: str, message: str
) -> None:
    path = tmp_path / "clash.yaml"
    path.write_text(f"lrgen: 1\nschedules:\n{schedules}\n")
    assert main(["build", str(path), "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().out.strip() == f"{path}:{message}"
    assert not list(tmp_path.glob("*.py"))
