"""One trial alone: an ``nn.Module`` MLP and a ``torch.optim`` optimizer.

This is the tutorial's loop, written once; it takes every optimizer sweep
offers, L-BFGS included, and is the reference the packed trainer must match.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import torch

from sweep import draws
from sweep.losses import member_loss
from sweep.model import build_model
from sweep.optim import build_optimizer, lr_at
from sweep.space import TrialConfig
from sweep.train._runner import device_eval_elements, eval_rows
from sweep.train._types import TrainSettings, TrialTask


class ModuleRunner:
    """A Runner with a single member (see ``sweep.train._runner.Runner``)."""

    def __init__(
        self,
        task: TrialTask,
        n_inputs: int,
        n_outputs: int,
        settings: TrainSettings,
        device: torch.device,
    ) -> None:
        self.task = task
        self.settings = settings
        self.device = device
        self.numbers = [task.number]
        self.batch_size = task.config.batch_size
        self.model = build_model(task.config, n_inputs, n_outputs, task.seed).to(device)
        self.optimizer = build_optimizer(task.config, self.model.parameters())
        self._order = draws.keys_tensor([draws.stream_key(task.seed, draws.ORDER)], 2, device)
        self.model.dropout.key = draws.stream_key(task.seed, draws.DROPOUT)
        self._epochs = 0  # batch orders drawn
        self._steps = 0  # steps taken: the dropout masks' counter
        self._lbfgs = task.config.optimizer == "lbfgs"

    def start_epoch(self, epoch: int) -> None:
        lr = lr_at(self.task.config, epoch, self.settings.epochs)
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def batch_order(self, n: int) -> torch.Tensor:
        self._epochs += 1
        return draws.batch_order(self._order, self._epochs - 1, n)

    def step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        self.model.train()
        self.model.dropout.step = self._steps
        self._steps += 1
        config, task = self.task.config, self.settings.task

        def closure() -> torch.Tensor:
            self.optimizer.zero_grad()  # 1. zero the gradients
            out = self.model(x[0])  # 2. forward
            loss = member_loss(config.loss, out.unsqueeze(0), y, task, config.reduction)  # 3. loss
            loss.sum().backward()  # 4. backward
            return loss

        if self._lbfgs:
            # L-BFGS re-evaluates the closure during its line search; it returns the first loss.
            first = cast(torch.Tensor, self.optimizer.step(lambda: closure().sum()))  # type: ignore[arg-type,return-value]
            return first.detach().reshape(1)
        loss = closure()
        self.optimizer.step()  # 5. optimizer step
        return loss.detach()

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        self.model.eval()
        return self.model(x).unsqueeze(0)

    def drop(self, positions: list[int]) -> None:
        if positions:
            self.numbers = []

    def weights(self, positions: Sequence[int]) -> list[dict[str, Any]]:
        state = {k: v.detach().to("cpu").clone() for k, v in self.model.state_dict().items()}
        return [state] if positions else []

    def config(self, position: int) -> TrialConfig:
        return self.task.config

    def n_params(self, position: int) -> int:
        return self.model.layout.n_parameters

    def eval_chunk(self) -> int:
        return eval_rows(device_eval_elements(self.device), 1, max(self.task.config.widths))
