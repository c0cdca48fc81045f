"""Starting and sampling a pack of trials against one read of the study."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

from sweep.config import parse_spec
from sweep.storage import open_storage
from sweep.study import PackView

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
