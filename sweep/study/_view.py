"""A study read once: the trials as they were, served to Optuna's code through a storage.

Optuna's pruners, samplers and plots ask the study for its trials again and again (a
pruner for each decision, TPE for each parameter with the constant liar, a plot for
each figure); on a database each ask is a read, and some are deep copies. A view
holds the trials read once and hands out the same frozen objects, so a pack's report
is judged, a pack is sampled and a report is drawn against one read.
"""

from __future__ import annotations

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
        trials = [t for _, t in sorted(self.trials.items())]
        if states is None:
            return trials
        return [t for t in trials if t.state in states]

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


def read_once(study: optuna.Study, trials: Iterable[FrozenTrial] | None = None) -> optuna.Study:
    """A read-only, in-memory copy of ``study``: its name, directions and user attributes
    (not Optuna's system attributes), and ``trials`` (default: every trial, read once).

    Args:
        study: The study to copy (any storage).
        trials: The trials the copy holds, e.g. a subset for one plot.

    Returns:
        An ``optuna.Study`` that Optuna's pruners and plotting functions accept.
    """
    if trials is None:
        trials = study.get_trials(deepcopy=False)
    view = StudyView(
        internals.study_id(study), study.study_name, study.directions, study.user_attrs, trials
    )
    return optuna.Study(study.study_name, view)
