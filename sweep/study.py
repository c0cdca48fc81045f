"""The Optuna study behind a sweep: creating or joining it, its sampler and
pruner, the trial budget, and what is written on each trial.

Facts about a study live in its user attributes (``sweep.spec``, the data
summary, the objective); facts about a trial in the trial's user attributes
(``config``, metrics, timings, device, ``fail_reason``). Optuna's own tables
stay the one source of truth.
"""

from __future__ import annotations

import copy
import datetime
import fcntl
import json
import math
import os
import random
import socket
import time
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy
from optuna.trial import FrozenTrial, TrialState

from sweep.config import SpaceSpec, StudySection, StudySpec, fingerprint, parse_spec, spec_to_table
from sweep.errors import ConfigError, StudyNotFoundError
from sweep.metrics import Objective, objective_for
from sweep.pruners import MedianPruner, PercentilePruner
from sweep.space import TrialConfig, sample_config
from sweep.storage import sqlite_path
from sweep.tpe import TPESampler

SPEC_KEY = "sweep.spec"
FINGERPRINT_KEY = "sweep.fingerprint"
DATA_KEY = "sweep.data"
OBJECTIVE_KEY = "sweep.objective"
MODELS_KEY = "sweep.models"  # trial number -> artifact id of the kept weights
OWNER_KEY = "sweep.owner"  # system attr: which coordinator runs the trial
RETRIES_KEY = "sweep.retries"  # system attr: how often this trial's parameters were retried

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)

optuna.logging.set_verbosity(optuna.logging.WARNING)


def build_sampler(section: StudySection, *, offset: int = 0) -> optuna.samplers.BaseSampler:
    """The study's sampler. ``offset`` (the trials already in the study) varies the seed on
    resume, so a rerun does not replay the first run's random start-up proposals."""
    seed = section.seed + offset * 7_919
    if section.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if section.sampler == "qmc":
        return optuna.samplers.QMCSampler(seed=section.seed, scramble=True)
    # constant_liar: trials still running count as (bad) observations, so parallel
    # workers and packs do not all explore the same point. sweep's TPE draws what Optuna's
    # does, keeping what it works out from each finished trial (see sweep/tpe.py).
    return TPESampler(seed=seed, n_startup_trials=section.sampler_startup, constant_liar=True)


def build_pruner(section: StudySection, epochs: int) -> optuna.pruners.BasePruner:
    """The study's pruner; a step is an epoch."""
    # sweep's percentile pruners decide as Optuna's do, faster against a Snapshot.
    if section.pruner == "median":
        return MedianPruner(
            n_startup_trials=section.pruner_startup, n_warmup_steps=section.pruner_warmup
        )
    if section.pruner == "percentile":
        return PercentilePruner(
            section.percentile,
            n_startup_trials=section.pruner_startup,
            n_warmup_steps=section.pruner_warmup,
        )
    if section.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(epochs, 1))
    if section.pruner == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    return optuna.pruners.NopPruner()


def study_names(storage: optuna.storages.BaseStorage) -> list[str]:
    return [s.study_name for s in storage.get_all_studies()]


def load_study(name: str, storage: optuna.storages.BaseStorage) -> optuna.Study:
    """Load an existing study (no sampler or pruner needed for reading).

    Raises:
        StudyNotFoundError: naming the studies the storage does hold.
    """
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        names = study_names(storage)
        valid = ", ".join(names) if names else "(none: the database holds no study)"
        raise StudyNotFoundError(
            f"study {name!r} not found in the storage; valid: {valid}"
        ) from None


def objective_of(study: optuna.Study) -> Objective:
    attrs = study.user_attrs
    name = attrs.get(OBJECTIVE_KEY)
    if name == "mse":
        return Objective("mse", "minimize")
    if name == "accuracy":
        return Objective("accuracy", "maximize")
    direction = (
        "minimize" if study.direction == optuna.study.StudyDirection.MINIMIZE else "maximize"
    )
    return Objective("value", direction)


def spec_of(study: optuna.Study) -> StudySpec | None:
    """The study file a sweep study was created from (None for a study sweep did not make)."""
    raw = study.user_attrs.get(SPEC_KEY)
    if raw is None:
        return None
    spec = parse_spec(raw, source=f"study {study.study_name}")
    task = study.user_attrs.get(DATA_KEY, {}).get("task")
    if spec.task is None and task is not None:
        from sweep.config import resolve_for_task

        spec = _with_task(spec, task, resolve_for_task)
    return spec


def _with_task(spec: StudySpec, task: str, resolve: Any) -> StudySpec:
    import dataclasses

    return dataclasses.replace(spec, space=resolve(spec.space, task), task=task)


def open_or_create(
    spec: StudySpec, storage: optuna.storages.BaseStorage, data_summary: dict[str, Any]
) -> optuna.Study:
    """Create the study, or join it if it exists (several machines may race to create it).

    Raises:
        ConfigError: the stored study was made from a different data, training or
            space definition (its trials would not be comparable).
    """
    assert spec.task is not None
    objective = objective_for(spec.task)
    # The sampler's seed varies with the trials already there (see build_sampler).
    existing = 0
    try:
        sid = storage.get_study_id_from_name(spec.name)
        existing = len(storage.get_all_trials(sid, deepcopy=False))
    except KeyError:
        pass
    study = optuna.create_study(
        storage=storage,
        study_name=spec.name,
        direction=objective.direction,  # type: ignore[arg-type]
        sampler=build_sampler(spec.study, offset=existing),
        pruner=build_pruner(spec.study, spec.train.epochs),
        load_if_exists=True,
    )
    mine = fingerprint(spec)
    theirs = study.user_attrs.get(FINGERPRINT_KEY)
    if theirs is None:
        if study.direction.name.lower() != objective.direction:
            raise ConfigError(
                spec.path,
                "study.name",
                f"a study {spec.name!r} that sweep did not create already exists with "
                "another direction; choose another name",
            )
        study.set_user_attr(SPEC_KEY, spec_to_table(spec))
        study.set_user_attr(DATA_KEY, data_summary)
        study.set_user_attr(OBJECTIVE_KEY, objective.name)
        study.set_user_attr(FINGERPRINT_KEY, mine)
    elif theirs != mine:
        raise ConfigError(
            spec.path,
            "study.name",
            f"study {spec.name!r} already exists with different data, training or space "
            "settings (its trials would not compare); rename the study or restore the settings",
        )
    return study


class Snapshot(optuna.Study):
    """The study as it stands, read from the storage once and then kept up to date.

    Pruners read every trial of the study for each decision; a pack reports many
    trials at once. Judging them against one read (instead of one read per trial
    and epoch) keeps the coordinator's storage time flat in the pack size. The
    coordinator records its own finished trials here as it tells them
    (:meth:`record`) and calls :meth:`refresh` to see other machines' results.
    Use it only as the ``study`` argument of ``pruner.prune``.
    """

    def __init__(self, study: optuna.Study) -> None:
        super().__init__(
            study_name=study.study_name,
            storage=study._storage,
            sampler=study.sampler,
            pruner=study.pruner,
        )
        self._source = study
        self.by_number: dict[int, FrozenTrial] = {}
        # Bumped whenever the trials change; what is worked out from them is kept per
        # version (the lists below, the percentile pruner's values at a step).
        self.version = 0
        self._lists: dict[Any, list[FrozenTrial]] = {}
        self.refresh()

    def refresh(self) -> None:
        """Read every trial from the storage again."""
        self.by_number = {t.number: t for t in self._source.get_trials(deepcopy=False)}
        self._changed()

    def record(self, trial: FrozenTrial) -> None:
        """Put (or replace) one trial as it is now, without reading the storage."""
        self.by_number[trial.number] = trial
        self._changed()

    def _changed(self) -> None:
        self.version += 1
        self._lists = {}

    def _get_trials(
        self, deepcopy: bool = True, states: Any = None, use_cache: bool = False
    ) -> list[FrozenTrial]:
        key = None if states is None else tuple(states)
        trials = self._lists.get(key)
        if trials is None:
            trials = self._lists[key] = [
                t for _, t in sorted(self.by_number.items()) if states is None or t.state in states
            ]
        return copy.deepcopy(trials) if deepcopy else list(trials)

    def get_trials(self, deepcopy: bool = True, states: Any = None) -> list[FrozenTrial]:
        return self._get_trials(deepcopy, states)


def judges_from_values(pruner: optuna.pruners.BasePruner) -> bool:
    """True for pruners that decide from intermediate values alone and keep no state on
    the trials (median, percentile, none). Successive halving and Hyperband write their
    rungs into the trial's system attributes, so they must see each trial fresh."""
    return isinstance(pruner, optuna.pruners.PercentilePruner | optuna.pruners.NopPruner)


# -- the budget ----------------------------------------------------------------------------
def counts(study: optuna.Study) -> tuple[int, int]:
    """(finished, running) trials of the study, across every machine: on an RDB storage
    one counting query, instead of reading every trial."""
    storage = study._storage
    backend = getattr(storage, "_backend", storage)
    if isinstance(backend, optuna.storages.RDBStorage):
        from optuna.storages._rdb import models

        trials = models.TrialModel
        with _rdb_session(storage) as session:
            by_state = dict(
                session.query(trials.state, sqlalchemy.func.count(trials.trial_id))
                .filter(trials.study_id == study._study_id)
                .group_by(trials.state)
                .all()
            )
        return sum(by_state.get(s, 0) for s in FINISHED), by_state.get(TrialState.RUNNING, 0)
    listed = storage.get_all_trials(
        study._study_id, deepcopy=False, states=(*FINISHED, TrialState.RUNNING)
    )
    running = sum(1 for t in listed if t.state == TrialState.RUNNING)
    return len(listed) - running, running


@contextmanager
def budget_lock(storage: optuna.storages.RDBStorage, study_name: str) -> Iterator[None]:
    """Serialise "count the trials, then start new ones" across coordinators.

    Without it two machines could both see one trial left and both start one. The
    lock is the database's own where it has one (PostgreSQL advisory locks, MySQL
    GET_LOCK), and a lock file beside an SQLite database.
    """
    key = zlib.crc32(f"sweep:{study_name}".encode()) & 0x7FFFFFFF
    backend = storage.engine.dialect.name
    path = sqlite_path(storage.url)
    if backend == "sqlite" and path is not None:
        with open(path.with_name(path.name + ".lock"), "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        return

    if backend == "postgresql":
        with storage.engine.connect() as conn:
            conn.execute(sqlalchemy.text("SELECT pg_advisory_lock(:k)"), {"k": key})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
        return
    if backend in ("mysql", "mariadb"):
        with storage.engine.connect() as conn:
            conn.execute(sqlalchemy.text("SELECT GET_LOCK(:k, 60)"), {"k": f"sweep{key}"})
            try:
                yield
            finally:
                conn.execute(sqlalchemy.text("SELECT RELEASE_LOCK(:k)"), {"k": f"sweep{key}"})
        return
    yield


# -- owners, staleness and retries ---------------------------------------------------------
def _start_time(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def owner_record() -> dict[str, Any]:
    """Who is running a trial: this host and process (with its start time against pid reuse)."""
    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, "start": _start_time(pid)}


def _owner_gone(owner: dict[str, Any]) -> bool:
    if owner.get("host") != socket.gethostname():
        return False  # another machine's: its heartbeat tells
    pid = int(owner.get("pid", -1))
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return owner.get("start") is not None and _start_time(pid) != owner.get("start")


def requeue(study: optuna.Study, trial: FrozenTrial, max_retries: int) -> int | None:
    """Queue ``trial``'s parameters to run again, unless they were retried ``max_retries``
    times already. Returns the number of retries so far, or None if not re-queued."""
    retries = int(trial.system_attrs.get(RETRIES_KEY, 0))
    if retries >= max_retries:
        return None
    study.add_trial(
        optuna.trial.create_trial(
            state=TrialState.WAITING,
            params=trial.params,
            distributions=trial.distributions,
            user_attrs={"retry_of": trial.user_attrs.get("retry_of", trial.number)},
            system_attrs={RETRIES_KEY: retries + 1},
        )
    )
    return retries + 1


def fail_trial(study: optuna.Study, trial_id: int, reason: str) -> bool:
    """Mark a running trial failed with ``reason``; False if it had already finished."""
    storage = study._storage
    try:
        storage.set_trial_user_attr(trial_id, "fail_reason", reason)
        return bool(storage.set_trial_state_values(trial_id, state=TrialState.FAIL))
    except optuna.exceptions.UpdateFinishedTrialError:
        return False


def recover_abandoned(study: optuna.Study, max_retries: int) -> list[int]:
    """Fail and re-queue RUNNING trials whose coordinator on this host is gone.

    Trials of coordinators on other machines are left to the heartbeat (see
    ``fail_stale``). Returns the numbers of the trials failed.
    """
    failed = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        owner = t.system_attrs.get(OWNER_KEY)
        if owner is None or not _owner_gone(owner):
            continue
        reason = f"abandoned: its sweep process (pid {owner.get('pid')}) ended before it finished"
        if fail_trial(study, t._trial_id, reason):
            requeue(study, t, max_retries)
            failed.append(t.number)
    return failed


def fail_orphans(study: optuna.Study, heartbeat: float) -> list[int]:
    """Fail RUNNING trials that no coordinator took: asked for by a process that ended
    (killed) before it recorded itself as their owner, so neither ``recover_abandoned``
    nor the heartbeat can tell. A coordinator records its owner attribute and first
    heartbeat within moments of asking; a trial without them is given three heartbeat
    intervals and 10 s (by this machine's clock) before it is failed. It never trained.
    Returns the numbers of the trials failed.
    """
    limit = datetime.timedelta(seconds=3 * heartbeat + 10)
    now = datetime.datetime.now()
    failed = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if OWNER_KEY in t.system_attrs or t.datetime_start is None:
            continue
        if now - t.datetime_start > limit and fail_trial(
            study, t._trial_id, "abandoned: its sweep process ended before the trial started"
        ):
            failed.append(t.number)
    return failed


def fail_stale(study: optuna.Study, max_retries: int) -> list[int]:
    """Fail and re-queue trials whose heartbeat stopped (their machine vanished).

    Uses Optuna's heartbeat records (the storage must be opened with a heartbeat).
    Returns the numbers of the trials failed.
    """
    storage = study._storage
    if not isinstance(storage, optuna.storages._heartbeat.BaseHeartbeat):
        return []
    if storage.get_heartbeat_interval() is None:
        return []
    failed = []
    for trial_id in storage._get_stale_trial_ids(study._study_id):
        if fail_trial(study, trial_id, "stale: no heartbeat from the process running it"):
            trial = storage.get_trial(trial_id)
            requeue(study, trial, max_retries)
            failed.append(trial.number)
    return failed


@contextmanager
def _rdb_session(storage: optuna.storages.BaseStorage) -> Iterator[Any]:
    """One session and one commit, through the helper Optuna's own writes use."""
    from optuna.storages._rdb.storage import _create_scoped_session

    backend: Any = getattr(storage, "_backend", storage)
    with _create_scoped_session(backend.scoped_session) as session:
        yield session


def write_attrs(
    storage: optuna.storages.BaseStorage,
    user: dict[int, dict[str, Any]],
    system: dict[int, dict[str, Any]] | None = None,
    *,
    first_heartbeat: bool = False,
) -> None:
    """Set attributes of running trials (trial id -> attributes) in one transaction and,
    with ``first_heartbeat``, record the trials' first heartbeat in it too.

    Optuna's public API commits each attribute on its own, after two lookups; with an
    RDB backend this is one query for the trials' states, one for the keys they hold,
    and one multi-row insert of the new keys into Optuna's own tables; other storages
    get one call per key.

    Raises:
        optuna.exceptions.UpdateFinishedTrialError: one of the trials is finished;
            nothing is written then.
    """
    system = system or {}
    backend = getattr(storage, "_backend", storage)
    if isinstance(backend, optuna.storages.RDBStorage):
        from optuna.storages._rdb import models

        with _rdb_session(storage) as session:
            _check_all_running(session, {*user, *system})
            _upsert_attrs(session, models.TrialUserAttributeModel, user)
            _upsert_attrs(session, models.TrialSystemAttributeModel, system)
            if first_heartbeat:
                # A trial's first beat is a new row stamped with the database's time (the
                # column's default), as RDBStorage.record_heartbeat writes it: one query
                # for the trials that have one already, one insert for the others.
                beats = models.TrialHeartbeatModel
                ids = sorted({*user, *system})
                have = {
                    row[0] for row in session.query(beats.trial_id).filter(beats.trial_id.in_(ids))
                }
                new = [{"trial_id": trial_id} for trial_id in ids if trial_id not in have]
                if new:
                    session.execute(sqlalchemy.insert(beats), new)
        return
    _check_stored_running(storage, {*user, *system})
    for trial_id, attrs in user.items():
        for key, value in attrs.items():
            storage.set_trial_user_attr(trial_id, key, value)
    for trial_id, attrs in system.items():
        for key, value in attrs.items():
            storage.set_trial_system_attr(trial_id, key, value)
    if first_heartbeat and isinstance(storage, optuna.storages._heartbeat.BaseHeartbeat):
        for trial_id in {*user, *system}:
            storage.record_heartbeat(trial_id)


def write_intermediate(
    storage: optuna.storages.BaseStorage, values: dict[int, dict[int, float]]
) -> None:
    """Record intermediate values of several running trials (trial id -> step -> value)
    in one transaction: a pack reports all its members after each epoch.

    On an RDB storage this is one query for the trials' states and one multi-row insert,
    into Optuna's own table, instead of Optuna's two ORM lookups and a commit per value.
    Each step is written once per trial (the coordinator reports each epoch once).

    Raises:
        optuna.exceptions.UpdateFinishedTrialError: one of the trials is finished (another
            machine failed it as stale); nothing is written then.
    """
    values = {trial_id: steps for trial_id, steps in values.items() if steps}
    if not values:
        return
    backend = getattr(storage, "_backend", storage)
    if isinstance(backend, optuna.storages.RDBStorage):
        with _rdb_session(storage) as session:
            _check_all_running(session, set(values))
            _insert_intermediate(session, values)
        return
    _check_stored_running(storage, set(values))
    for trial_id, steps in values.items():
        for step, value in steps.items():
            storage.set_trial_intermediate_value(trial_id, step, value)


def _insert_intermediate(session: Any, values: dict[int, dict[int, float]]) -> None:
    """Insert intermediate values (trial id -> step -> value) in one multi-row insert."""
    from optuna.storages._rdb import models

    table = models.TrialIntermediateValueModel
    rows = []
    for trial_id, steps in values.items():
        for step, value in steps.items():
            stored, kind = table.intermediate_value_to_stored_repr(value)
            rows.append(
                {
                    "trial_id": trial_id,
                    "step": step,
                    "intermediate_value": stored,
                    "intermediate_value_type": kind,
                }
            )
    if rows:
        session.execute(sqlalchemy.insert(table), rows)


# A trial's end as the coordinator records it: the trial as it knows it (intermediate
# values included), its final state, its value (complete trials) and user attributes.
TrialEnd = tuple[FrozenTrial, TrialState, "float | None", dict[str, Any]]


def finish_trials(
    study: optuna.Study,
    ends: list[TrialEnd],
    steps: dict[int, dict[int, float]] | None = None,
) -> None:
    """Record the end of several running trials as ``Study.tell`` records each (the
    sampler's ``after_trial`` first; a pruned trial's value is its last intermediate
    value), with their user attributes and the epoch values not yet written (``steps``:
    trial id -> step -> value, written first): on an RDB storage in one transaction,
    one query for the trials' states, one for the attribute keys, one insert of epoch
    values, one update per state and one multi-row insert of values, instead of two
    reads and a commit per trial.

    Raises:
        optuna.exceptions.UpdateFinishedTrialError: one of the trials is finished;
            nothing is written then.
        ValueError: a complete trial without a finite value, or epoch values for a trial
            not among ``ends``; nothing is written then.
    """
    records: list[tuple[FrozenTrial, TrialState, list[float] | None, dict[str, Any]]] = []
    for frozen, state, value, attrs in ends:
        values: list[float] | None = None
        if state == TrialState.COMPLETE:
            if value is None or not math.isfinite(value):
                raise ValueError(f"trial {frozen.number} is complete without a finite value")
            values = [float(value)]
        elif state == TrialState.PRUNED and frozen.last_step is not None:
            last = frozen.intermediate_values[frozen.last_step]
            values = [float(last)] if math.isfinite(last) else None
        records.append((frozen, state, values, attrs))
    ids = {f._trial_id for f, *_ in records}
    steps = {trial_id: s for trial_id, s in (steps or {}).items() if s}
    if set(steps) - ids:
        raise ValueError("epoch values for a trial that does not end here")
    study._thread_local.cached_all_trials = None
    storage = study._storage
    try:
        for frozen, state, values, _ in records:
            filtered = optuna.pruners._filter_study(study, frozen)
            study.sampler.after_trial(filtered, frozen, state, values)
    finally:
        backend = getattr(storage, "_backend", storage)
        if isinstance(backend, optuna.storages.RDBStorage):
            _finish_rdb(storage, records, steps)
        else:
            _check_stored_running(storage, ids)
            write_intermediate(storage, steps)
            write_attrs(storage, {f._trial_id: a for f, _, _, a in records if a})
            for frozen, state, values, _ in records:
                storage.set_trial_state_values(frozen._trial_id, state, values)


def _utc_now() -> datetime.datetime:
    """Now, as RDBStorage stamps a trial's start and end: naive UTC."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def _finish_rdb(
    storage: optuna.storages.BaseStorage,
    records: list[tuple[FrozenTrial, TrialState, list[float] | None, dict[str, Any]]],
    steps: dict[int, dict[int, float]],
) -> None:
    from optuna.storages._rdb import models

    trials = models.TrialModel
    with _rdb_session(storage) as session:
        _check_all_running(session, {f._trial_id for f, *_ in records})
        _insert_intermediate(session, steps)
        _upsert_attrs(
            session, models.TrialUserAttributeModel, {f._trial_id: a for f, _, _, a in records}
        )
        now = _utc_now()
        by_state: dict[TrialState, list[int]] = {}
        rows = []
        for frozen, state, values, _ in records:
            by_state.setdefault(state, []).append(frozen._trial_id)
            for objective, value in enumerate(values or []):
                stored, kind = models.TrialValueModel.value_to_stored_repr(value)
                rows.append(
                    {
                        "trial_id": frozen._trial_id,
                        "objective": objective,
                        "value": stored,
                        "value_type": kind,
                    }
                )
        table = trials.__table__
        for state, ids in by_state.items():
            session.execute(
                sqlalchemy.update(table)
                .where(table.c.trial_id.in_(ids))
                .values(state=state, datetime_complete=now)
            )
        if rows:
            session.execute(sqlalchemy.insert(models.TrialValueModel), rows)


_TPE_RELATIVE_PARAMS = "tpe:relative_params:"


def _create_trials(storage: optuna.storages.BaseStorage, study_id: int, k: int) -> list[int]:
    """Create ``k`` running trials; their ids, in order of their numbers.

    On an RDB storage in one transaction of five statements, whatever ``k``, where
    ``RDBStorage.create_new_trial`` spends three per trial; retried as it retries a
    deadlock. The result is the same: the study's row is locked while the trials are
    numbered, and each trial's number counts the study's trials with smaller ids.
    """
    if k <= 0:
        return []
    backend: Any = getattr(storage, "_backend", storage)
    if not isinstance(backend, optuna.storages.RDBStorage):
        return [storage.create_new_trial(study_id) for _ in range(k)]
    from optuna.storages._rdb import models

    table = models.TrialModel.__table__
    attempts = 5
    for attempt in range(1, attempts + 1):
        try:
            with _rdb_session(storage) as session:
                models.StudyModel.find_or_raise_by_id(study_id, session, for_update=True)
                # Inserted unnumbered first, as Optuna does: once they are in, no other
                # writer can add trials to the study before this transaction ends (the lock
                # above; SQLite's single writer), so the count below is final.
                row = {"study_id": study_id, "number": None, "state": TrialState.RUNNING}
                session.execute(
                    sqlalchemy.insert(table), [{**row, "datetime_start": _utc_now()}] * k
                )
                ids = [
                    int(i)
                    for (i,) in session.execute(
                        sqlalchemy.select(table.c.trial_id)
                        .where(table.c.study_id == study_id, table.c.number.is_(None))
                        .order_by(table.c.trial_id)
                    )
                ]
                if len(ids) != k:  # pragma: no cover - an unnumbered trial someone committed
                    raise RuntimeError(f"created {k} trials but found {len(ids)} unnumbered")
                before = session.execute(
                    sqlalchemy.select(sqlalchemy.func.count(table.c.trial_id)).where(
                        table.c.study_id == study_id, table.c.trial_id < ids[0]
                    )
                ).scalar_one()
                session.execute(
                    sqlalchemy.update(table)
                    .where(table.c.trial_id == sqlalchemy.bindparam("id_"))
                    .values(number=sqlalchemy.bindparam("number_")),
                    [{"id_": i, "number_": before + n} for n, i in enumerate(ids)],
                )
                return ids
        except optuna.exceptions.StorageInternalError:
            if attempt == attempts:
                raise
            time.sleep(random.random() * 2.0)
    raise AssertionError("not reached")


class PackView:
    """Stands in for the study's storage while a pack of trials is asked and sampled.

    Reads: the study is read once, when the pack's trials are created, and the pack's
    own trials are seen as sampled so far. With the constant liar, TPE reads the
    storage for every trial it samples, to count running trials as observations;
    through this view each member sees the members sampled before it (with their
    parameters) without a read per trial, and without the parameters having to be
    written one commit at a time.
    Writes: sampled parameters are collected and written together by :meth:`flush`
    (one transaction for the pack); system attributes the sampler sets on the pack's
    trials are collected in :attr:`system` for the caller's one write of attributes
    (except TPE's note of jointly sampled parameters, see ``set_trial_system_attr``).
    Everything else goes to the storage as usual.

    Use (as the coordinator does)::

        view = PackView(study, distributions)
        view.ask(k, asked)               # pop waiting trials, create the rest
        trials, configs = view.sample(space, asked)
        view.flush()
    """

    def __init__(self, study: optuna.Study, distributions: dict[str, Any]) -> None:
        self.study = study
        self.storage = study._storage
        self.study_id = study._study_id
        self.trials: dict[int, FrozenTrial] = {}
        self._by_id: dict[int, FrozenTrial] = {}
        self.created: set[int] = set()  # ids of the trials ask() created (not taken waiting)
        self.partial = False  # the view holds only the new trials (see ask)
        self.params: list[tuple[int, str, float, Any]] = []
        self.system: dict[int, dict[str, Any]] = {}
        # The first distribution the study holds under each parameter name (Optuna checks
        # every new parameter against it); kept by the caller across packs.
        self.distributions = distributions

    def __getattr__(self, name: str) -> Any:
        return getattr(self.storage, name)

    # -- reads --------------------------------------------------------------------------------
    def get_all_trials(
        self, study_id: int, deepcopy: bool = True, states: Any = None
    ) -> list[FrozenTrial]:
        if study_id != self.study_id:
            return self.storage.get_all_trials(study_id, deepcopy=deepcopy, states=states)
        out = [t for _, t in sorted(self.trials.items()) if states is None or t.state in states]
        return copy.deepcopy(out) if deepcopy else out

    def get_trial(self, trial_id: int) -> FrozenTrial:
        trial = self._by_id.get(trial_id)
        if trial is None:
            return self.storage.get_trial(trial_id)
        return copy.deepcopy(trial)

    # -- writes -------------------------------------------------------------------------------
    def set_trial_param(
        self, trial_id: int, param_name: str, param_value_internal: float, distribution: Any
    ) -> None:
        self.params.append((trial_id, param_name, param_value_internal, distribution))

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:
        if key.startswith(_TPE_RELATIVE_PARAMS):
            # TPE notes a trial's jointly sampled parameters for other processes to read
            # before the trial has suggested them all. A pack's parameters are written
            # together before anyone can see its trials, so the note says nothing new,
            # and TPE would parse it back for every trial at every later sample.
            return
        self.system.setdefault(trial_id, {})[key] = value

    # -- the pack -----------------------------------------------------------------------------
    def ask(self, k: int, asked: list[int], new: int | None = None) -> None:
        """Start ``k`` trials, appending their ids to ``asked`` as each is taken: waiting
        ones first (retries, enqueued trials), as ``Study.ask`` takes them, then new ones.
        With ``new`` (sampling ahead: the new trials will take parameters sampled
        elsewhere, no more than ``new`` of them), the sampler does not run here unless a
        waiting trial was taken, so only the new trials are read."""
        start = len(asked)
        backend: Any = getattr(self.storage, "_backend", self.storage)
        waiting = self.storage.get_all_trials(
            self.study_id, deepcopy=False, states=(TrialState.WAITING,)
        )
        for trial in waiting:
            if len(asked) - start >= k:
                break
            try:
                taken = self.storage.set_trial_state_values(
                    trial._trial_id, state=TrialState.RUNNING
                )
            except optuna.exceptions.UpdateFinishedTrialError:
                continue
            if taken:
                asked.append(trial._trial_id)
        more = k - (len(asked) - start)
        created = _create_trials(
            self.storage, self.study_id, more if new is None else min(more, new)
        )
        self.created.update(created)
        taken_waiting = len(asked) > start
        asked.extend(created)
        # One read for the pack's new trials, which Trial() would otherwise read one by one.
        self.partial = (
            new is not None
            and created != []
            and not taken_waiting
            and isinstance(backend, optuna.storages.RDBStorage)
        )
        if self.partial:
            # The trials from the first new one on (another machine's may be among them).
            self._hold(backend._get_trials(self.study_id, None, set(), min(created) - 1))
        else:
            self._hold(self.storage.get_all_trials(self.study_id, deepcopy=False))

    def _hold(self, trials: Sequence[FrozenTrial]) -> None:
        """Make ``trials`` the study as this view shows it."""
        self.trials = {t.number: t for t in trials}
        self._by_id = {t._trial_id: t for t in trials}

    def imagine(self, k: int, running: Sequence[int]) -> list[int]:
        """Instead of :meth:`ask`, for sampling ahead: ``k`` new running trials that exist
        only in this view (ids below zero), after the study's trials as read now, except
        that the trials with ids in ``running`` are seen still running, as they were when
        the pack was requested, whatever they have become since (so what the sampler
        sees does not depend on when it reads). Returns the new trials' ids; nothing is
        written, and :meth:`flush` must not be called."""
        then = set(running)
        trials = []
        for t in self.storage.get_all_trials(self.study_id, deepcopy=False):
            if t._trial_id in then and t.state != TrialState.RUNNING:
                t = copy.copy(t)
                t.state, t.values, t.datetime_complete = TrialState.RUNNING, None, None
            trials.append(t)
        number = max((t.number for t in trials), default=-1) + 1
        now = datetime.datetime.now()
        for i in range(k):
            trials.append(
                FrozenTrial(
                    number=number + i,
                    state=TrialState.RUNNING,
                    value=None,
                    values=None,
                    datetime_start=now,
                    datetime_complete=None,
                    params={},
                    distributions={},
                    user_attrs={},
                    system_attrs={},
                    intermediate_values={},
                    trial_id=-1 - i,
                )
            )
        self._hold(trials)
        return [-1 - i for i in range(k)]

    def sample(
        self,
        space: SpaceSpec,
        trial_ids: list[int],
        proposed: Sequence[dict[str, Any]] = (),
    ) -> tuple[list[optuna.Trial], list[TrialConfig]]:
        """Sample the trials in order, each seeing the ones before it. The trials this
        view created take the parameters ``proposed`` (sampled ahead, in order) while
        they last, as fixed parameters instead of the sampler's."""
        study = self.study
        trials, configs = [], []
        left = list(proposed)
        study._storage = self  # type: ignore[assignment]  # what the sampler reads
        study._thread_local.cached_all_trials = None
        try:
            for trial_id in trial_ids:
                trial = optuna.Trial(study, trial_id)
                if left and trial_id in self.created:
                    # As an enqueued trial's: every suggest returns them, no sampler runs.
                    trial._fixed_params = left.pop(0)
                elif self.partial:  # the sampler would see only the new trials
                    raise AssertionError("a trial without proposed parameters after ask(new=)")
                frozen = trial._cached_frozen_trial  # read after ask(): RUNNING
                self.trials[frozen.number] = frozen  # filled in as it is sampled
                trials.append(trial)
                configs.append(sample_config(space, trial))
        finally:
            study._storage = self.storage
            study._thread_local.cached_all_trials = None
            for trial in trials:
                trial.storage = self.storage
        return trials, configs

    def flush(self) -> None:
        """Write the collected parameters, in one transaction on an RDB storage.

        Raises:
            ValueError: a parameter's distribution conflicts with the study's (Optuna's
                check); nothing is written then.
            optuna.exceptions.UpdateFinishedTrialError: a trial finished meanwhile.
        """
        params, self.params = self.params, []
        backend = getattr(self.storage, "_backend", self.storage)
        if not isinstance(backend, optuna.storages.RDBStorage):
            for args in params:
                self.storage.set_trial_param(*args)
            return
        from optuna.storages._rdb import models

        known = self.distributions
        with _rdb_session(self.storage) as session:
            _check_all_running(session, {p[0] for p in params})
            for name in {p[1] for p in params} - set(known):
                first = (
                    session.query(models.TrialParamModel.distribution_json)
                    .join(models.TrialModel)
                    .filter(models.TrialModel.study_id == self.study_id)
                    .filter(models.TrialParamModel.param_name == name)
                    .first()
                )
                if first is not None:
                    known[name] = optuna.distributions.json_to_distribution(first[0])
            rows = []
            for trial_id, name, value, distribution in params:
                if name in known:
                    optuna.distributions.check_distribution_compatibility(known[name], distribution)
                else:
                    known[name] = distribution
                rows.append(
                    {
                        "trial_id": trial_id,
                        "param_name": name,
                        "param_value": value,
                        "distribution_json": optuna.distributions.distribution_to_json(
                            distribution
                        ),
                    }
                )
            if rows:
                session.execute(sqlalchemy.insert(models.TrialParamModel), rows)


def _check_all_running(session: Any, trial_ids: set[int]) -> None:
    """Raise (before anything is written) if any of the trials is missing or finished.

    Optuna's own per-write check reads a finished trial through the same session and
    so would commit the writes before it.
    """
    from optuna.storages._rdb import models

    trials = models.TrialModel
    states = dict(
        session.query(trials.trial_id, trials.state).filter(trials.trial_id.in_(trial_ids)).all()
    )
    for trial_id in trial_ids:
        if trial_id not in states:
            raise KeyError(f"no trial with trial id {trial_id}")
        _check_running(trial_id, states[trial_id])


def _upsert_attrs(session: Any, model: Any, attrs: dict[int, dict[str, Any]]) -> None:
    """Insert the new (trial, key) attributes in one statement and update the others."""
    if not any(attrs.values()):
        return
    present = set(
        session.query(model.trial_id, model.key).filter(model.trial_id.in_(list(attrs))).all()
    )
    rows = []
    for trial_id, values in attrs.items():
        for key, value in values.items():
            if (trial_id, key) in present:
                session.query(model).filter(model.trial_id == trial_id, model.key == key).update(
                    {"value_json": json.dumps(value)}
                )
            else:
                rows.append({"trial_id": trial_id, "key": key, "value_json": json.dumps(value)})
    if rows:
        session.execute(sqlalchemy.insert(model), rows)


def _check_stored_running(storage: optuna.storages.BaseStorage, trial_ids: set[int]) -> None:
    """As ``_check_all_running``, for a storage that is not an RDB one."""
    for trial_id in trial_ids:
        _check_running(trial_id, storage.get_trial(trial_id).state)


def _check_running(trial_id: int, state: TrialState) -> None:
    if state.is_finished():
        raise optuna.exceptions.UpdateFinishedTrialError(
            f"trial id {trial_id} has already finished and can not be updated"
        )
