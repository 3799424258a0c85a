"""Shared test configuration: Hypothesis profiles, the Keras backend, the devices present.

Profiles (choose with LRGEN_HYPOTHESIS_PROFILE, default ``dev``):
  ci        derandomized, no deadline, bounded example counts: the whole suite in ~15 min on 2 cores
  dev       random, moderate counts, for local work
  thorough  ten times ``dev``'s examples, for a night run
"""

from __future__ import annotations

import os
from typing import Any

# Keras reads its backend at import; this process runs TensorFlow. Other backends are tested in
# subprocesses (tests/test_keras_backends.py).
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest
from hypothesis import HealthCheck, settings

_COMMON = {"suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
settings.register_profile(
    "ci", max_examples=25, derandomize=True, deadline=None, print_blob=True, **_COMMON
)
settings.register_profile("dev", max_examples=50, deadline=None, **_COMMON)
settings.register_profile("thorough", max_examples=500, deadline=None, **_COMMON)
PROFILE = os.environ.get("LRGEN_HYPOTHESIS_PROFILE", "dev")
settings.load_profile(PROFILE)


REQUIRE_GPU = os.environ.get("LRGEN_REQUIRE_GPU") == "1"


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def torch_devices() -> list[Any]:
    """Parameters for a ``device`` argument: ``cpu``, and ``cuda`` marked ``gpu``, always.

    The ``cuda`` case is collected on every machine; :func:`pytest_runtest_setup` skips it without
    a CUDA device, or fails it when ``LRGEN_REQUIRE_GPU=1``: a GPU run that silently found no GPU
    cannot pass.
    """
    return ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]


def skip_without_gpu(present: bool, what: str = "a CUDA device") -> None:
    if present:
        return
    if REQUIRE_GPU:
        pytest.fail(f"LRGEN_REQUIRE_GPU=1 but {what} is not available")
    pytest.skip(f"needs {what}")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A ``gpu``-marked test parametrized with ``device="cuda"`` needs torch's CUDA: skip it
    without one (fail under ``LRGEN_REQUIRE_GPU=1``) before it touches the device. Other
    ``gpu`` tests (Keras's backends) decide in their body which GPU they need."""
    callspec = getattr(item, "callspec", None)
    if item.get_closest_marker("gpu") and callspec and callspec.params.get("device") == "cuda":
        skip_without_gpu(cuda_available(), "a CUDA device (torch.cuda.is_available())")
