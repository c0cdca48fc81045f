"""The handles a study and its trials keep private, and sampling a pack through a view."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import optuna
from optuna.trial import FrozenTrial

from sweep.study._optuna_internals._check import (
    CONSTRAINTS_KEY,
    PRIVATE,
    FrozenStudy,
    filter_study,
)


def storage_of(study: optuna.Study) -> optuna.storages.BaseStorage:
    """The storage a study reads and writes (Optuna has no public accessor)."""
    return study._storage


def backend_of(storage: optuna.storages.BaseStorage) -> optuna.storages.BaseStorage:
    """The storage behind Optuna's cache of an RDB storage (the storage itself otherwise)."""
    return getattr(storage, "_backend", storage)


def study_id(study: optuna.Study) -> int:
    found = getattr(study, "_study_id", None)
    if found is None:
        return storage_of(study).get_study_id_from_name(study.study_name)
    return int(found)


def trial_id(study: optuna.Study, trial: FrozenTrial | optuna.Trial) -> int:
    """A trial's id in the storage (its number identifies it only within its study)."""
    found = getattr(trial, "_trial_id", None)
    if found is None:
        return storage_of(study).get_trial_id_from_study_id_trial_number(
            study_id(study), trial.number
        )
    return int(found)


def frozen(study: optuna.Study, trial: optuna.Trial) -> FrozenTrial:
    """The trial as this process knows it: Optuna's cached copy, else a read."""
    if PRIVATE:
        return trial._cached_frozen_trial
    return storage_of(study).get_trial(trial_id(study, trial))


def forget_cached_trials(study: optuna.Study) -> None:
    """Make the study read its trials afresh (as ``Study.ask`` and ``tell`` do)."""
    if PRIVATE:
        study._thread_local.cached_all_trials = None


@contextmanager
def sample_through(study: optuna.Study, view: Any) -> Iterator[None]:
    """Within: the study (and its sampler) reads and writes ``view``, a stand-in for its
    storage, instead of the storage."""
    real = study._storage
    study._storage = view
    study._thread_local.cached_all_trials = None
    try:
        yield
    finally:
        study._storage = real
        study._thread_local.cached_all_trials = None


def sampled_trial(
    study: optuna.Study, trial_id_: int, fixed: dict[str, Any] | None
) -> optuna.Trial:
    """The running trial ``trial_id_`` to sample (within ``sample_through``); with
    ``fixed``, every suggest returns these values and no sampler runs, as for a trial
    taken from the queue."""
    trial = optuna.Trial(study, trial_id_)
    if fixed is not None:
        trial._fixed_params = fixed
    return trial


def rebind(trials: Sequence[optuna.Trial], storage: optuna.storages.BaseStorage) -> None:
    """Point trials sampled through a view back at the study's own storage."""
    for trial in trials:
        trial.storage = storage


def constraint_attrs(constraints: dict[str, float]) -> dict[str, float]:
    """The system attributes ``Trial.set_constraint`` writes for ``constraints`` (name ->
    value, at most 0: feasible), for a batch that writes them itself."""
    return {f"{CONSTRAINTS_KEY}:{key}": float(value) for key, value in constraints.items()}


def after_trial_study(study: optuna.Study, trial: FrozenTrial) -> optuna.Study:
    """The study that ``Study.tell`` hands the sampler's ``after_trial`` for ``trial``
    (Hyperband's bracket of it, else the study itself)."""
    return filter_study(study, trial)


def trial_id_of(trial: FrozenTrial) -> int:
    """A frozen trial's id (given to its constructor; Optuna keeps the attribute private)."""
    return int(trial._trial_id)


def frozen_study(
    study_id_: int, name: str, directions: list[Any], user_attrs: dict[str, Any]
) -> Any:
    """The record ``BaseStorage.get_all_studies`` lists for a study."""
    return FrozenStudy(
        study_name=name,
        direction=None,
        directions=directions,
        user_attrs=user_attrs,
        system_attrs={},
        study_id=study_id_,
    )


def read_new_trials(
    storage: optuna.storages.BaseStorage, study_id_: int, after_id: int
) -> list[FrozenTrial] | None:
    """The study's trials with ids above ``after_id`` in one read, or None where only a
    read of every trial can be had (public path)."""
    backend: Any = backend_of(storage)
    if not PRIVATE or not isinstance(backend, optuna.storages.RDBStorage):
        return None
    return backend._get_trials(study_id_, None, set(), after_id)
