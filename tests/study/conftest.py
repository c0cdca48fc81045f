"""The storages every study test runs against."""

from __future__ import annotations

import optuna
import pytest

from sweep.storage import open_storage


@pytest.fixture(params=["sqlite", "postgres", "mysql", "memory"])
def storage(request: pytest.FixtureRequest, tmp_path) -> optuna.storages.BaseStorage:
    """Each kind of storage a study can live on (RDB ones with a heartbeat, as sweep opens
    them for a run)."""
    if request.param == "memory":
        return optuna.storages.InMemoryStorage()
    if request.param == "sqlite":
        return open_storage(f"sqlite:///{tmp_path}/s.db", create=True, heartbeat=10)
    url = request.getfixturevalue(f"{request.param}_url")
    return open_storage(url, create=True, heartbeat=10)
