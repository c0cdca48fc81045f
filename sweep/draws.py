"""Counter-based draws: a trial's dropout masks and batch order as a hash of its key, a
counter (the step and layer, or the epoch) and each element's index.

A pack draws every member's numbers in one fixed set of tensor operations, however
many members it has, and a trial alone draws the same numbers, so a member trains
exactly as it would alone. Integers live in int64 tensors with values below 2**32 and
are multiplied only by constants below 2**31, so no product overflows: the same bits on
every device and in every vector lane.

The hash is Wellons' ``lowbias32`` finaliser shape (xor-shift, multiply, xor-shift,
multiply, xor-shift) with 31-bit multipliers; its input is the element's index spread
by an odd multiplier and xored with a per-member base, itself the hash of the member's
key and the counter.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

M32 = 0xFFFFFFFF
_MUL1 = 0x7FEB352D  # both multipliers below 2**31 (odd), so x * m < 2**63 for x < 2**32
_MUL2 = 0x5BD1E995
_SPREAD = 0x2545F491  # odd: index -> index * _SPREAD mod 2**32 is a bijection
_STEP = 0x61C88647  # counters: step * _STEP + layer * _LAYER (mod 2**32)
_LAYER = 0x3C6EF372
_SEED = 1_000_003  # a trial's streams: (seed * _SEED + stream * 7_919) mod 2**63 - 1

ORDER, DROPOUT = 1, 2  # a trial's two streams


def mix32(x: torch.Tensor) -> torch.Tensor:
    """The 32-bit hash of each element of an int64 tensor of values below 2**32."""
    x = x ^ (x >> 16)
    x = (x * _MUL1) & M32
    x = x ^ (x >> 15)
    x = (x * _MUL2) & M32
    return x ^ (x >> 16)


def _mix32_int(x: int) -> int:
    x ^= x >> 16
    x = (x * _MUL1) & M32
    x ^= x >> 15
    x = (x * _MUL2) & M32
    return x ^ (x >> 16)


def stream_key(seed: int, stream: int) -> int:
    """A trial's 32-bit key for one of its streams (``ORDER``, ``DROPOUT``)."""
    s = (seed * _SEED + stream * 7_919) % (2**63 - 1)
    return _mix32_int((s ^ (s >> 32)) & M32)


def keys_tensor(keys: Sequence[int], dims: int, device: torch.device) -> torch.Tensor:
    """Members' keys as a (K, 1, ...) int64 tensor of ``dims`` dimensions."""
    return torch.tensor(list(keys), dtype=torch.int64, device=device).view(-1, *[1] * (dims - 1))


def spread(index: torch.Tensor) -> torch.Tensor:
    """Element indices (int64) as the hash takes them."""
    return (index * _SPREAD) & M32


def _draw(keys: torch.Tensor, counter: int, spread_index: torch.Tensor) -> torch.Tensor:
    base = mix32(keys ^ (counter & M32))
    return mix32(spread_index ^ base)


def layer_offsets(layers: Sequence[int], dims: int, device: torch.device) -> torch.Tensor:
    """The layers' parts of their dropout counters, to broadcast against keys (K, 1, ...)
    of ``dims`` dimensions with a layer axis after the first: (1, L, 1, ...)."""
    offsets = torch.tensor([layer * _LAYER for layer in layers], device=device)
    return offsets.view(1, len(layers), *[1] * (dims - 1))


def layer_bases(keys: torch.Tensor, step: int, offsets: torch.Tensor) -> torch.Tensor:
    """The bases of several layers' dropout draws at ``step``, in one hash: (K, L, 1, ...)
    from keys (K, 1, ...) and the layers' ``layer_offsets``. Layer i's mask is
    ``mask_of(bases[:, i], ...)``, the one ``dropout_mask`` gives. On the device: the
    step enters as a number, so nothing is copied to it each step."""
    return mix32(keys.unsqueeze(1) ^ ((offsets + step * _STEP) & M32))


def mask_of(
    base: torch.Tensor, index: torch.Tensor, thresholds: torch.Tensor, scales: torch.Tensor
) -> torch.Tensor:
    """The dropout multiplier of one layer from its draws' ``base`` (``layer_bases``)."""
    return torch.where(mix32(index ^ base) >= thresholds, scales, 0.0)


def batch_order(keys: torch.Tensor, epoch: int, n: int) -> torch.Tensor:
    """Each member's permutation of ``range(n)`` for ``epoch``: (K, n), from keys (K, 1)."""
    index = spread(torch.arange(n, device=keys.device).unsqueeze(0))
    return torch.argsort(_draw(keys, epoch * _STEP, index), dim=1, stable=True)


def unit_index(rows: int, widths: torch.Tensor, width: int) -> torch.Tensor:
    """Spread indices of a (K, rows, width) activation whose member m has ``widths[m]``
    units (a (K, 1, 1) int64 tensor): unit j of row b is element ``b * widths[m] + j``,
    as in that member's own (rows, widths[m]) activation (padding units repeat indices;
    they are zero whatever their draw)."""
    rows_t = torch.arange(rows, device=widths.device).view(1, rows, 1)
    return spread(rows_t * widths + torch.arange(width, device=widths.device).view(1, 1, width))


def threshold(p: float) -> int:
    """The draw at and above which a unit is kept with probability 1 - ``p``."""
    return min(M32 + 1, int(-(-p * 2**32 // 1)))


def dropout_mask(
    keys: torch.Tensor,
    step: int,
    layer: int,
    index: torch.Tensor,
    thresholds: torch.Tensor,
    scales: torch.Tensor,
) -> torch.Tensor:
    """Inverted dropout's multiplier for one layer at one step: ``scales`` (1 / (1 - p))
    where a unit is kept, 0 where it is dropped. ``keys``, ``thresholds`` (int64) and
    ``scales`` (float) are per member, broadcast against ``index`` (``unit_index``)."""
    bases = layer_bases(keys, step, layer_offsets([layer], keys.dim(), keys.device))
    return mask_of(bases[:, 0], index, thresholds, scales)
