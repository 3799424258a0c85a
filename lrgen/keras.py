"""Keras 3 schedules straight from a spec, no build step: ``lrgen.keras.schedule(...)``.

Each function takes a spec file path (or a loaded :class:`lrgen.ir.Spec`) and a schedule name,
and returns the object of the module ``lrgen build`` would write (the same text, compiled in
memory by :mod:`lrgen.runtime`; docs/runtime.md). Nothing here imports keras: the generated
module does, when it is first compiled, so set ``KERAS_BACKEND`` before the first call.
"""

from __future__ import annotations

import types
from typing import Any

from lrgen import runtime
from lrgen.runtime import SpecLike

__all__ = ["module", "schedule", "schedule_class"]


def module(spec: SpecLike) -> types.ModuleType:
    """The whole generated ``STEM_keras`` module (its classes registered with
    ``keras.saving.register_keras_serializable(package="lrgen.STEM")``, as the built file's)."""
    return runtime.module(spec, "keras")


def schedule_class(spec: SpecLike, name: str) -> type:
    """Schedule ``name``'s class (``warmup_cosine`` -> ``WarmupCosine``): a
    ``keras.optimizers.schedules.LearningRateSchedule``, or for ReduceLROnPlateau a
    ``keras.callbacks.Callback``."""
    cls: type = runtime.lookup(spec, "keras", name, "class")
    return cls


def schedule(spec: SpecLike, name: str, **params: Any) -> Any:
    """``WarmupCosine(**params)``: the schedule, ready for ``learning_rate=``; ``params`` are
    the spec's params, as keyword arguments."""
    return schedule_class(spec, name)(**params)
