"""Inference latency of trained trials: how long one network takes to predict a batch.

Every complete trial is timed after training, on the device it trained on, as its own
plain ``sweep.model.MLP`` in eval mode without gradients (a pack's member too, not the
pack: a network is deployed alone, and a pack's batched matmuls over padded widths say
nothing about one network's speed). Two figures: one row, the serving case, and one
batch of the trial's batch size. Each is the median of ``REPEATS`` timed calls after
``WARMUP`` untimed ones (the first calls allocate and pick kernels); on a GPU the device
is synchronised before and after each call, so a call's time is its kernels' too.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from sweep.model import build_model
from sweep.space import TrialConfig

# Few enough that timing stays a small share of a study (bench/latency.py measures it),
# enough that the median is not one call's noise.
WARMUP = 2
REPEATS = 7

# The attributes ``Latency.metrics`` gives a complete trial: timings, not results, so
# they differ between two runs of the same trial.
LATENCY_KEYS = ("latency_ms", "latency_batch_ms", "latency_measure_seconds")


def median_ms(
    model: nn.Module, x: torch.Tensor, *, warmup: int = WARMUP, repeats: int = REPEATS
) -> float:
    """The median wall time, in milliseconds, of ``model(x)`` over ``repeats`` calls
    after ``warmup`` untimed ones, without gradients; on CUDA each call is bracketed by
    ``torch.cuda.synchronize`` so that it counts the kernels, not just their launch."""
    cuda = x.device.type == "cuda"
    times = []
    with torch.no_grad():
        for _ in range(warmup):
            model(x)
        for _ in range(repeats):
            if cuda:
                torch.cuda.synchronize(x.device)
            start = time.perf_counter()
            model(x)
            if cuda:
                torch.cuda.synchronize(x.device)
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def _rounded(ms: float) -> float:
    """Three significant figures: the timing noise is larger than the fourth."""
    return float(f"{ms:.3g}")


@dataclass(frozen=True)
class Latency:
    """A trained network's latency, and what measuring it cost.

    Attributes:
        one_ms: Median time to predict one row, in milliseconds.
        batch_ms: Median time to predict one batch of the trial's batch size.
        seconds: Wall time the measurement took (building the network included).
    """

    one_ms: float
    batch_ms: float
    seconds: float

    def metrics(self) -> dict[str, float]:
        """The trial attributes: ``latency_ms`` (one row), ``latency_batch_ms`` and
        ``latency_measure_seconds`` (the measurement's own cost, which
        ``bench/latency.py`` sums)."""
        values = (_rounded(self.one_ms), _rounded(self.batch_ms), round(self.seconds, 6))
        return dict(zip(LATENCY_KEYS, values))


def measure_latency(
    config: TrialConfig, state: dict[str, Any], rows: torch.Tensor, n_outputs: int
) -> Latency:
    """Time the trial of ``config`` with trained weights ``state`` (a ``state_dict``) on
    ``rows``' device: one row, and one batch of ``config.batch_size`` rows (``rows``
    repeated where it has fewer)."""
    start = time.perf_counter()
    model = build_model(config, rows.shape[1], n_outputs, seed=0)  # weights replaced
    model.load_state_dict(state)
    model = model.to(rows.device).eval()
    index = torch.arange(config.batch_size, device=rows.device) % len(rows)
    one_ms = median_ms(model, rows[:1])
    batch_ms = median_ms(model, rows[index])
    return Latency(one_ms, batch_ms, time.perf_counter() - start)
