"""The trainer interface: a Runner trains a set of trials ("members") on one device."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any, Protocol

import torch

from sweep.space import TrialConfig

# Largest (members x rows x width) activation an evaluation pass builds at once, on the
# CPU (where a larger chunk gains nothing) and at least on a GPU. A GPU's is sized to its
# free memory instead: the ``EVAL_LIVE`` float32 tensors of that size an evaluation holds
# at once (a layer's pre-activation, its activation and the next layer's, the output)
# take at most ``1 / EVAL_SHARE`` of it, up to ``EVAL_ELEMENTS_MAX`` elements. At K = 512
# and width 1024 on a GPU with 130 GB free that is 248 rows a chunk, not the CPU's 8.
EVAL_ELEMENTS = 1 << 22
EVAL_ELEMENTS_MAX = 1 << 28
EVAL_LIVE = 4
EVAL_SHARE = 64


def eval_elements(device_type: str, free_memory: int | None) -> int:
    """The evaluation chunk's element budget on a device of ``device_type`` (``cpu`` or
    ``cuda``) with ``free_memory`` bytes free."""
    if device_type != "cuda" or not free_memory:
        return EVAL_ELEMENTS
    fit = free_memory // (EVAL_SHARE * EVAL_LIVE * 4)
    return int(min(EVAL_ELEMENTS_MAX, max(EVAL_ELEMENTS, fit)))


@functools.lru_cache(maxsize=16)
def device_eval_elements(device: torch.device) -> int:
    """``eval_elements`` of ``device``, from the memory free when this process first asks
    (a worker: at its first evaluation, near what it reported when it started)."""
    if device.type != "cuda":
        return EVAL_ELEMENTS
    free, _total = torch.cuda.mem_get_info(device)
    return eval_elements("cuda", free)


def eval_rows(elements: int, members: int, width: int) -> int:
    """Rows an evaluation chunk takes: ``members`` x rows x ``width`` within ``elements``,
    and at least one."""
    return max(1, elements // (members * max(1, width)))


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
      * ``weights(positions)`` are those members' ``state_dict``s as plain ``sweep.model.MLP``s,
        on the CPU, read from the device with one copy whatever their number.
      * ``config(position)`` is that member's ``TrialConfig``.
    """

    numbers: list[int]
    batch_size: int
    device: torch.device

    def start_epoch(self, epoch: int) -> None: ...

    def batch_order(self, n: int) -> torch.Tensor: ...

    def step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor: ...

    def predict(self, x: torch.Tensor) -> torch.Tensor: ...

    def drop(self, positions: list[int]) -> None: ...

    def weights(self, positions: Sequence[int]) -> list[dict[str, Any]]: ...

    def config(self, position: int) -> TrialConfig: ...

    def n_params(self, position: int) -> int: ...

    def eval_chunk(self) -> int: ...
