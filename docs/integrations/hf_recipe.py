"""The Hugging Face Trainer recipes of docs/integrations.md, as the tests run them.

tests/test_integrations.py trains with ``transformers.Trainer`` and checks the logged
learning rate of every optimizer step against ``lrgen.evaluate`` of the spec. Paths are
relative to the repository root.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import Trainer, TrainingArguments

import lrgen.torch

SPEC = "docs/integrations/schedules.yaml"

# or, after `lrgen build docs/integrations/schedules.yaml --out gen`:
#   from gen.schedules_torch import WarmupCosine
WarmupCosine = lrgen.torch.scheduler_class(SPEC, "warmup_cosine")


class Regression(torch.nn.Module):
    """A plain ``nn.Module`` whose forward returns the loss, as the Trainer expects."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        prediction = self.layer(x)
        return {"loss": torch.nn.functional.mse_loss(prediction, labels), "logits": prediction}


def dataset(n: int = 64, seed: int = 0) -> list[dict[str, torch.Tensor]]:
    """``n`` random examples ``{"x": ..., "labels": ...}``."""
    x = torch.randn(n, 4, generator=torch.Generator().manual_seed(seed))
    return [{"x": row, "labels": row.sum(dim=0, keepdim=True)} for row in x]


def train(args: TrainingArguments, resume_from_checkpoint: str | None = None) -> Trainer:
    model = Regression()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)  # the spec's lr
    scheduler = WarmupCosine(optimizer, total_steps=args.max_steps, warmup_steps=5)
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=dataset(),
        optimizers=(optimizer, scheduler),
    )
    trainer.train(resume_from_checkpoint=resume_from_checkpoint)
    return trainer


class LrgenTrainer(Trainer):
    """The Trainer builds the optimizer (``args.learning_rate``) and asks for a scheduler
    with the number of optimizer updates it will make, epochs and accumulation included."""

    def create_scheduler(
        self, num_training_steps: int, optimizer: torch.optim.Optimizer | None = None
    ) -> Any:
        if self.lr_scheduler is None:
            self.lr_scheduler = WarmupCosine(
                optimizer or self.optimizer, total_steps=num_training_steps, warmup_steps=5
            )
        return self.lr_scheduler
