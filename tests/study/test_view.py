"""A study read once, for pruning, sampling and reports."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

from sweep.storage import open_storage
from sweep.study import judges_from_values, read_once


@pytest.mark.parametrize(
    "pruner, from_values",
    [
        (optuna.pruners.MedianPruner(), True),
        (optuna.pruners.PercentilePruner(25.0), True),
        (optuna.pruners.NopPruner(), True),
        (optuna.pruners.SuccessiveHalvingPruner(), False),
        (optuna.pruners.HyperbandPruner(), False),
    ],
)
def test_pruners_that_keep_state_on_trials_are_read_fresh(pruner, from_values) -> None:
    assert judges_from_values(pruner) is from_values


def test_a_view_judges_as_the_study_does(tmp_path) -> None:
    storage = open_storage(f"sqlite:///{tmp_path}/s.db", create=True)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0)
    study = optuna.create_study(storage=storage, study_name="s", pruner=pruner)
    assert read_once(study).get_trials() == []
    good = study.ask()
    for step in range(3):
        good.report(0.1, step)
    study.tell(good, 0.1)
    bad = study.ask()
    bad.report(0.9, 0)
    view = read_once(study)
    assert [t.number for t in view.get_trials(states=(TrialState.COMPLETE,))] == [0]
    judged = storage.get_trial(bad._trial_id)
    assert pruner.prune(view, judged) and pruner.prune(study, judged)
    # What it holds stays as read: the study moves on, the view does not.
    study.tell(bad, 0.9)
    assert [t.state for t in view.get_trials()] == [TrialState.COMPLETE, TrialState.RUNNING]
    with pytest.raises(NotImplementedError, match="read-only"):
        view.set_user_attr("x", 1)
