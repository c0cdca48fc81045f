"""The pruner's decisions on a pack's report, as ``Trial.should_prune`` makes each."""

from __future__ import annotations

import copy
import time

import optuna
from optuna.trial import FrozenTrial, TrialState

from sweep.study import StudyView, TrialEnd, judges_from_values, view_of


class Judge:
    """Decides which of a report's trials the study's pruner stops.

    Pruners that judge from values alone (median, percentile) judge each trial as the
    coordinator knows it against a view of the study that is kept up to date with the
    coordinator's own ends (:meth:`ended`) and read again once per ``interval`` seconds
    for other machines' results: one read for many reports, and the pruners' percentiles
    kept while the view does not change. Successive halving and Hyperband keep their
    rungs on the trials, so they judge each trial read fresh against the study itself.
    """

    def __init__(
        self, study: optuna.Study, storage: optuna.storages.BaseStorage, interval: float
    ) -> None:
        self.study = study
        self.storage = storage
        self.interval = interval
        self.from_values = judges_from_values(study.pruner)
        self._view: StudyView | None = None
        self._view_study = study
        self._read = 0.0

    def stopped(self, trials: dict[int, tuple[int, FrozenTrial]]) -> set[int]:
        """The trials (number -> (trial id, the trial as known here)) to stop now."""
        pruner = self.study.pruner
        if not trials or isinstance(pruner, optuna.pruners.NopPruner):
            return set()
        if not self.from_values:
            judged = {n: self.storage.get_trial(i) for n, (i, _) in trials.items()}
            return {n for n, t in judged.items() if pruner.prune(self.study, t)}
        now = time.monotonic()
        if self._view is None or now - self._read > self.interval:
            self._view = view_of(self.study)
            self._view_study = self._view.as_study()
            self._read = now
        return {n for n, (_, t) in trials.items() if pruner.prune(self._view_study, t)}

    def ended(self, end: TrialEnd) -> None:
        """Note a trial's end in the view as the storage now holds it, as far as pruners
        read it (state, value, intermediate values), without reading the storage back."""
        if self._view is None:
            return
        frozen = copy.copy(end.trial)
        frozen.state = end.state
        frozen.value = end.value if end.state == TrialState.COMPLETE else None
        self._view.record(frozen)
