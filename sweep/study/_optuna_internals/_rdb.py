"""Writes and reads of Optuna's own RDB tables, where one statement does the work of many.

Optuna's storage API commits each attribute, epoch value and end on its own, after
lookups; a pack of trials reports and ends together, so here a batch is one
transaction of a few statements. Used only while the database's schema revision is
:data:`SCHEMA_REVISION` (``rdb`` checks it once per storage); elsewhere callers use
the storage API.
"""

from __future__ import annotations

import datetime
import json
import logging
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import optuna
import sqlalchemy
from optuna.trial import TrialState

from sweep.study._optuna_internals._check import (
    PRIVATE,
    SCHEMA_REVISION,
    create_scoped_session,
    models,
)
from sweep.study._optuna_internals._handles import backend_of, storage_of, study_id

log = logging.getLogger("sweep")

# The schema revision of each RDB storage's database, read once per storage object.
_REVISIONS: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def rdb(storage: optuna.storages.BaseStorage) -> optuna.storages.RDBStorage | None:
    """The RDB storage behind ``storage`` where the raw writes may use it, else None."""
    backend: Any = backend_of(storage)
    if not PRIVATE or not isinstance(backend, optuna.storages.RDBStorage):
        return None
    revision = _REVISIONS.get(backend)
    if revision is None:
        revision = _REVISIONS[backend] = backend.get_current_version()
        if revision != SCHEMA_REVISION:
            log.warning(
                "sweep: the database's Optuna schema is %s, not %s; sweep writes through "
                "Optuna's storage API",
                revision,
                SCHEMA_REVISION,
            )
    return backend if revision == SCHEMA_REVISION else None


@contextmanager
def _session(backend: optuna.storages.RDBStorage) -> Iterator[Any]:
    """One session and one commit, through the helper Optuna's own writes use."""
    with create_scoped_session(backend.scoped_session) as session:
        yield session


# -- reads -----------------------------------------------------------------------------------
def count_by_state(study: optuna.Study) -> dict[TrialState, int] | None:
    """The study's trials by state in one counting query; None where it cannot (the
    caller counts through the storage API)."""
    backend = rdb(storage_of(study))
    if backend is None:
        return None
    trials = models.TrialModel
    with _session(backend) as session:
        return dict(
            session.query(trials.state, sqlalchemy.func.count(trials.trial_id))
            .filter(trials.study_id == study_id(study))
            .group_by(trials.state)
            .all()
        )


def stale_trial_ids(study: optuna.Study) -> list[int] | None:
    """Running trials whose heartbeat stopped, [] where the storage keeps no heartbeats,
    None where only Optuna's own ``fail_stale_trials`` can find them (public path)."""
    storage: Any = storage_of(study)
    interval = getattr(storage, "get_heartbeat_interval", lambda: None)()
    if interval is None:
        return []
    if not PRIVATE:
        return None
    return list(storage._get_stale_trial_ids(study_id(study)))


def rdb_tables() -> Any:
    """Optuna's ORM models (for reading a whole study in a few queries), or None."""
    return models if PRIVATE else None


# -- writes in one transaction ---------------------------------------------------------------
def _check_all_running(session: Any, trial_ids: set[int]) -> None:
    """Raise (before anything is written) if any of the trials is missing or finished.
    Optuna's own per-write check reads a finished trial through the same session and so
    would commit the writes before it."""
    trials = models.TrialModel
    states = dict(
        session.query(trials.trial_id, trials.state).filter(trials.trial_id.in_(trial_ids)).all()
    )
    for trial_id_ in trial_ids:
        if trial_id_ not in states:
            raise KeyError(f"no trial with trial id {trial_id_}")
        if states[trial_id_].is_finished():
            raise optuna.exceptions.UpdateFinishedTrialError(
                f"trial id {trial_id_} has already finished and can not be updated"
            )


def _upsert_attrs(session: Any, model: Any, attrs: dict[int, dict[str, Any]]) -> None:
    """Insert the new (trial, key) attributes in one statement and update the others."""
    if not any(attrs.values()):
        return
    present = set(
        session.query(model.trial_id, model.key).filter(model.trial_id.in_(list(attrs))).all()
    )
    rows = []
    for trial_id_, values in attrs.items():
        for key, value in values.items():
            if (trial_id_, key) in present:
                session.query(model).filter(model.trial_id == trial_id_, model.key == key).update(
                    {"value_json": json.dumps(value)}
                )
            else:
                rows.append({"trial_id": trial_id_, "key": key, "value_json": json.dumps(value)})
    if rows:
        session.execute(sqlalchemy.insert(model), rows)


def _insert_steps(session: Any, steps: dict[int, dict[int, float]]) -> None:
    table = models.TrialIntermediateValueModel
    rows = []
    for trial_id_, values in steps.items():
        for step, value in values.items():
            stored, kind = table.intermediate_value_to_stored_repr(value)
            rows.append(
                {
                    "trial_id": trial_id_,
                    "step": step,
                    "intermediate_value": stored,
                    "intermediate_value_type": kind,
                }
            )
    if rows:
        session.execute(sqlalchemy.insert(table), rows)


def write_batch(
    backend: optuna.storages.RDBStorage,
    *,
    user: dict[int, dict[str, Any]] | None = None,
    system: dict[int, dict[str, Any]] | None = None,
    steps: dict[int, dict[int, float]] | None = None,
    ends: Sequence[tuple[int, TrialState, list[float] | None]] = (),
    first_heartbeat: Sequence[int] = (),
) -> None:
    """Write, for running trials, in one transaction: user and system attributes (trial
    id -> key -> value), epoch values (trial id -> step -> value), first heartbeats and
    ends (trial id, final state, values), as Optuna's own calls would write them.

    Raises:
        optuna.exceptions.UpdateFinishedTrialError: one of the trials is finished;
            nothing is written then.
    """
    user, system, steps = user or {}, system or {}, steps or {}
    ids = {*user, *system, *steps, *(e[0] for e in ends), *first_heartbeat}
    if not ids:
        return
    with _session(backend) as session:
        _check_all_running(session, ids)
        _insert_steps(session, steps)
        _upsert_attrs(session, models.TrialUserAttributeModel, user)
        _upsert_attrs(session, models.TrialSystemAttributeModel, system)
        if first_heartbeat:
            # A first beat is a new row stamped with the database's time (the column's
            # default), as RDBStorage.record_heartbeat writes it.
            beats = models.TrialHeartbeatModel
            wanted = sorted(first_heartbeat)
            have = {
                row[0] for row in session.query(beats.trial_id).filter(beats.trial_id.in_(wanted))
            }
            new = [{"trial_id": i} for i in wanted if i not in have]
            if new:
                session.execute(sqlalchemy.insert(beats), new)
        if ends:
            _write_ends(session, ends)


def _write_ends(session: Any, ends: Sequence[tuple[int, TrialState, list[float] | None]]) -> None:
    # Naive UTC, as RDBStorage stamps a trial's end.
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    by_state: dict[TrialState, list[int]] = {}
    rows = []
    for trial_id_, state, values in ends:
        by_state.setdefault(state, []).append(trial_id_)
        for objective, value in enumerate(values or []):
            stored, kind = models.TrialValueModel.value_to_stored_repr(value)
            rows.append(
                {"trial_id": trial_id_, "objective": objective, "value": stored, "value_type": kind}
            )
    table = models.TrialModel.__table__
    for state, ids in by_state.items():
        session.execute(
            sqlalchemy.update(table)
            .where(table.c.trial_id.in_(ids))
            .values(state=state, datetime_complete=now)
        )
    if rows:
        session.execute(sqlalchemy.insert(models.TrialValueModel), rows)


def write_params(
    backend: optuna.storages.RDBStorage,
    study_id_: int,
    params: Sequence[tuple[int, str, float, Any]],
    known: dict[str, Any],
) -> None:
    """Write sampled parameters (trial id, name, internal value, distribution) of running
    trials in one transaction, each checked against the first distribution the study
    holds under its name (``known``, filled in here) as Optuna checks it.

    Raises:
        ValueError: a distribution conflicts with the study's; nothing is written then.
        optuna.exceptions.UpdateFinishedTrialError: a trial finished meanwhile.
    """
    with _session(backend) as session:
        _check_all_running(session, {p[0] for p in params})
        for name in {p[1] for p in params} - set(known):
            first = (
                session.query(models.TrialParamModel.distribution_json)
                .join(models.TrialModel)
                .filter(models.TrialModel.study_id == study_id_)
                .filter(models.TrialParamModel.param_name == name)
                .first()
            )
            if first is not None:
                known[name] = optuna.distributions.json_to_distribution(first[0])
        rows = []
        for trial_id_, name, value, distribution in params:
            if name in known:
                optuna.distributions.check_distribution_compatibility(known[name], distribution)
            else:
                known[name] = distribution
            rows.append(
                {
                    "trial_id": trial_id_,
                    "param_name": name,
                    "param_value": value,
                    "distribution_json": optuna.distributions.distribution_to_json(distribution),
                }
            )
        if rows:
            session.execute(sqlalchemy.insert(models.TrialParamModel), rows)
