"""A study read once: the trials as they were, served to Optuna's code through a storage.

Optuna's pruners, samplers and plots ask the study for its trials again and again (a
pruner for each decision, TPE for each parameter with the constant liar, a plot for
each figure); on a database each ask is a read, and some are deep copies. A view
holds the trials read once and hands out the same frozen objects, so a pack is
sampled and a report is drawn against one read. The coordinator keeps one view for
pruning up to date itself (:meth:`StudyView.record` as its trials end) and reads it
again only to see other machines' results; its ``version`` changes with every change,
so what is worked out from it (the lists by state here, the pruners' percentiles) is
kept per version.
"""

from __future__ import annotations

import copy
from collections.abc import Container, Iterable
from typing import Any, NoReturn

import optuna
from optuna.storages import BaseStorage
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from sweep.study import _optuna_internals as internals


class StudyView(BaseStorage):
    """A read-only storage holding one study's trials as they were when it was made.

    Trials are never copied: callers only read them (``deepcopy`` is ignored). Every
    write raises ``NotImplementedError``.
    """

    def __init__(
        self,
        study_id: int,
        name: str,
        directions: list[StudyDirection],
        user_attrs: dict[str, Any],
        trials: Iterable[FrozenTrial],
    ) -> None:
        self.study_id = study_id
        self.name = name
        self.directions = list(directions)
        self.user_attrs = dict(user_attrs)
        self.hold(trials)

    def hold(self, trials: Iterable[FrozenTrial]) -> None:
        """Make ``trials`` the study as this view shows it."""
        self.trials = {t.number: t for t in trials}
        self.by_id = {internals.trial_id_of(t): t for t in self.trials.values()}
        self._changed()

    def record(self, trial: FrozenTrial) -> None:
        """Put (or replace) one trial as it is now, without reading the storage."""
        self.trials[trial.number] = trial
        self.by_id[internals.trial_id_of(trial)] = trial
        self._changed()

    def _changed(self) -> None:
        self.version = getattr(self, "version", 0) + 1
        self._lists: dict[Any, list[FrozenTrial]] = {}

    def as_study(self) -> optuna.Study:
        """An ``optuna.Study`` that reads this view (for Optuna's pruners and plots)."""
        return optuna.Study(self.name, self)

    # -- reads ---------------------------------------------------------------------------------
    def get_all_studies(self) -> list[Any]:
        return [internals.frozen_study(self.study_id, self.name, self.directions, self.user_attrs)]

    def get_study_id_from_name(self, study_name: str) -> int:
        if study_name != self.name:
            raise KeyError(study_name)
        return self.study_id

    def get_study_name_from_id(self, study_id: int) -> str:
        return self.name

    def get_study_directions(self, study_id: int) -> list[StudyDirection]:
        return list(self.directions)

    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]:
        return dict(self.user_attrs)

    def get_study_system_attrs(self, study_id: int) -> dict[str, Any]:
        return {}  # Optuna keeps its own bookkeeping there; readers of a view need none

    def get_trial(self, trial_id: int) -> FrozenTrial:
        return self.by_id[trial_id]

    def get_all_trials(
        self,
        study_id: int,
        deepcopy: bool = True,
        states: Container[TrialState] | None = None,
    ) -> list[FrozenTrial]:
        key: tuple[Any, ...] | None = None if states is None else tuple(states)  # type: ignore[arg-type]
        trials = self._lists.get(key)
        if trials is None:
            ordered = [t for _, t in sorted(self.trials.items())]
            trials = self._lists[key] = [t for t in ordered if states is None or t.state in states]
        return list(trials)

    # -- writes --------------------------------------------------------------------------------
    def _read_only(self, *_: Any, **__: Any) -> NoReturn:
        raise NotImplementedError("a study view is read-only")

    create_new_study = _read_only
    delete_study = _read_only
    set_study_user_attr = _read_only
    set_study_system_attr = _read_only
    create_new_trial = _read_only
    set_trial_param = _read_only
    set_trial_state_values = _read_only
    set_trial_intermediate_value = _read_only
    set_trial_user_attr = _read_only
    set_trial_system_attr = _read_only


def view_of(study: optuna.Study, trials: Iterable[FrozenTrial] | None = None) -> StudyView:
    """A :class:`StudyView` of ``study``: its name, directions and user attributes, and
    ``trials`` (default: every trial, read once)."""
    if trials is None:
        trials = study.get_trials(deepcopy=False)
    return StudyView(
        internals.study_id(study), study.study_name, study.directions, study.user_attrs, trials
    )


def read_once(study: optuna.Study, trials: Iterable[FrozenTrial] | None = None) -> optuna.Study:
    """A read-only, in-memory copy of ``study``: its name, directions and user attributes
    (not Optuna's system attributes), and ``trials`` (default: every trial, read once).

    Args:
        study: The study to copy (any storage).
        trials: The trials the copy holds, e.g. a subset for one plot.

    Returns:
        An ``optuna.Study`` that Optuna's pruners and plotting functions accept.
    """
    return view_of(study, trials).as_study()


def metric_only(study: optuna.Study, trials: Iterable[FrozenTrial] | None = None) -> optuna.Study:
    """:func:`read_once` of a study of several objectives as a study of its metric alone:
    its first direction, each trial's first value. What Optuna's plots draw (they ask a
    study of several objectives which value to draw). A study of one objective is as
    :func:`read_once` copies it."""
    view = view_of(study, trials)
    if len(view.directions) <= 1:
        return view.as_study()
    alone = []
    for t in view.trials.values():
        t = copy.copy(t)
        t.values = t.values[:1] if t.values else None  # type: ignore[assignment]
        alone.append(t)
    return StudyView(
        view.study_id, view.name, view.directions[:1], view.user_attrs, alone
    ).as_study()
