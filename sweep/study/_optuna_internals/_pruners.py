"""Optuna's percentile (and median) pruner, with the percentile at a step kept while the
study it judges against does not change.

For every decision Optuna's ``PercentilePruner`` lists the study's complete trials and
takes the percentile of their values at the trial's step: a pass over every complete
trial for every trial and epoch. The coordinator judges against a
:class:`sweep.study.StudyView`, which changes only when a trial finishes or the study is
read again, and a pack reports many trials at the same step. :class:`PercentilePruner`
decides exactly as Optuna's does (``tests/study/test_pruners.py`` runs both side by side),
but against a view (a storage with a ``version``) it works out the percentile at a step
once per version. Against any other study it is Optuna's pruner. It uses three of
Optuna's private helpers; only used where :data:`PRIVATE` is true.
"""

from __future__ import annotations

import math
from typing import Any

import optuna
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from sweep.study._optuna_internals._check import percentile_module as _optuna_percentile
from sweep.study._optuna_internals._handles import storage_of

__all__ = ["MedianPruner", "PercentilePruner"]


class PercentilePruner(optuna.pruners.PercentilePruner):
    """:class:`optuna.pruners.PercentilePruner` (same arguments, same decisions)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (the view, its version, step -> percentile of complete trials' values there)
        self._kept: tuple[Any, int, dict[int, float]] | None = None

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        view = storage_of(study)
        version = getattr(view, "version", None)
        if version is None:
            return super().prune(study, trial)
        # Optuna's PercentilePruner.prune, with the percentile kept per version.
        completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if not completed or len(completed) < self._n_startup_trials:
            return False
        step = trial.last_step
        if step is None or step < self._n_warmup_steps:
            return False
        if not _optuna_percentile._is_first_in_interval_step(
            step, trial.intermediate_values.keys(), self._n_warmup_steps, self._interval_steps
        ):
            return False
        direction = study.direction
        best = _optuna_percentile._get_best_intermediate_result_over_steps(trial, direction)
        if math.isnan(best):
            return True
        p = self._percentile_at(view, version, completed, direction, step)
        if math.isnan(p):
            return False
        return best < p if direction == StudyDirection.MAXIMIZE else best > p

    def _percentile_at(
        self,
        view: Any,
        version: int,
        completed: list[FrozenTrial],
        direction: StudyDirection,
        step: int,
    ) -> float:
        kept = self._kept
        if kept is None or kept[0] is not view or kept[1] != version:
            kept = self._kept = (view, version, {})
        by_step = kept[2]
        if step not in by_step:
            by_step[step] = _optuna_percentile._get_percentile_intermediate_result_over_trials(
                completed, direction, step, self._percentile, self._n_min_trials
            )
        return by_step[step]


class MedianPruner(PercentilePruner):
    """:class:`optuna.pruners.MedianPruner`: the 50th percentile."""

    def __init__(
        self,
        n_startup_trials: int = 5,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
        *,
        n_min_trials: int = 1,
    ) -> None:
        super().__init__(
            50.0, n_startup_trials, n_warmup_steps, interval_steps, n_min_trials=n_min_trials
        )
