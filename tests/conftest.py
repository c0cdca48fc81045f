"""Shared fixtures: small study files, temporary SQLite storages, the CLI in a subprocess,
and a fresh PostgreSQL/MySQL database per test where a server is reachable."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REQUIRE_SERVERS = bool(os.environ.get("SWEEP_REQUIRE_SERVERS"))

SMALL_STUDY = """
[study]
name = "{name}"
trials = {trials}
seed = 0
sampler_startup = 4
pruner_startup = 3

[data]
source = "moons"
n_samples = 240
noise = 0.25

[train]
epochs = {epochs}

[space]
depth = {{ low = 1, high = 2 }}
width = {{ low = 4, high = 16, log = true }}
activation = ["relu", "tanh", "split", "sum"]
loss = ["bce", "mse", "quartic"]
optimizer = ["sgd", "adam", "rmsprop"]
lr = {{ low = 1e-3, high = 1e-1, log = true }}
batch_size = 32
"""


def write_study(
    directory: Path, name: str = "small", trials: int = 6, epochs: int = 3, extra: str = ""
) -> Path:
    """A small, fast study file (moons, 240 points, a few epochs)."""
    path = directory / f"{name}.toml"
    path.write_text(
        SMALL_STUDY.format(name=name, trials=trials, epochs=epochs) + textwrap.dedent(extra)
    )
    return path


@pytest.fixture(autouse=True, scope="session")
def _step_cost_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Point ``SWEEP_CACHE_DIR`` at a folder of the session's, for this process and the
    sweeps and workers its tests start: the suite never writes to the user's cache, and
    the step costs are measured once per thread count, not once per test."""
    before = os.environ.get("SWEEP_CACHE_DIR")
    os.environ["SWEEP_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield
    if before is None:
        os.environ.pop("SWEEP_CACHE_DIR", None)
    else:
        os.environ["SWEEP_CACHE_DIR"] = before


@pytest.fixture
def study_file(tmp_path: Path) -> Path:
    return write_study(tmp_path)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'sweeps.db'}"


def run_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """The real ``sweep`` command line in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    if "SWEEP_DEBUG" not in (env or {}):
        full_env.pop("SWEEP_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "sweep", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def assert_one_line_error(out: subprocess.CompletedProcess[str], *needles: str) -> None:
    """``out`` is a bad-input exit: code 2, one ``error:`` line holding each of ``needles``,
    no traceback."""
    assert out.returncode == 2, (out.stdout, out.stderr)
    err = out.stderr.strip()
    assert err.startswith("error: ") and "\n" not in err, err
    assert "Traceback" not in out.stderr + out.stdout
    for needle in needles:
        assert needle in err, (needle, err)


def _server_or_skip(kind: str, probe) -> None:
    try:
        probe()
    except Exception as e:  # no server here: skip, unless CI says the server must be up
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        reason = f"no {kind} server reachable ({type(e).__name__}: {first})"
        if REQUIRE_SERVERS:
            pytest.fail(f"{reason}; SWEEP_REQUIRE_SERVERS is set")
        pytest.skip(reason)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    import sqlalchemy

    base = os.environ.get("SWEEP_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
    admin = sqlalchemy.create_engine(
        base, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5}
    )

    def probe() -> None:
        with admin.connect() as c:
            c.execute(sqlalchemy.text("SELECT 1"))

    _server_or_skip("PostgreSQL", probe)
    name = f"sweep_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as c:
        c.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    url = base.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as c:
            c.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def mysql_url() -> Iterator[str]:
    """A fresh MySQL/MariaDB database for one test, dropped afterwards."""
    import sqlalchemy

    base = os.environ.get("SWEEP_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306/test")
    admin = sqlalchemy.create_engine(base, connect_args={"connect_timeout": 5})

    def probe() -> None:
        with admin.connect() as c:
            c.execute(sqlalchemy.text("SELECT 1"))

    _server_or_skip("MySQL", probe)
    name = f"sweep_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as c:
        c.execute(sqlalchemy.text(f"CREATE DATABASE `{name}`"))
        c.commit()
    url = base.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as c:
            c.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS `{name}`"))
            c.commit()
        admin.dispose()
