"""The trainer interface: a Runner trains a set of trials ("members") on one device."""

from __future__ import annotations

from typing import Any, Protocol

import torch

# Largest (members x rows x width) activation an evaluation pass builds at once.
EVAL_ELEMENTS = 1 << 22


class Runner(Protocol):
    """Trains K trials in lock-step, one optimizer step per batch for all of them.

    Contract:
      * ``numbers`` lists the trial numbers still training, in member order; every
        tensor below has that order on its leading axis.
      * ``batch_size`` is shared by all members.
      * ``start_epoch(e)`` sets each member's learning rate for 0-based epoch ``e``.
      * ``batch_order(n)`` returns a (K, n) permutation per member for the next epoch,
        that member's own draw (so a member's batches do not depend on the others).
      * ``step(x, y)`` takes (K, B, D) inputs and matching targets, does the five
        steps (zero grads, forward, loss, backward, optimizer step) for every member
        and returns the K detached losses.
      * ``predict(x)`` maps (N, D) to (K, N, n_outputs) in eval mode without grads.
      * ``drop(positions)`` removes members; the others continue exactly as before.
      * ``weights(position)`` is that member's ``state_dict`` as a plain ``sweep.model.MLP``.
    """

    numbers: list[int]
    batch_size: int
    device: torch.device

    def start_epoch(self, epoch: int) -> None: ...

    def batch_order(self, n: int) -> torch.Tensor: ...

    def step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor: ...

    def predict(self, x: torch.Tensor) -> torch.Tensor: ...

    def drop(self, positions: list[int]) -> None: ...

    def weights(self, position: int) -> dict[str, Any]: ...

    def n_params(self, position: int) -> int: ...

    def eval_chunk(self) -> int: ...
