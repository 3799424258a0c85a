"""Shared test configuration: Hypothesis profiles, the Keras backend, the devices present.

Profiles (choose with LRGEN_HYPOTHESIS_PROFILE, default ``dev``):
  ci        derandomized, no deadline, bounded example counts: the whole suite in ~15 min on 2 cores
  dev       random, moderate counts, for local work
  thorough  ten times ``dev``'s examples, for a night run
"""

from __future__ import annotations

import os

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


def torch_devices() -> list[str]:
    """CPU always; CUDA when present. LRGEN_REQUIRE_GPU=1 turns a missing GPU into a failure."""
    devices = ["cpu"]
    try:
        import torch

        if torch.cuda.is_available():
            devices.append("cuda")
    except ImportError:
        pass
    return devices


REQUIRE_GPU = os.environ.get("LRGEN_REQUIRE_GPU") == "1"


def skip_without_gpu(present: bool, what: str = "a CUDA device") -> None:
    if present:
        return
    if REQUIRE_GPU:
        pytest.fail(f"LRGEN_REQUIRE_GPU=1 but {what} is not available")
    pytest.skip(f"needs {what}")
