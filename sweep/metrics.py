"""The objective: a metric that does not depend on the training loss.

Classification trials are selected on validation accuracy (maximised) and
regression trials on validation MSE (minimised), so trials trained with BCE,
MSE, quartic or cross-entropy compare fairly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch loads only when a metric is computed: reading results needs none
    import torch

__all__ = ["Objective", "objective_for", "member_metric", "chunked_metric"]


@dataclass(frozen=True)
class Objective:
    """The metric a study optimises."""

    name: str  # "accuracy" or "mse"
    direction: str  # "maximize" or "minimize"

    def better(self, a: float, b: float) -> bool:
        """Whether value ``a`` beats ``b``."""
        return a > b if self.direction == "maximize" else a < b


def objective_for(task: str) -> Objective:
    if task == "regression":
        return Objective("mse", "minimize")
    return Objective("accuracy", "maximize")


def _metric_sums(out: torch.Tensor, target: torch.Tensor, task: str) -> torch.Tensor:
    """Per member: correct predictions (classification) or summed squared error (regression)."""
    import torch

    if task == "binary":
        return ((out > 0).to(target.dtype) == target).flatten(1).sum(dim=1).to(torch.float64)
    if task == "multiclass":
        return (out.argmax(dim=-1) == target).flatten(1).sum(dim=1).to(torch.float64)
    return (out - target).pow(2).flatten(1).to(torch.float64).sum(dim=1)


def member_metric(out: torch.Tensor, target: torch.Tensor, task: str) -> torch.Tensor:
    """The objective metric per member: (K, N, n_outputs) outputs -> (K,) values."""
    per_member = target[0].numel()
    return _metric_sums(out, target, task) / per_member


def chunked_metric(
    predict: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    task: str,
    chunk: int,
) -> torch.Tensor:
    """The metric of ``predict`` (N, D) -> (K, N, o) over ``x``, ``chunk`` rows at a time.

    Sums are exact counts for accuracy (and float64 for MSE), so the result does not
    depend on the chunk size beyond float32 rounding of the outputs themselves.
    """
    if len(x) == 0:
        raise ValueError("chunked_metric: no rows to evaluate")
    if chunk < 1:
        raise ValueError(f"chunked_metric: chunk must be at least 1, got {chunk}")

    def sums(start: int) -> torch.Tensor:
        out = predict(x[start : start + chunk])
        target = (
            y[start : start + chunk]
            .unsqueeze(0)
            .expand(out.shape[0], *y[start : start + chunk].shape)
        )
        return _metric_sums(out, target, task)

    total = sums(0)
    for start in range(chunk, len(x), chunk):
        total = total + sums(start)
    return total / y.numel()
