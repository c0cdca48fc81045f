"""Counting a study's trials for its budget."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from sweep.storage import open_storage
from sweep.study import counts


def test_counts_finished_and_running_trials_of_the_study_only(storage) -> None:
    other = optuna.create_study(storage=storage, study_name="other")
    other.ask()
    other.tell(other.ask(), 1.0)
    study = optuna.create_study(storage=storage, study_name="s")
    assert counts(study) == (0, 0)
    for state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.PRUNED):
        trial = study.ask()
        study.tell(trial, 1.0 if state == TrialState.COMPLETE else None, state=state)
    study.ask()
    study.enqueue_trial({"x": 1.0})  # waiting: neither
    assert counts(study) == (3, 1)


def test_the_mysql_budget_lock_keeps_waiting_until_it_is_taken(
    mysql_url: str, monkeypatch, caplog
) -> None:
    """GET_LOCK gives up after its wait with 0; the lock is asked for again, not skipped."""
    import threading
    import time

    from sweep.study import _budget, budget_lock

    storage = open_storage(mysql_url, create=True)
    optuna.create_study(storage=storage, study_name="s")
    monkeypatch.setattr(_budget, "_MYSQL_WAIT", 1)
    got: list[float] = []

    def second() -> None:
        with budget_lock(open_storage(mysql_url), "s"):
            got.append(time.monotonic())

    with budget_lock(storage, "s"):
        other = threading.Thread(target=second)
        with caplog.at_level("WARNING", logger="sweep"):
            other.start()
            time.sleep(2.5)  # two of its waits run out meanwhile
            assert got == []
        held_until = time.monotonic()
    other.join(timeout=30)
    assert got and got[0] >= held_until
    assert "waiting for the budget lock of study 's'" in caplog.text
