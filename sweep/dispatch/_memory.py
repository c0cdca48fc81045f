"""Device memory: what a slot's device has free, and what a pack of K trials needs.

The coordinator never opens a CUDA context of its own (a context holds several hundred MB
of the device for the whole sweep, and on a GPU in exclusive-process mode it would keep
the workers off the device): each worker measures its device when it starts, after
opening it, and reports the figure in its ``Hello``; a sweep's single in-process slot
measures its own device the same way. Pack sizes are worked out from those reports.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from sweep.train._runner import EVAL_LIVE, eval_elements

# What one CUDA context holds on its device (the runtime, cuBLAS's workspace and the
# loaded kernels): several hundred MB, more with every library torch loads into it.
CUDA_CONTEXT_BYTES = 768 << 20

# Bytes per parameter of a member: itself, its gradient, up to two optimizer states and
# three reused temporaries of the optimizer step (float32).
PARAMETER_COPIES = 7
# Float32 values per hidden unit per batch row kept for backward or made by it.
ACTIVATION_COPIES = 12
# (K, n_train) int64 batch orders alive at once: the epoch's order, and while the next
# one is drawn its hashed draws and argsort's result.
ORDER_COPIES = 3
FLOAT32 = 4
INT64 = 8

# The share of the free memory a device's slots may fill with packs: the rest is left to
# the caching allocator's rounding and fragmentation. On the CPU a quarter of the
# available RAM, at most 2 GiB a slot.
_CUDA_SHARE = 0.5
_CPU_SHARE = 0.25
_CPU_SLOT_MAX = 2 << 30


@dataclass(frozen=True)
class DeviceMemory:
    """A device's free and total memory in bytes, as one process measured them."""

    free: int
    total: int


def measure_memory(device: torch.device) -> DeviceMemory:
    """The memory of ``device`` now. On CUDA this opens the device (call it only in the
    process that trains on it); on the CPU the available and the physical RAM."""
    if device.type == "cuda":
        free, total = torch.cuda.mem_get_info(device)
        return DeviceMemory(int(free), int(total))
    try:
        page = os.sysconf("SC_PAGE_SIZE")
        return DeviceMemory(
            os.sysconf("SC_AVPHYS_PAGES") * page, os.sysconf("SC_PHYS_PAGES") * page
        )
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not Linux
        return DeviceMemory(4 << 30, 8 << 30)


def slot_budget(device: str, memory: DeviceMemory, slots_on_device: int) -> float:
    """Bytes one of ``slots_on_device`` slots may use, from a figure its device reported:
    half the free GPU memory shared by the device's slots, or a quarter of the available
    RAM (at most 2 GiB a slot)."""
    if device.startswith("cuda"):
        return _CUDA_SHARE * memory.free / slots_on_device
    return min(_CPU_SLOT_MAX, _CPU_SHARE * memory.free / slots_on_device)


@dataclass(frozen=True)
class PackMemory:
    """Bytes a slot needs to train a pack of K copies of one network, term by term.

    Per member: ``parameters`` (weights, gradients, optimizer state and the step's
    temporaries), ``activations`` (one batch's, kept for backward), ``batch`` (the batch
    gathered from the data) and ``batch_order`` (its rows of the (K, n_train) order).
    Per worker, once: ``data`` (its resident copy of the data set) and ``context`` (a
    CUDA context; 0 on the CPU). Per pack: the evaluation buffers, ``EVAL_LIVE`` float32
    tensors of ``eval_elements`` elements, or of K x ``width`` where one row of every
    member is more than that.
    """

    parameters: float
    activations: float
    batch: float
    batch_order: float
    data: float
    context: float
    eval_elements: int
    width: int

    def per_member(self) -> float:
        return self.parameters + self.activations + self.batch + self.batch_order

    def evaluation(self, k: int) -> float:
        return EVAL_LIVE * FLOAT32 * max(self.eval_elements, k * self.width)

    def total(self, k: int) -> float:
        """Everything a slot holds for a pack of ``k``."""
        return self.data + self.context + self.evaluation(k) + k * self.per_member()

    def largest_pack(self, budget: float) -> int:
        """The largest K whose ``total`` fits ``budget`` (0 when not even one fits)."""
        # total(k) <= budget holds where it holds with each side of the evaluation's max.
        room = budget - self.data - self.context
        by_rows = (room - EVAL_LIVE * FLOAT32 * self.eval_elements) // self.per_member()
        by_width = room // (self.per_member() + EVAL_LIVE * FLOAT32 * self.width)
        return int(max(0.0, min(by_rows, by_width)))


def pack_memory(
    *,
    params: float,
    units: float,
    width: int,
    batch: int,
    n_inputs: int,
    n_outputs: int,
    n_train: int,
    data_bytes: int,
    device: str,
    free_memory: int | None,
) -> PackMemory:
    """The terms of ``PackMemory`` for a network of ``params`` parameters, ``units`` hidden
    units (``width`` the widest layer) trained in batches of ``batch`` rows on ``n_train``
    rows, with ``data_bytes`` of data resident on ``device``."""
    rows = min(batch, n_train)
    cuda = device.startswith("cuda")
    return PackMemory(
        parameters=FLOAT32 * PARAMETER_COPIES * params,
        activations=FLOAT32 * ACTIVATION_COPIES * rows * units,
        batch=FLOAT32 * rows * (n_inputs + n_outputs),
        batch_order=INT64 * ORDER_COPIES * n_train,
        data=float(data_bytes),
        context=float(CUDA_CONTEXT_BYTES if cuda else 0),
        eval_elements=eval_elements("cuda" if cuda else "cpu", free_memory),
        width=width,
    )


__all__ = [
    "CUDA_CONTEXT_BYTES",
    "DeviceMemory",
    "PackMemory",
    "measure_memory",
    "pack_memory",
    "slot_budget",
]
