"""Studies the report tests share: two real small sweeps in one SQLite database
(binary moons, regression of a sine with scaled targets) and a 10,000-trial study
built through Optuna's API."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import optuna
import pytest

import sweep
from tests.conftest import write_study
from tests.report.large_study import build_large_study

REGRESSION_STUDY = """
[study]
name = "{name}"
trials = {trials}
seed = 0
sampler_startup = 3
pruner = "none"

[data]
source = "function"
function = "sin"
n_samples = 160
noise = 0.05
scale_targets = true

[train]
epochs = 3

[space]
depth = {{ low = 1, high = 2 }}
width = {{ low = 8, high = 32, log = true }}
activation = ["relu", "tanh", "sum"]
optimizer = ["adam", "rmsprop"]
lr = {{ low = 1e-3, high = 3e-2, log = true }}
batch_size = 32
"""


def write_regression_study(directory: Path, name: str = "reg", trials: int = 4) -> Path:
    path = directory / f"{name}.toml"
    path.write_text(REGRESSION_STUDY.format(name=name, trials=trials))
    return path


@dataclass(frozen=True)
class Sweeps:
    """A database holding two finished sweeps."""

    directory: Path
    url: str
    binary: str  # study names
    regression: str


@pytest.fixture(scope="session")
def sweeps(tmp_path_factory: pytest.TempPathFactory) -> Sweeps:
    work = tmp_path_factory.mktemp("sweeps")
    url = f"sqlite:///{work / 'sweeps.db'}"
    binary = write_study(work, name="moons", trials=6, epochs=3)
    sweep.run_study(sweep.load_spec(binary), storage=url, display="none")
    reg = write_regression_study(work)
    sweep.run_study(sweep.load_spec(reg), storage=url, display="none")
    return Sweeps(work, url, "moons", "reg")


@pytest.fixture(scope="session")
def big_study() -> optuna.Study:
    """10,000 finished trials (complete, pruned, failed) in memory, built in seconds."""
    return build_large_study(10_000)


def dashboard_get(app: Any, path: str) -> tuple[str, Any]:
    """GET ``path`` from optuna-dashboard's WSGI ``app``: (status, the JSON body)."""
    environ: dict[str, Any] = {"PATH_INFO": path, "REQUEST_METHOD": "GET"}
    setup_testing_defaults(environ)
    status: list[str] = []
    body = b"".join(app(environ, lambda s, headers, exc_info=None: status.append(s)))
    return status[0], json.loads(body) if body else None
