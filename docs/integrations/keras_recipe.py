"""The Keras side of docs/integrations.md: a Hugging Face TrainingArguments schedule, ported.

tests/test_integrations.py compares this optimizer's schedule with the Trainer's rates. Set
KERAS_BACKEND before keras is imported, as always. Paths are relative to the repository root.
"""

from __future__ import annotations

from typing import Any

import keras

import lrgen.keras


def optimizer(num_training_steps: int) -> Any:
    # TrainingArguments(learning_rate=5e-5, lr_scheduler_type="cosine", warmup_steps=0.06,
    #                   max_steps=num_training_steps), on Keras:
    schedule = lrgen.keras.schedule(
        "docs/integrations/transformers.yaml",
        "hf_cosine",
        num_training_steps=num_training_steps,
    )
    # TrainingArguments' defaults: weight_decay 0, adam_epsilon 1e-8, max_grad_norm 1 (Keras's
    # AdamW defaults to weight_decay 0.004, epsilon 1e-7 and no clipping)
    return keras.optimizers.AdamW(
        learning_rate=schedule, weight_decay=0.0, epsilon=1e-8, global_clipnorm=1.0
    )


@keras.saving.register_keras_serializable(package="lrgen.docs")
class PerUpdate(keras.optimizers.schedules.LearningRateSchedule):
    """``schedule`` at the number of updates, for an optimizer built with
    ``gradient_accumulation_steps=accumulation``: Keras calls a schedule with its count of
    batches, and makes update ``j`` at batch ``j * accumulation + accumulation - 1``."""

    def __init__(self, schedule: Any, accumulation: int) -> None:
        self.schedule = schedule
        self.accumulation = accumulation

    def __call__(self, step: Any) -> Any:
        return self.schedule(keras.ops.floor_divide(step, self.accumulation))

    def get_config(self) -> dict[str, Any]:
        return {
            "schedule": keras.saving.serialize_keras_object(self.schedule),
            "accumulation": self.accumulation,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> PerUpdate:
        schedule = keras.saving.deserialize_keras_object(config["schedule"])
        return cls(schedule, config["accumulation"])
