"""The storage writes and the pruner's view in sweep.study, on real storages."""

from __future__ import annotations

import datetime
import threading

import optuna
import pytest
from optuna.trial import TrialState

from sweep.config import parse_spec
from sweep.storage import open_storage
from sweep.study import (
    PackView,
    Snapshot,
    _create_trials,
    counts,
    finish_trials,
    judges_from_values,
    write_attrs,
    write_intermediate,
)


@pytest.fixture(params=["sqlite", "postgres", "mysql", "memory"])
def storage(request: pytest.FixtureRequest, tmp_path) -> optuna.storages.BaseStorage:
    if request.param == "memory":
        return optuna.storages.InMemoryStorage()
    if request.param == "sqlite":
        return open_storage(f"sqlite:///{tmp_path}/s.db", create=True)
    return open_storage(request.getfixturevalue(f"{request.param}_url"), create=True)


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


def test_a_recorded_trial_prunes_as_if_read_back(tmp_path) -> None:
    """The view that the coordinator keeps up to date by hand judges like a fresh read."""
    storage = open_storage(f"sqlite:///{tmp_path}/s.db", create=True)
    pruner = optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0)
    study = optuna.create_study(storage=storage, study_name="s", pruner=pruner)
    view = Snapshot(study)
    assert view.get_trials() == []
    good = study.ask()
    for step in range(3):
        good.report(0.1, step)
    study.tell(good, 0.1)
    finished = good._cached_frozen_trial
    finished.state, finished.value = TrialState.COMPLETE, 0.1
    view.record(finished)
    assert [t.number for t in view.get_trials(states=(TrialState.COMPLETE,))] == [0]

    bad = study.ask()
    bad.report(0.9, 0)
    judged = bad._cached_frozen_trial
    assert pruner.prune(view, judged)
    assert pruner.prune(view, judged) == pruner.prune(Snapshot(study), judged)
    assert pruner.prune(Snapshot(study), judged)


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


SPACE = parse_spec(
    {
        "study": {"name": "s"},
        "data": {"source": "moons"},
        "space": {
            "depth": {"low": 1, "high": 4},
            "lr": {"low": 1e-4, "high": 1e-1, "log": True},
            "activation": ["relu", "tanh"],
        },
    }
).space


def test_a_packs_parameters_are_written_together(storage) -> None:
    study = optuna.create_study(storage=storage, study_name="s")
    view = PackView(study, {})
    asked: list[int] = []
    view.ask(3, asked)
    trials, configs = view.sample(SPACE, asked)
    assert [t._trial_id for t in trials] == asked
    assert {p[1] for p in view.params} == {"depth", "lr", "activation"}
    if not isinstance(storage, optuna.storages.InMemoryStorage):  # (it shares trial objects)
        assert all(t.params == {} for t in study.get_trials())  # nothing written yet
    view.flush()
    stored = study.get_trials()
    assert [t.params for t in stored] == [t.params for t in trials]
    assert [t.state for t in stored] == [TrialState.RUNNING] * 3
    assert [t.number for t in stored] == [0, 1, 2]
    assert [c.depth for c in configs] == [t.params["depth"] for t in trials]
    assert view.params == []


def test_created_trials_are_numbered_as_optunas_own(storage) -> None:
    other = optuna.create_study(storage=storage, study_name="other")
    study = optuna.create_study(storage=storage, study_name="s")
    study.ask()
    other.ask()
    before = datetime.datetime.now() - datetime.timedelta(seconds=5)
    ids = _create_trials(storage, study._study_id, 4)
    other.ask()
    study.ask()
    assert _create_trials(storage, study._study_id, 0) == []
    trials = study.get_trials()
    assert [t.number for t in trials] == [0, 1, 2, 3, 4, 5]
    assert [t._trial_id for t in trials[1:5]] == ids
    assert [t.number for t in other.get_trials()] == [0, 1]
    assert all(t.state == TrialState.RUNNING for t in trials)
    # Stamped as Optuna stamps a new trial (read back as local time).
    assert all(before < t.datetime_start < datetime.datetime.now() for t in trials[1:5])


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_trials_created_at_once_from_several_threads_get_distinct_numbers(
    kind, request, tmp_path
) -> None:
    url = (
        f"sqlite:///{tmp_path}/s.db"
        if kind == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    optuna.create_study(storage=open_storage(url, create=True), study_name="s")
    errors: list[BaseException] = []

    def create() -> None:
        try:
            storage = open_storage(url)  # its own engine, as another process would have
            study = optuna.load_study(study_name="s", storage=storage)
            for k in (3, 1, 5):
                _create_trials(storage, study._study_id, k)
                study.ask()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    trials = optuna.load_study(study_name="s", storage=open_storage(url)).get_trials()
    assert sorted(t.number for t in trials) == list(range(4 * (3 + 1 + 5 + 3)))
    # Numbers follow ids, as Optuna's count of earlier trials makes them.
    assert [t.number for t in sorted(trials, key=lambda t: t._trial_id)] == list(range(len(trials)))


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


def test_waiting_trials_are_taken_first(storage) -> None:
    study = optuna.create_study(storage=storage, study_name="s")
    study.enqueue_trial({"depth": 2, "lr": 0.01, "activation": "tanh"})
    view = PackView(study, {})
    asked: list[int] = []
    view.ask(2, asked)
    trials, _ = view.sample(SPACE, asked)
    view.flush()
    assert trials[0].params == {"depth": 2, "lr": 0.01, "activation": "tanh"}
    assert [t.state for t in study.get_trials()] == [TrialState.RUNNING] * 2


def test_a_conflicting_distribution_writes_none_of_the_pack(tmp_path) -> None:
    storage = open_storage(f"sqlite:///{tmp_path}/s.db", create=True)
    study = optuna.create_study(storage=storage, study_name="s")
    first = study.ask()
    first.suggest_int("depth", 1, 4)
    study.tell(first, 1.0)
    a, b = study.ask(), study.ask()
    view = PackView(study, {})
    a.storage = b.storage = view  # type: ignore[assignment]
    a.suggest_float("lr", 1e-3, 1e-1)
    b.suggest_categorical("depth", ["one", "two"])  # "depth" was an integer range
    with pytest.raises(ValueError):
        view.flush()
    assert [t.params for t in study.get_trials()][1:] == [{}, {}]


def test_attributes_of_several_trials_are_written_together(storage) -> None:
    study = optuna.create_study(storage=storage, study_name="s")
    a, b = study.ask(), study.ask()
    a.set_user_attr("seed", 1)  # an existing key is updated, new keys inserted
    backend = getattr(storage, "_backend", storage)
    rdb = isinstance(backend, optuna.storages.RDBStorage)
    if rdb:
        backend.record_heartbeat(a._trial_id)  # a has beaten already: kept, not doubled
    write_attrs(
        storage,
        {a._trial_id: {"seed": 7, "config": {"widths": [4, 4]}}, b._trial_id: {"seed": 8}},
        {a._trial_id: {"owner": "me"}},
        first_heartbeat=True,
    )
    got = {t.number: (t.user_attrs, t.system_attrs.get("owner")) for t in study.get_trials()}
    assert got == {0: ({"seed": 7, "config": {"widths": [4, 4]}}, "me"), 1: ({"seed": 8}, None)}
    if rdb:
        from optuna.storages._rdb import models

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
        write_attrs(storage, {running._trial_id: {"a": 1}, finished._trial_id: {"a": 2}})
    assert all(t.user_attrs == {} for t in study.get_trials())


def test_a_running_trial_nobody_took_is_failed_once_old(tmp_path) -> None:
    import datetime

    from sweep.study import OWNER_KEY, fail_orphans

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


def test_the_ends_of_several_trials_are_written_together(storage) -> None:
    study = optuna.create_study(storage=storage, study_name="s", direction="maximize")
    done, pruned, failed = study.ask(), study.ask(), study.ask()
    pruned.report(0.25, 1)
    pruned.report(0.5, 2)  # a pruned trial's value is its last intermediate value
    ends = [
        (done._cached_frozen_trial, TrialState.COMPLETE, 0.9, {"epochs_run": 5}),
        (storage.get_trial(pruned._trial_id), TrialState.PRUNED, None, {"epochs_run": 2}),
        (failed._cached_frozen_trial, TrialState.FAIL, None, {"fail_reason": "diverged"}),
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


def test_the_ends_carry_the_epoch_values_held_back(storage) -> None:
    study = optuna.create_study(storage=storage, study_name="s", direction="maximize")
    done, pruned, other = study.ask(), study.ask(), study.ask()
    pruned.report(0.25, 1)  # written already; epoch 2 held back
    frozen = storage.get_trial(pruned._trial_id)
    frozen.intermediate_values[2] = 0.5  # as the coordinator notes a held-back epoch
    ends = [
        (done._cached_frozen_trial, TrialState.COMPLETE, 0.9, {}),
        (frozen, TrialState.PRUNED, None, {}),
    ]
    with pytest.raises(ValueError, match="does not end here"):
        finish_trials(study, ends, {other._trial_id: {1: 0.1}})
    assert [t.state for t in study.get_trials()] == [TrialState.RUNNING] * 3
    finish_trials(study, ends, {done._trial_id: {1: 0.7, 2: 0.9}, pruned._trial_id: {2: 0.5}})
    got = [(t.state, t.value, t.intermediate_values) for t in study.get_trials()]
    assert got == [
        (TrialState.COMPLETE, 0.9, {1: 0.7, 2: 0.9}),
        (TrialState.PRUNED, 0.5, {1: 0.25, 2: 0.5}),
        (TrialState.RUNNING, None, {}),
    ]


def test_the_ends_of_trials_write_nothing_when_one_is_finished(storage) -> None:
    study = optuna.create_study(storage=storage, study_name="s")
    running, finished = study.ask(), study.ask()
    study.tell(finished, 1.0)
    ends = [
        (running._cached_frozen_trial, TrialState.COMPLETE, 0.5, {"epochs_run": 5}),
        (finished._cached_frozen_trial, TrialState.COMPLETE, 0.7, {}),
    ]
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        finish_trials(study, ends)
    first = study.get_trials()[0]
    assert (first.state, first.user_attrs) == (TrialState.RUNNING, {})
