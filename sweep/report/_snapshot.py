"""A study read once from its storage, for reports.

Optuna's plotting functions each ask the study for its trials, and some ask for
deep copies: on a database that is a full read per plot, and a deep copy of
10,000 trials costs seconds. A snapshot reads the trials once and serves the
same frozen objects to every plot through a read-only storage.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from typing import Any, NoReturn

import optuna
from optuna.storages import BaseStorage
from optuna.study import StudyDirection
from optuna.study._frozen import FrozenStudy
from optuna.trial import FrozenTrial, TrialState

_STUDY_ID = 0


class FrozenStorage(BaseStorage):
    """A read-only storage holding one study's trials as they were when it was made.

    Trials are never copied: callers (Optuna's plots, the report) only read them.
    Every write raises ``NotImplementedError``.
    """

    def __init__(
        self,
        name: str,
        directions: Sequence[StudyDirection],
        user_attrs: dict[str, Any],
        trials: Iterable[FrozenTrial],
    ) -> None:
        self._name = name
        self._directions = list(directions)
        self._user_attrs = dict(user_attrs)
        self._trials = sorted(trials, key=lambda t: t.number)
        self._by_id = {t._trial_id: t for t in self._trials}

    # -- reads ---------------------------------------------------------------------------------
    def get_all_studies(self) -> list[FrozenStudy]:
        return [
            FrozenStudy(
                study_name=self._name,
                direction=None,
                directions=self._directions,
                user_attrs=self._user_attrs,
                system_attrs={},
                study_id=_STUDY_ID,
            )
        ]

    def get_study_id_from_name(self, study_name: str) -> int:
        if study_name != self._name:
            raise KeyError(study_name)
        return _STUDY_ID

    def get_study_name_from_id(self, study_id: int) -> str:
        return self._name

    def get_study_directions(self, study_id: int) -> list[StudyDirection]:
        return list(self._directions)

    def get_study_user_attrs(self, study_id: int) -> dict[str, Any]:
        return dict(self._user_attrs)

    def get_study_system_attrs(self, study_id: int) -> dict[str, Any]:
        return {}  # Optuna keeps its own bookkeeping there; reports do not need it

    def get_trial(self, trial_id: int) -> FrozenTrial:
        return self._by_id[trial_id]

    def get_all_trials(
        self,
        study_id: int,
        deepcopy: bool = True,
        states: Container[TrialState] | None = None,
    ) -> list[FrozenTrial]:
        # ``deepcopy`` is ignored on purpose: nothing writes to a snapshot's trials.
        if states is None:
            return list(self._trials)
        return [t for t in self._trials if t.state in states]

    # -- writes --------------------------------------------------------------------------------
    def _read_only(self, *_: Any, **__: Any) -> NoReturn:
        raise NotImplementedError("a study snapshot is read-only")

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


def snapshot(study: optuna.Study, trials: Iterable[FrozenTrial] | None = None) -> optuna.Study:
    """A read-only, in-memory copy of ``study``: its name, directions and user attributes
    (not Optuna's system attributes), and ``trials`` (default: every trial, read once
    from the storage).

    Args:
        study: The study to copy (any storage).
        trials: The trials the copy holds, e.g. a subset for one plot.

    Returns:
        An ``optuna.Study`` that Optuna's plotting functions accept.
    """
    if trials is None:
        trials = study.get_trials(deepcopy=False)
    storage = FrozenStorage(study.study_name, study.directions, study.user_attrs, trials)
    return optuna.Study(study.study_name, storage)
