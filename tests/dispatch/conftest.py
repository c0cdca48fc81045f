"""Helpers for the fault tests: a sweep started as a real background process, and a
reader that watches its database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import optuna
from optuna.trial import FrozenTrial, TrialState

SLOW_STUDY = """
[study]
name = "{name}"
trials = {trials}
pruner = "none"
sampler = "random"
seed = 0

[data]
source = "moons"
n_samples = {n_samples}
noise = 0.2

[train]
epochs = {epochs}

[space]
depth = 2
width = {{ low = 8, high = 32 }}
activation = ["relu", "tanh"]
optimizer = ["adam", "sgd"]
lr = {{ low = 1e-3, high = 1e-1, log = true }}
batch_size = 16

[run]
heartbeat = {heartbeat}
"""


def slow_study(
    directory: Path,
    *,
    name: str = "slow",
    trials: int = 8,
    epochs: int = 16,
    n_samples: int = 4000,
    heartbeat: int = 2,
) -> Path:
    """Trials of about a second each on this machine: long enough to be caught mid-trial."""
    path = directory / f"{name}.toml"
    path.write_text(
        SLOW_STUDY.format(
            name=name, trials=trials, epochs=epochs, n_samples=n_samples, heartbeat=heartbeat
        )
    )
    return path


def _as_a_terminal_starts_it() -> None:
    """Ctrl-C's default disposition in the child: a suite started in the background by a
    non-interactive shell ignores SIGINT, and Python keeps an inherited SIG_IGN, so the
    sweep would never see the Ctrl-C the tests send."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_sweep(*args: str, cwd: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "SWEEP_DEBUG"}
    return subprocess.Popen(
        [sys.executable, "-m", "sweep", "run", *args, "--quiet", "--no-report"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal would give it
        preexec_fn=_as_a_terminal_starts_it,
    )


def trials(url: str, name: str) -> list[FrozenTrial]:
    try:
        return optuna.load_study(study_name=name, storage=url).get_trials(deepcopy=False)
    except KeyError:
        return []


def wait_for(
    predicate: Callable[[], object], timeout: float = 120.0, what: str = "condition"
) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def running_with_progress(url: str, name: str) -> list[FrozenTrial]:
    """RUNNING trials that have reported at least one epoch."""
    return [t for t in trials(url, name) if t.state == TrialState.RUNNING and t.intermediate_values]


def kill_group(proc: subprocess.Popen[str], sig: int = signal.SIGKILL) -> None:
    os.killpg(proc.pid, sig)
