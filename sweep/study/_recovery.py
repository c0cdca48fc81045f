"""Trials whose coordinator is gone: failed with the reason, their parameters re-queued.

A trial's owner (host, process and its start time) is a system attribute written when
it starts. On the same host a dead owner is seen at once; a trial of another machine
is failed once its heartbeat is stale; a trial that no one took (its process died
between asking and recording itself) once it is old.
"""

from __future__ import annotations

import datetime
import os
import socket
import warnings
from pathlib import Path
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from sweep.study import _optuna_internals as internals
from sweep.study._keys import OWNER_KEY, RETRIES_KEY


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
    storage = internals.storage_of(study)
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
        if fail_trial(study, internals.trial_id(study, t), reason):
            requeue(study, t, max_retries)
            failed.append(t.number)
    return failed


def fail_orphans(study: optuna.Study, heartbeat: float) -> list[int]:
    """Fail RUNNING trials that no coordinator took: asked for by a process that ended
    (killed) before it recorded itself as their owner, so neither ``recover_abandoned``
    nor the heartbeat can tell. A coordinator records its owner attribute and first
    heartbeat within moments of asking; a trial without them is given three heartbeat
    intervals and 10 s (by this machine's clock, in which Optuna stamps a trial's
    start) before it is failed. It never trained. Returns the numbers of the trials
    failed.
    """
    limit = datetime.timedelta(seconds=3 * heartbeat + 10)
    now = datetime.datetime.now()
    failed = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if OWNER_KEY in t.system_attrs or t.datetime_start is None:
            continue
        if now - t.datetime_start > limit and fail_trial(
            study,
            internals.trial_id(study, t),
            "abandoned: its sweep process ended before the trial started",
        ):
            failed.append(t.number)
    return failed


def fail_stale(study: optuna.Study, max_retries: int) -> list[int]:
    """Fail and re-queue trials whose heartbeat stopped (their machine vanished).

    Uses Optuna's heartbeat records (the storage must be opened with a heartbeat).
    Returns the numbers of the trials failed.
    """
    storage = internals.storage_of(study)
    stale = internals.stale_trial_ids(study)
    if stale is None:  # the public path: Optuna fails them, sweep re-queues them
        running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        with warnings.catch_warnings():  # experimental in Optuna; sweep relies on it here
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        stale = [
            internals.trial_id(study, t)
            for t in running
            if storage.get_trial(internals.trial_id(study, t)).state == TrialState.FAIL
        ]
        for trial_id in stale:
            requeue(study, storage.get_trial(trial_id), max_retries)
        return [storage.get_trial(i).number for i in stale]
    failed = []
    for trial_id in stale:
        if fail_trial(study, trial_id, "stale: no heartbeat from the process running it"):
            trial = storage.get_trial(trial_id)
            requeue(study, trial, max_retries)
            failed.append(trial.number)
    return failed
