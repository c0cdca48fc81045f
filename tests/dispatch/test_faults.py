"""Faults with real processes and a real SQLite file: a worker killed mid-trial, the whole
sweep killed with SIGKILL, Ctrl-C, and a trial left behind by a machine that vanished."""

from __future__ import annotations

import os
import signal
from collections import Counter
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

import sweep
from sweep.config import load_spec
from sweep.storage import open_storage
from sweep.study import OWNER_KEY
from tests.dispatch.conftest import (
    kill_group,
    running_with_progress,
    slow_study,
    start_sweep,
    trials,
    wait_for,
)

pytestmark = pytest.mark.slow


def _complete(url: str, name: str) -> list[optuna.trial.FrozenTrial]:
    return [t for t in trials(url, name) if t.state == TrialState.COMPLETE]


def test_a_worker_killed_mid_trial_is_failed_requeued_and_replaced(tmp_path: Path) -> None:
    study = slow_study(tmp_path, trials=6)
    url = f"sqlite:///{tmp_path / 'sweeps.db'}"
    proc = start_sweep(
        str(study), "--per-device", "2", "--pack", "1", "--storage", url, cwd=tmp_path
    )
    try:
        victim = wait_for(lambda: running_with_progress(url, "slow"), what="a trial under way")[0]
        os.kill(int(victim.user_attrs["worker_pid"]), signal.SIGKILL)
        out, err = proc.communicate(timeout=240)
    finally:
        if proc.poll() is None:
            kill_group(proc)
    assert proc.returncode == 0, err
    everything = trials(url, "slow")
    killed = next(t for t in everything if t.number == victim.number)
    assert killed.state == TrialState.FAIL
    assert "worker died (killed by SIGKILL)" in killed.user_attrs["fail_reason"]
    retry = [t for t in everything if t.user_attrs.get("retry_of") == victim.number]
    assert len(retry) == 1 and retry[0].state == TrialState.COMPLETE
    assert retry[0].params == killed.params
    assert len(_complete(url, "slow")) == 6
    assert {t.user_attrs["worker"] for t in _complete(url, "slow")} == {"cpu#0", "cpu#1"}


@pytest.mark.parametrize("per_device", [1, 2])
def test_sigkill_of_the_whole_sweep_then_resume_finishes_the_budget(
    tmp_path: Path, per_device: int
) -> None:
    study = slow_study(tmp_path, trials=8)
    url = f"sqlite:///{tmp_path / 'sweeps.db'}"
    args = (str(study), "--per-device", str(per_device), "--pack", "1", "--storage", url)
    proc = start_sweep(*args, cwd=tmp_path)
    try:
        wait_for(
            lambda: len(_complete(url, "slow")) >= 2 and running_with_progress(url, "slow"),
            what="progress",
        )
    finally:
        kill_group(proc)
        proc.wait(timeout=30)
    before = {t.number: t.value for t in _complete(url, "slow")}
    # running trial -> whether its sweep had taken it (it trained); one the kill caught
    # between asking and taking it never trained, and is failed without a retry
    stranded = {
        t.number: OWNER_KEY in t.system_attrs
        for t in trials(url, "slow")
        if t.state == TrialState.RUNNING
    }
    assert any(stranded.values()), "the kill should leave running trials behind"

    again = start_sweep(*args, cwd=tmp_path)
    out, err = again.communicate(timeout=240)
    assert again.returncode == 0, err
    everything = trials(url, "slow")
    complete = _complete(url, "slow")
    assert len(complete) == 8  # the budget, exactly
    assert all(before[n] == v for n, v in ((t.number, t.value) for t in complete) if n in before)
    assert set(before) <= {t.number for t in complete}  # no completed trial lost
    for number, taken in stranded.items():
        t = next(t for t in everything if t.number == number)
        assert t.state == TrialState.FAIL and t.user_attrs["fail_reason"].startswith("abandoned")
        assert any(r.user_attrs.get("retry_of") == number for r in everything) == taken
    assert not [t for t in everything if t.state == TrialState.RUNNING]
    assert len({t.number for t in everything}) == len(everything)


def test_ctrl_c_marks_running_trials_and_a_rerun_resumes(tmp_path: Path) -> None:
    study = slow_study(tmp_path, trials=6)
    url = f"sqlite:///{tmp_path / 'sweeps.db'}"
    args = (str(study), "--per-device", "2", "--pack", "1", "--storage", url)
    proc = start_sweep(*args, cwd=tmp_path)
    try:
        wait_for(lambda: running_with_progress(url, "slow"), what="a trial under way")
        kill_group(proc, signal.SIGINT)  # what Ctrl-C sends: the whole foreground group
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            kill_group(proc)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1].startswith("stopped: Ctrl-C; the trials it stopped")
    last = optuna.load_study(study_name="slow", storage=url).user_attrs["sweep.last_run"]
    assert last["stopped"] == "Ctrl-C"
    states = Counter(t.state for t in trials(url, "slow"))
    assert states[TrialState.RUNNING] == 0
    interrupted = [t for t in trials(url, "slow") if t.state == TrialState.FAIL]
    assert interrupted and all("interrupted" in t.user_attrs["fail_reason"] for t in interrupted)
    assert states[TrialState.WAITING] == len(interrupted)  # re-queued for the next run

    again = start_sweep(*args, cwd=tmp_path)
    out, err = again.communicate(timeout=240)
    assert again.returncode == 0, err
    assert len(_complete(url, "slow")) == 6
    assert not [
        t for t in trials(url, "slow") if t.state in (TrialState.RUNNING, TrialState.WAITING)
    ]


def test_a_trial_of_a_vanished_machine_is_failed_on_its_heartbeat_and_rerun(tmp_path: Path) -> None:
    study_file = slow_study(tmp_path, trials=3, epochs=2, n_samples=300, heartbeat=1)
    url = f"sqlite:///{tmp_path / 'sweeps.db'}"
    spec = load_spec(study_file)
    sweep.run_study(spec, storage=url, display="none", n_trials=1)
    # Another machine asked for a trial, beat once, and vanished.
    storage = open_storage(url, heartbeat=1)
    study = optuna.load_study(study_name="slow", storage=storage)
    ghost = study.ask()
    ghost.suggest_int("width", 8, 32)
    storage.set_trial_system_attr(
        ghost._trial_id, OWNER_KEY, {"host": "gone-machine", "pid": 1, "start": None}
    )
    storage.record_heartbeat(ghost._trial_id)

    summary = sweep.run_study(spec, storage=url, display="none")
    assert ghost.number in summary.recovered
    everything = trials(url, "slow")
    failed = next(t for t in everything if t.number == ghost.number)
    assert failed.state == TrialState.FAIL and failed.user_attrs["fail_reason"].startswith("stale")
    assert any(
        t.user_attrs.get("retry_of") == ghost.number and t.state == TrialState.COMPLETE
        for t in everything
    )
    assert len(_complete(url, "slow")) == 3
