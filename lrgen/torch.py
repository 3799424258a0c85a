"""PyTorch schedules straight from a spec, no build step: ``lrgen.torch.scheduler(...)``.

Each function takes a spec file path (or a loaded :class:`lrgen.ir.Spec`) and a schedule name,
and returns the object of the module ``lrgen build`` would write (the same text, compiled in
memory by :mod:`lrgen.runtime`; docs/runtime.md). Nothing here imports torch: the generated
module does, when it is first compiled.
"""

from __future__ import annotations

import types
from typing import Any

from lrgen import runtime
from lrgen.runtime import SpecLike

__all__ = ["function", "lr_lambda", "module", "scheduler", "scheduler_class", "tensor_function"]


def module(spec: SpecLike) -> types.ModuleType:
    """The whole generated ``STEM_torch`` module."""
    return runtime.module(spec, "torch")


def scheduler_class(spec: SpecLike, name: str) -> type:
    """Schedule ``name``'s scheduler class (``warmup_cosine`` -> ``WarmupCosine``)."""
    cls: type = runtime.lookup(spec, "torch", name, "class")
    return cls


def scheduler(spec: SpecLike, name: str, optimizer: Any, **params: Any) -> Any:
    """``WarmupCosine(optimizer, **params)``: the scheduler, for ``optimizer``; ``params`` are
    the spec's params (and ``last_epoch``), as keyword arguments."""
    return scheduler_class(spec, name)(optimizer, **params)


def function(spec: SpecLike, name: str) -> Any:
    """The pure function ``name(t, **params) -> float``."""
    return runtime.lookup(spec, "torch", name, "")


def lr_lambda(spec: SpecLike, name: str, optimizer: Any, **params: Any) -> Any:
    """``name_lambda(optimizer, **params)``: a ``torch.optim.lr_scheduler.LambdaLR``."""
    return runtime.lookup(spec, "torch", name, "_lambda")(optimizer, **params)


def tensor_function(spec: SpecLike, name: str) -> Any:
    """``name_tensor(t, **params, dtype=None) -> torch.Tensor``: rates at a tensor of steps."""
    return runtime.lookup(spec, "torch", name, "_tensor")
