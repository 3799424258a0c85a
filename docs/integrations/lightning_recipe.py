"""The PyTorch Lightning recipes of docs/integrations.md, as the tests run them.

Each ``configure_optimizers`` below is shown on the page; tests/test_integrations.py trains
these modules with ``lightning.Trainer.fit`` and checks the optimizer's lr at every step
against ``lrgen.evaluate`` of the spec. Paths are relative to the repository root.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch

import lrgen.torch

SPEC = "docs/integrations/schedules.yaml"

# or, after `lrgen build docs/integrations/schedules.yaml --out gen`:
#   from gen.schedules_torch import Plateau, StepDecay, WarmupCosine
WarmupCosine = lrgen.torch.scheduler_class(SPEC, "warmup_cosine")
StepDecay = lrgen.torch.scheduler_class(SPEC, "step_decay")
Plateau = lrgen.torch.scheduler_class(SPEC, "plateau")


class Regression(L.LightningModule):
    """A linear model on (x, y) batches; the subclasses below differ in their schedule."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x, y = batch
        return torch.nn.functional.mse_loss(self.layer(x), y)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.layer(x), y))


class PerStep(Regression):
    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.AdamW(self.parameters(), lr=1e-3)  # the spec's lr
        scheduler = WarmupCosine(
            optimizer,
            total_steps=self.trainer.estimated_stepping_batches,  # optimizer updates
            warmup_steps=5,
        )
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step", "frequency": 1},
        }


class PerEpoch(Regression):
    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.SGD(self.parameters(), lr=0.1)  # the spec's lr
        scheduler = StepDecay(optimizer)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "epoch", "frequency": 1},
        }


class OnPlateau(Regression):
    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.SGD(self.parameters(), lr=0.01)  # the spec's lr
        scheduler = Plateau(optimizer)  # a torch.optim.lr_scheduler.ReduceLROnPlateau
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "monitor": "val_loss", "interval": "epoch"},
        }


def data(n: int = 32, batch_size: int = 4, seed: int = 0) -> torch.utils.data.DataLoader:
    """``n`` random (x, y) pairs, ``n / batch_size`` batches per epoch, in a fixed order."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=generator)
    y = x.sum(dim=1, keepdim=True)
    dataset = torch.utils.data.TensorDataset(x, y)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size)
