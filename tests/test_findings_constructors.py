"""Every field of a node is checked at construction, whether or not the formula reads it.

CyclicLR's ``gamma`` is unused in mode ``triangular`` and CosineDecay's ``warmup_steps`` without a
``warmup_target``; the reference (:func:`lrgen.ir.bind`) checks them anyway, so every generated
constructor must refuse the same overrides, naming the same field.
"""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import pytest

import lrgen
from lrgen.loader import load_text
from tests.strategies import generated_module

torch = pytest.importorskip("torch")
keras = pytest.importorskip("keras")

SPEC = {
    "lrgen": 1,
    "schedules": {
        "cyc": {
            "lr": 0.1,
            "params": {"v": 0.96875},
            "schedule": {
                "kind": "CyclicLR",
                "base_lr": 0.01,
                "max_lr": 0.1,
                "step_size_up": 5,
                "gamma": "v",
                "cycle_momentum": False,
            },
        },
        "cos": {
            "lr": 0.1,
            "params": {"v": 8},
            "schedule": {
                "kind": "CosineDecay",
                "decay_steps": 30,
                "alpha": 0.125,
                "warmup_steps": "v",
            },
        },
    },
}

CASES = [
    # (schedule, v, the reference's message, the generated constructors' message)
    (
        "cyc",
        0.0,
        "schedules.cyc.schedule.gamma: 0 is not greater than 0",
        "Cyc(v=0.0): gamma = v must be > 0, got 0.0",
    ),
    (
        "cyc",
        -0.5,
        "schedules.cyc.schedule.gamma: -0.5 is not greater than 0",
        "Cyc(v=-0.5): gamma = v must be > 0, got -0.5",
    ),
    (
        "cos",
        -1.0,
        "schedules.cos.schedule.warmup_steps: -1 is less than the minimum of 0",
        "Cos(v=-1.0): warmup_steps = v must be >= 0, got -1",
    ),
    (
        "cos",
        8.5,
        "schedules.cos.schedule.warmup_steps: must be an integer, got 8.5",
        "Cos(v=8.5): warmup_steps = v must be an integer, got 8.5",
    ),
]


@pytest.fixture(scope="module")
def spec() -> Any:
    return load_text(json.dumps(SPEC), "findings.json")


def _entry(spec: Any, name: str) -> Any:
    return next(e for e in spec.entries if e.name == name)


def _constructors(spec: Any, name: str) -> dict[str, Any]:
    torch_module = generated_module(spec, "torch")
    keras_module = generated_module(spec, "keras")
    cls = name.capitalize()

    def optimizer() -> Any:
        return torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)

    return {
        "function": lambda v: getattr(torch_module, name)(3, v=v),
        "tensor": lambda v: getattr(torch_module, f"{name}_tensor")(torch.arange(4), v=v),
        "lambda": lambda v: getattr(torch_module, f"{name}_lambda")(optimizer(), v=v),
        "scheduler": lambda v: getattr(torch_module, cls)(optimizer(), v=v),
        "keras": lambda v: getattr(keras_module, cls)(v=v),
        **(
            {"optax": lambda v: getattr(generated_module(spec, "optax"), name)(v=v)(3)}
            if importlib.util.find_spec("optax")
            else {}
        ),
    }


@pytest.mark.parametrize(("name", "v", "message", "generated"), CASES)
def test_unused_field_is_checked_like_the_reference(
    spec: Any, name: str, v: float, message: str, generated: str
) -> None:
    with pytest.raises(ValueError, match="^" + message.replace(".", r"\.")):
        lrgen.evaluate(_entry(spec, name), [3], params={"v": v})
    for target, make in _constructors(spec, name).items():
        with pytest.raises(ValueError) as info:
            make(v)
        assert str(info.value) == generated, target


@pytest.mark.parametrize(("name", "v"), [("cyc", 2**-8), ("cos", 0.0), ("cos", 40.0)])
def test_values_the_reference_accepts_are_accepted(spec: Any, name: str, v: float) -> None:
    expected = float(lrgen.evaluate(_entry(spec, name), [3], params={"v": v})[0])
    for target, make in _constructors(spec, name).items():
        result = make(v)
        if target == "function":
            assert result == pytest.approx(expected, rel=1e-12)
        elif target == "tensor":
            assert float(result[3]) == pytest.approx(expected, rel=1e-6)
