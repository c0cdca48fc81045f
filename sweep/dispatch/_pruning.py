"""The pruner's decisions on a pack's report, as ``Trial.should_prune`` makes each."""

from __future__ import annotations

import copy
import math
import time

import optuna
from optuna.trial import FrozenTrial, TrialState

from sweep.study import StudyView, TrialEnd, judges_from_values, view_of

# A study of several objectives prunes a trial on its metric against the trials whose
# parameter counts are within this factor of its own (Optuna's pruners judge one value).
SIZE_FACTOR = 2.0


class Judge:
    """Decides which of a report's trials the study's pruner stops.

    Pruners that judge from values alone (median, percentile) judge each trial as the
    coordinator knows it against a view of the study that is kept up to date with the
    coordinator's own ends (:meth:`ended`) and read again once per ``interval`` seconds
    for other machines' results: one read for many reports, and the pruners' percentiles
    kept while the view does not change. Successive halving and Hyperband keep their
    rungs on the trials, so they judge each trial read fresh against the study itself.

    In a study of several objectives (median, percentile or none: the study file allows
    no other) a trial is judged on its metric against a single-objective view of the
    trials of similar size (:data:`SIZE_FACTOR`), so a small network is not stopped for
    trailing large ones whose metric it was never meant to match.
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
        self.multi = len(study.directions) > 1
        self._by_size: dict[tuple[int, int], optuna.Study] = {}  # (version, size) -> view

    def stopped(
        self, trials: dict[int, tuple[int, FrozenTrial]], sizes: dict[int, int] | None = None
    ) -> set[int]:
        """The trials (number -> (trial id, the trial as known here)) to stop now;
        ``sizes`` (number -> parameter count) for a study of several objectives."""
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
        if self.multi:
            sizes = sizes or {}
            return {
                n
                for n, (_, t) in trials.items()
                if n in sizes and pruner.prune(self._similar(self._view, sizes[n]), t)
            }
        return {n for n, (_, t) in trials.items() if pruner.prune(self._view_study, t)}

    def _similar(self, view: StudyView, size: int) -> optuna.Study:
        """A single-objective view of the trials within :data:`SIZE_FACTOR` of ``size``
        parameters (the metric's direction), kept while the study's view does not change."""
        key = (view.version, size)
        if key not in self._by_size:
            if self._by_size and next(iter(self._by_size))[0] != view.version:
                self._by_size.clear()
            span = math.log(SIZE_FACTOR)
            near = [
                t
                for t in view.trials.values()
                if (n := t.user_attrs.get("n_params"))
                and abs(math.log(max(n, 1)) - math.log(max(size, 1))) <= span
            ]
            self._by_size[key] = StudyView(
                view.study_id, view.name, view.directions[:1], view.user_attrs, near
            ).as_study()
        return self._by_size[key]

    def ended(self, end: TrialEnd) -> None:
        """Note a trial's end in the view as the storage now holds it, as far as pruners
        read it (state, value, intermediate values), without reading the storage back."""
        if self._view is None:
            return
        frozen = copy.copy(end.trial)
        frozen.state = end.state
        frozen.user_attrs = {**frozen.user_attrs, **end.attrs}  # n_params, for _similar
        values = end.values() if end.state == TrialState.COMPLETE else None
        frozen.values = values  # type: ignore[assignment]
        self._view.record(frozen)
