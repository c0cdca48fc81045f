"""Storage: Optuna's own RDB schema, in SQLite by default or any SQLAlchemy URL.

This module turns a user's URL into an ``optuna.storages.RDBStorage``:
shorthand paths become SQLite URLs, drivers that install with sweep are
picked for PostgreSQL and MySQL, SQLite gets settings that suit one writer
and many readers, and every failure becomes a one-line StorageError that
never shows the URL's password.
"""

from __future__ import annotations

import logging
import os
import random
import re
import time
import warnings
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from sweep.errors import StorageError

__all__ = [
    "DEFAULT_STORAGE",
    "normalize_url",
    "redact",
    "open_storage",
    "sqlite_path",
    "artifact_dir",
]

DEFAULT_STORAGE = "sqlite:///sweeps.db"

# Drivers that install with sweep; SQLAlchemy's defaults (mysqlclient) may not be there.
_DRIVERS = {"mysql": "mysql+pymysql", "mariadb": "mariadb+pymysql", "postgres": "postgresql"}


def normalize_url(url: str) -> str:
    """A full SQLAlchemy URL: a bare path means an SQLite file; driverless MySQL uses PyMySQL."""
    if "://" not in url:
        return f"sqlite:///{url}"
    scheme, rest = url.split("://", 1)
    return f"{_DRIVERS.get(scheme, scheme)}://{rest}"


def redact(url: str) -> str:
    """The URL with its password replaced by ***; safe to print and log."""
    try:
        return make_url(normalize_url(url)).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return re.sub(r"://([^:/@]*):[^@]*@", r"://\1:***@", url)


def _scrub(text: str, url: str) -> str:
    try:
        password = make_url(normalize_url(url)).password
    except (ArgumentError, ValueError):
        password = None
    if password:
        text = text.replace(str(password), "***")
    return text


def sqlite_path(url: str) -> Path | None:
    """The database file of an SQLite URL (None for other backends or in-memory SQLite)."""
    u = make_url(normalize_url(url))
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def artifact_dir(url: str) -> Path:
    """Where trial artifacts (model weights) go: beside an SQLite file, else ./sweep-artifacts.

    ``SWEEP_ARTIFACTS`` overrides it (workers on several machines should point it at
    a shared folder).
    """
    if os.environ.get("SWEEP_ARTIFACTS"):
        return Path(os.environ["SWEEP_ARTIFACTS"])
    path = sqlite_path(url)
    if path is not None:
        return path.with_name(path.stem + ".artifacts")
    return Path("sweep-artifacts")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the reports and the optuna CLI read while a sweep writes; NORMAL sync
    # in WAL mode is safe against a killed process (only power loss can drop the
    # last commits) and halves the cost of each commit.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def open_storage(
    url: str,
    *,
    create: bool = True,
    heartbeat: int | None = None,
) -> optuna.storages.RDBStorage:
    """Open (and, with ``create``, initialise) the storage at ``url``.

    Args:
        url: SQLAlchemy URL or a path to an SQLite file.
        create: Create the database file and tables if missing. Readers pass False, so
            that a typo in a path does not leave an empty database behind.
        heartbeat: Seconds between trial heartbeats; trials silent for three times
            as long are stale (``sweep.study.fail_stale`` fails and re-queues them).

    Raises:
        StorageError: the URL is malformed, its driver is missing, the server is
            unreachable, or (``create=False``) the SQLite file does not exist.
    """
    full = normalize_url(url)
    try:
        parsed = make_url(full)
    except (ArgumentError, ValueError):
        raise StorageError(f"storage: not a database URL: {redact(url)}") from None
    path = sqlite_path(full)
    engine_kwargs: dict[str, Any] = {}
    if path is not None:
        if not create and not path.exists():
            raise StorageError(f"storage: no database at {path}")
        if not path.parent.exists():
            raise StorageError(f"storage: folder {path.parent} does not exist (for {path})")
        engine_kwargs["connect_args"] = {"timeout": 60}
    elif parsed.get_backend_name() != "sqlite":
        engine_kwargs["pool_pre_ping"] = True
        engine_kwargs["connect_args"] = _connect_timeout(parsed.get_backend_name())
    kwargs: dict[str, Any] = {}
    if heartbeat is not None:
        kwargs = {"heartbeat_interval": heartbeat, "grace_period": 3 * heartbeat}
    # Optuna's schema migrations log each step through Alembic at INFO; set here,
    # where a storage is opened, so that importing sweep configures no logging.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    storage = _create(full, url, engine_kwargs, kwargs)
    if path is not None:
        sqlalchemy.event.listen(storage.engine, "connect", _sqlite_pragmas)
        storage.engine.dispose()
    return storage


_ATTEMPTS = 8


def _create(
    full: str, url: str, engine_kwargs: dict[str, Any], kwargs: dict[str, Any]
) -> optuna.storages.RDBStorage:
    """``RDBStorage(full)``, retried while other processes race to create the tables."""
    # Several processes starting at once race on creating the tables: the losers
    # back off (with jitter) until the winner has finished, then open what it made.
    attempt = 0
    while True:
        try:
            with warnings.catch_warnings():
                # Optuna marks heartbeats experimental; sweep depends on them on purpose.
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return optuna.storages.RDBStorage(full, engine_kwargs=engine_kwargs, **kwargs)
        except (SQLAlchemyError, optuna.exceptions.StorageInternalError) as e:
            attempt += 1
            if not _is_race(e) or attempt == _ATTEMPTS:
                raise StorageError(
                    f"storage: cannot open {redact(url)}: {_reason(e, url)}"
                ) from None
        except (ImportError, ModuleNotFoundError) as e:
            raise StorageError(f"storage: driver missing for {redact(url)}: {e}") from None
        except ValueError as e:
            raise StorageError(
                f"storage: cannot open {redact(url)}: {_scrub(str(e), url)}"
            ) from None
        except RuntimeError as e:  # e.g. the schema is newer than this Optuna
            raise StorageError(f"storage: {redact(url)}: {_scrub(str(e), url)}") from None
        time.sleep(random.uniform(0.5, 1.5) * min(2.0, 0.1 * 2**attempt))


def _connect_timeout(backend: str) -> dict[str, Any]:
    if backend == "postgresql":
        return {"connect_timeout": 10}
    if backend in ("mysql", "mariadb"):
        return {"connect_timeout": 10}
    return {}


def _is_race(e: Exception) -> bool:
    text = str(e).lower()
    return "already exists" in text or "duplicate" in text or "unique constraint" in text


def _reason(e: Exception, url: str) -> str:
    """The first meaningful line of a driver's error, without the password."""
    inner = getattr(e, "orig", None) or e.__cause__ or e
    text = str(inner).strip().splitlines()
    line = next((t.strip() for t in text if t.strip()), type(inner).__name__)
    return _scrub(line, url)
