"""What goes into training and what comes out of it (picklable, sent between processes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sweep.space import TrialConfig


@dataclass(frozen=True)
class TrialTask:
    """One trial to train: its number in the study, its config and its seed."""

    number: int
    config: TrialConfig
    seed: int


@dataclass(frozen=True)
class TrainSettings:
    """What every trial of a study shares."""

    task: str  # binary | multiclass | regression
    epochs: int
    eval_every: int = 1
    keep_weights: bool = False  # send each completed trial's weights back with its result


@dataclass(frozen=True)
class EpochReport:
    """Validation metrics after an epoch, one per trial still training."""

    epoch: int
    values: dict[int, float]  # trial number -> validation metric
    train_loss: dict[int, float]  # trial number -> mean training loss of the epoch


Outcome = Literal["complete", "pruned", "failed"]


@dataclass(frozen=True)
class TrialResult:
    """How a trial ended.

    Attributes:
        number: The trial's number.
        outcome: complete, pruned (stopped by the pruner) or failed (diverged, raised...).
        value: The objective (last validation metric) for complete and pruned trials.
        reason: Why a trial failed or was pruned.
        epochs_run: Epochs trained.
        metrics: Final metrics: train_loss, train_/val_/test_ accuracy or mse; for a
            complete trial also latency_ms, latency_batch_ms and latency_measure_seconds
            (``sweep.train._latency``).
        train_seconds: Wall time from the start of its training to its end.
        n_params: Parameters in the trial's network.
        pack_size: Trials trained together with it (1 when alone).
        weights: The trained ``state_dict`` serialised with ``torch.save``, if asked for.
    """

    number: int
    outcome: Outcome
    value: float | None = None
    reason: str | None = None
    epochs_run: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    train_seconds: float = 0.0
    n_params: int = 0
    pack_size: int = 1
    weights: bytes | None = None


@dataclass(frozen=True)
class Ended:
    """Trials that left training (complete, pruned or failed), with their results."""

    results: tuple[TrialResult, ...]
