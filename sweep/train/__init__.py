"""Training: a pack of trials at once (``StackedRunner``, also for a pack of one), or a
trial whose optimizer has no stacked form alone (``ModuleRunner``, an ``nn.Module`` and
a ``torch.optim`` optimizer), both driven by the same epoch loop (``train``)."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from sweep.config import PACKABLE_OPTIMIZERS
from sweep.train._loop import TrainGen, train
from sweep.train._module import ModuleRunner
from sweep.train._runner import Runner
from sweep.train._stacked import StackedRunner
from sweep.train._types import Ended, EpochReport, TrainSettings, TrialResult, TrialTask

__all__ = [
    "Ended",
    "EpochReport",
    "ModuleRunner",
    "Runner",
    "StackedRunner",
    "TrainGen",
    "TrainSettings",
    "TrialResult",
    "TrialTask",
    "make_runner",
    "packable",
    "train",
]


def packable(task: TrialTask) -> bool:
    """Whether a trial can train inside a pack (its optimizer has a stacked form)."""
    return task.config.optimizer in PACKABLE_OPTIMIZERS


def make_runner(
    tasks: Sequence[TrialTask],
    n_inputs: int,
    n_outputs: int,
    settings: TrainSettings,
    device: torch.device,
) -> Runner:
    """A StackedRunner for packable trials, one or several; a ModuleRunner for a trial
    alone whose optimizer has no stacked form.

    A pack of one trains the same as the trial alone (``tests/train/test_packed.py``)
    and its steps are cheaper (one flat buffer, a few elementwise operations per
    optimizer step; ``bench/steps.py`` measures both).
    """
    if len(tasks) == 1 and not packable(tasks[0]):
        return ModuleRunner(tasks[0], n_inputs, n_outputs, settings, device)
    return StackedRunner(tasks, n_inputs, n_outputs, settings, device)
