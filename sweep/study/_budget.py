"""The trial budget: counting a study's trials, and the lock around "count, then start".

Without the lock two coordinators could both see one trial left and both start one.
It is the database's own where it has one (PostgreSQL advisory locks, MySQL and
MariaDB ``GET_LOCK``), and a lock file beside an SQLite database.
"""

from __future__ import annotations

import fcntl
import logging
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import optuna
import sqlalchemy
from optuna.trial import TrialState

from sweep.storage import sqlite_path
from sweep.study import _optuna_internals as internals
from sweep.study._keys import FINISHED

log = logging.getLogger("sweep")

# Seconds one GET_LOCK call waits before it returns 0 and is asked again.
_MYSQL_WAIT = 60


def counts(study: optuna.Study) -> tuple[int, int]:
    """(finished, running) trials of the study, across every machine."""
    by_state = internals.count_by_state(study)
    if by_state is None:
        storage, study_id = internals.storage_of(study), internals.study_id(study)
        by_state = {
            state: storage.get_n_trials(study_id, state)
            for state in (*FINISHED, TrialState.RUNNING)
        }
    return sum(by_state.get(s, 0) for s in FINISHED), by_state.get(TrialState.RUNNING, 0)


@contextmanager
def budget_lock(storage: optuna.storages.BaseStorage, study_name: str) -> Iterator[None]:
    """Serialise "count the trials, then start new ones" across coordinators of a study."""
    storage = internals.backend_of(storage)
    if not isinstance(storage, optuna.storages.RDBStorage):
        yield  # an in-memory storage has one coordinator
        return
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
        name = f"sweep{key}"
        with storage.engine.connect() as conn:
            _mysql_lock(conn, name, study_name)
            try:
                yield
            finally:
                conn.execute(sqlalchemy.text("SELECT RELEASE_LOCK(:k)"), {"k": name})
        return
    yield


def _mysql_lock(conn: sqlalchemy.Connection, name: str, study_name: str) -> None:
    """Take ``GET_LOCK(name)``, asking again for as long as it times out: it returns 1 once
    taken, 0 after its wait, and NULL on an error (which is raised)."""
    waited = 0
    while True:
        got = conn.execute(
            sqlalchemy.text("SELECT GET_LOCK(:k, :s)"), {"k": name, "s": _MYSQL_WAIT}
        ).scalar()
        if got == 1:
            return
        if got is None:
            raise optuna.exceptions.StorageInternalError(
                f"GET_LOCK({name!r}) failed for study {study_name!r}"
            )
        waited += _MYSQL_WAIT
        log.warning(
            "waiting for the budget lock of study %r (%d s so far): another coordinator holds it",
            study_name,
            waited,
        )
