"""Resuming a generated torch scheduler restores the schedule it was saved with.

``state_dict`` holds the keyword arguments (``schedule_params``) next to torch's state (step,
``base_lrs``); ``load_state_dict`` restores them and recomputes each group's constants, as
torch's own schedulers restore theirs. A checkpoint is read with ``weights_only=True``.
"""

from __future__ import annotations

import io
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch

from lrgen.cli import main
from tests.frameworks import import_path

SPEC = """
lrgen: 1
schedules:
  hf_cosine:
    lr: 0.001
    params: {total_steps: 100, warmup_steps: 10}
    schedule: {kind: WarmupWithDecay, warmup_steps: warmup_steps, total_steps: total_steps}
"""


@pytest.fixture(scope="module")
def module(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    out = tmp_path_factory.mktemp("resume")
    (out / "resume.yaml").write_text(SPEC)
    assert main(["build", str(out / "resume.yaml"), "--out", str(out), "--target", "torch"]) == 0
    return import_path(out / "resume_torch.py", "_lrgen_resume")


def _optimizer(lrs: tuple[float, ...] = (0.001,)) -> torch.optim.SGD:
    groups = [{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs]
    return torch.optim.SGD(groups, lr=lrs[0])


def _run(optimizer: torch.optim.Optimizer, scheduler: Any, steps: int) -> list[list[float]]:
    out = []
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
        out.append([group["lr"] for group in optimizer.param_groups])
    return out


def _round_trip(state: dict[str, Any]) -> dict[str, Any]:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def test_resume_restores_the_saved_params(module: ModuleType) -> None:
    """The issue's case: saved with total_steps=1000 at step 500, loaded into a scheduler built
    with the defaults, it continues with total_steps=1000."""
    lrs = (0.001, 0.01, 0.0005)
    optimizer = _optimizer(lrs)
    scheduler = module.HfCosine(optimizer, total_steps=1000)
    _run(optimizer, scheduler, 500)
    state = _round_trip(scheduler.state_dict())
    assert state["schedule_params"] == {"total_steps": 1000, "warmup_steps": 10}
    expected = _run(optimizer, scheduler, 300)

    fresh = _optimizer(lrs)
    resumed = module.HfCosine(fresh)  # the defaults: total_steps=100
    resumed.load_state_dict(state)
    assert resumed.schedule_params == {"total_steps": 1000, "warmup_steps": 10}
    assert _run(fresh, resumed, 300) == expected
    assert expected[-1][0] == module.hf_cosine(800, total_steps=1000)


def test_a_param_changes_on_resume_by_editing_the_state(module: ModuleType) -> None:
    optimizer = _optimizer()
    scheduler = module.HfCosine(optimizer, total_steps=1000)
    _run(optimizer, scheduler, 500)
    state = scheduler.state_dict()
    state["schedule_params"]["total_steps"] = 2000
    fresh = _optimizer()
    resumed = module.HfCosine(fresh)
    resumed.load_state_dict(state)
    assert _run(fresh, resumed, 3)[-1][0] == module.hf_cosine(503, total_steps=2000)


def test_a_state_without_params_keeps_the_constructors(module: ModuleType) -> None:
    """A checkpoint written before ``schedule_params`` existed: the constructor's values."""
    optimizer = _optimizer()
    scheduler = module.HfCosine(optimizer, total_steps=1000)
    _run(optimizer, scheduler, 50)
    state = scheduler.state_dict()
    del state["schedule_params"]
    fresh = _optimizer()
    resumed = module.HfCosine(fresh, total_steps=400)
    resumed.load_state_dict(state)
    assert _run(fresh, resumed, 1)[-1][0] == module.hf_cosine(51, total_steps=400)


def test_bad_params_in_a_checkpoint_are_named(module: ModuleType) -> None:
    scheduler = module.HfCosine(_optimizer())
    state = scheduler.state_dict()
    state["schedule_params"]["total_steps"] = 5
    with pytest.raises(ValueError) as caught:
        module.HfCosine(_optimizer()).load_state_dict(state)
    # the registry check's own message (lrgen.kinds.Less), its values formatted at run time
    assert str(caught.value) == (
        "HfCosine(total_steps=5): warmup_steps: 10 must be less than total_steps (5)"
    )


def test_lambda_factory_restores_its_constants(module: ModuleType) -> None:
    """LambdaLR saves its callable's state (the constants): a checkpoint restores them."""
    optimizer = _optimizer()
    scheduler = module.hf_cosine_lambda(optimizer, total_steps=1000)
    _run(optimizer, scheduler, 500)
    state = _round_trip(scheduler.state_dict())
    fresh = _optimizer()
    resumed = module.hf_cosine_lambda(fresh)
    resumed.load_state_dict(state)
    assert _run(fresh, resumed, 1)[-1][0] == pytest.approx(
        module.hf_cosine(501, total_steps=1000), rel=1e-15
    )


def test_state_dict_is_plain(module: ModuleType, tmp_path: Path) -> None:
    scheduler = module.HfCosine(_optimizer(), total_steps=300)
    path = tmp_path / "state.pt"
    torch.save(scheduler.state_dict(), path)
    state = torch.load(path, weights_only=True)
    assert "_group_constants" not in state
    assert state["schedule_params"] == {"total_steps": 300, "warmup_steps": 10}
