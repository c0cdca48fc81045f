"""Writing trials' starts, epochs and ends in batches, on every storage."""

from __future__ import annotations

import datetime

import optuna
import pytest
from optuna.trial import TrialState

from sweep.study import TrialEnd, finish_trials, start_trials, write_intermediate
from sweep.study import _optuna_internals as internals


def test_one_step_of_several_trials_is_written_together(storage) -> None:
    study = optuna.create_study(storage=storage, study_name="s")
    trials = [study.ask() for _ in range(3)]
    write_intermediate(storage, {t._trial_id: {4: 0.5 + i} for i, t in enumerate(trials)})
    write_intermediate(storage, {trials[0]._trial_id: {5: 0.25, 6: 0.125}})  # steps held back
    got = {t.number: t.intermediate_values for t in study.get_trials()}
    assert got == {0: {4: 0.5, 5: 0.25, 6: 0.125}, 1: {4: 1.5}, 2: {4: 2.5}}


def test_a_finished_trial_in_the_step_writes_nothing(storage) -> None:
    study = optuna.create_study(storage=storage, study_name="s")
    running, finished = study.ask(), study.ask()
    study.tell(finished, state=TrialState.FAIL)
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        write_intermediate(storage, {running._trial_id: {0: 1.0}, finished._trial_id: {0: 2.0}})
    assert all(t.intermediate_values == {} for t in study.get_trials())


def test_attributes_of_several_trials_are_written_together(storage) -> None:
    study = optuna.create_study(storage=storage, study_name="s")
    a, b = study.ask(), study.ask()
    a.set_user_attr("seed", 1)  # an existing key is updated, new keys inserted
    backend = internals.backend_of(storage)
    rdb = isinstance(backend, optuna.storages.RDBStorage)
    if rdb:
        backend.record_heartbeat(a._trial_id)  # a has beaten already: kept, not doubled
    start_trials(
        storage,
        {a._trial_id: {"seed": 7, "config": {"widths": [4, 4]}}, b._trial_id: {"seed": 8}},
        {a._trial_id: {"owner": "me"}},
    )
    got = {t.number: (t.user_attrs, t.system_attrs.get("owner")) for t in study.get_trials()}
    assert got == {0: ({"seed": 7, "config": {"widths": [4, 4]}}, "me"), 1: ({"seed": 8}, None)}
    if rdb:
        models = internals.rdb_tables()
        session = backend.scoped_session()
        beats = [(row.trial_id, row.heartbeat) for row in session.query(models.TrialHeartbeatModel)]
        session.close()
        assert sorted(trial_id for trial_id, _ in beats) == [a._trial_id, b._trial_id]
        assert all(isinstance(when, datetime.datetime) for _, when in beats)


def test_attributes_of_a_finished_trial_write_nothing(storage) -> None:
    study = optuna.create_study(storage=storage, study_name="s")
    running, finished = study.ask(), study.ask()
    study.tell(finished, state=TrialState.FAIL)
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        start_trials(storage, {running._trial_id: {"a": 1}, finished._trial_id: {"a": 2}}, {})
    assert all(t.user_attrs == {} for t in study.get_trials())


def test_the_ends_of_several_trials_are_written_together(storage) -> None:
    study = optuna.create_study(storage=storage, study_name="s", direction="maximize")
    done, pruned, failed = study.ask(), study.ask(), study.ask()
    pruned.report(0.25, 1)
    pruned.report(0.5, 2)  # a pruned trial's value is its last intermediate value
    ends = [
        TrialEnd(done._cached_frozen_trial, TrialState.COMPLETE, 0.9, {"epochs_run": 5}),
        TrialEnd(storage.get_trial(pruned._trial_id), TrialState.PRUNED, None, {"epochs_run": 2}),
        TrialEnd(failed._cached_frozen_trial, TrialState.FAIL, None, {"fail_reason": "diverged"}),
    ]
    finish_trials(study, ends)
    got = [(t.state, t.value, t.user_attrs) for t in study.get_trials()]
    assert got == [
        (TrialState.COMPLETE, 0.9, {"epochs_run": 5}),
        (TrialState.PRUNED, 0.5, {"epochs_run": 2}),
        (TrialState.FAIL, None, {"fail_reason": "diverged"}),
    ]
    assert all(t.datetime_complete is not None for t in study.get_trials())
    assert study.best_trial.number == done.number


def test_steps_held_back_are_written_with_the_ends(storage) -> None:
    study = optuna.create_study(storage=storage, study_name="s", direction="maximize")
    done, pruned = study.ask(), study.ask()
    frozen = storage.get_trial(pruned._trial_id)
    frozen.intermediate_values.update({1: 0.25, 2: 0.5})  # as the coordinator knows it
    ends = [
        TrialEnd(done._cached_frozen_trial, TrialState.COMPLETE, 0.9, {}),
        TrialEnd(frozen, TrialState.PRUNED, None, {}),
    ]
    finish_trials(study, ends, {done._trial_id: {0: 0.75}, pruned._trial_id: {1: 0.25, 2: 0.5}})
    got = [(t.state, t.value, t.intermediate_values) for t in study.get_trials()]
    assert got == [
        (TrialState.COMPLETE, 0.9, {0: 0.75}),
        (TrialState.PRUNED, 0.5, {1: 0.25, 2: 0.5}),
    ]


def test_the_ends_of_trials_write_nothing_when_one_is_finished(storage) -> None:
    study = optuna.create_study(storage=storage, study_name="s")
    running, finished = study.ask(), study.ask()
    study.tell(finished, 1.0)
    ends = [
        TrialEnd(running._cached_frozen_trial, TrialState.COMPLETE, 0.5, {"epochs_run": 5}),
        TrialEnd(finished._cached_frozen_trial, TrialState.COMPLETE, 0.7, {}),
    ]
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        finish_trials(study, ends, {running._trial_id: {0: 0.5}})
    first = study.get_trials()[0]
    assert (first.state, first.user_attrs, first.intermediate_values) == (
        TrialState.RUNNING,
        {},
        {},
    )


def test_a_complete_end_needs_a_finite_value(storage) -> None:
    study = optuna.create_study(storage=storage, study_name="s")
    trial = study.ask()
    with pytest.raises(ValueError, match="without a finite value"):
        finish_trials(study, [TrialEnd(trial._cached_frozen_trial, TrialState.COMPLETE, None, {})])
    assert study.get_trials()[0].state == TrialState.RUNNING
