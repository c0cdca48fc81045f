"""Trials whose coordinator is gone."""

from __future__ import annotations

import datetime

import optuna
from optuna.trial import TrialState

from sweep.storage import open_storage
from sweep.study import OWNER_KEY, fail_orphans


def test_a_running_trial_nobody_took_is_failed_once_old(tmp_path) -> None:
    storage = open_storage(f"sqlite:///{tmp_path}/s.db", create=True)
    study = optuna.create_study(storage=storage, study_name="s")

    def running(age: float, owned: bool) -> None:
        study.add_trial(
            optuna.trial.FrozenTrial(
                number=0,
                state=TrialState.RUNNING,
                value=None,
                datetime_start=datetime.datetime.now() - datetime.timedelta(seconds=age),
                datetime_complete=None,
                params={},
                distributions={},
                user_attrs={},
                system_attrs={OWNER_KEY: {"host": "h", "pid": 1}} if owned else {},
                intermediate_values={},
                trial_id=0,
            )
        )

    running(60, owned=False)  # a killed process asked for it and never took it
    running(1, owned=False)  # another process is taking it right now
    running(60, owned=True)  # a coordinator runs it: its heartbeat tells
    assert fail_orphans(study, heartbeat=2) == [0]
    states = [t.state for t in study.get_trials()]
    assert states == [TrialState.FAIL, TrialState.RUNNING, TrialState.RUNNING]
    assert "before the trial started" in study.get_trials()[0].user_attrs["fail_reason"]
