"""optax schedules straight from a spec, no build step: ``lrgen.optax.schedule(...)``.

Takes a spec file path (or a loaded :class:`lrgen.ir.Spec`) and a schedule name, and returns
the object of the module ``lrgen build --target optax`` would write (the same text, compiled in
memory by :mod:`lrgen.runtime`; docs/runtime.md). Nothing here imports jax: the generated module
does, when it is first compiled.
"""

from __future__ import annotations

import types
from typing import Any

from lrgen import runtime
from lrgen.runtime import SpecLike

__all__ = ["module", "schedule"]


def module(spec: SpecLike) -> types.ModuleType:
    """The whole generated ``STEM_optax`` module."""
    return runtime.module(spec, "optax")


def schedule(spec: SpecLike, name: str, **params: Any) -> Any:
    """``name(**params)``: an ``optax.Schedule`` (a function of the step count) for schedule
    ``name``; ``params`` are the spec's params, as keyword arguments. ReduceLROnPlateau
    schedules are not generated for optax (a warning says so)."""
    return runtime.lookup(spec, "optax", name, "")(**params)
