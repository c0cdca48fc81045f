"""The coordinator's bookkeeping, driven directly on a real SQLite study."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from optuna.trial import TrialState

from sweep._overrides import resolve_task
from sweep.config import load_spec
from sweep.data import load_data
from sweep.dispatch import _recorder
from sweep.dispatch._coordinator import Coordinator
from sweep.dispatch._devices import plan_slots
from sweep.dispatch._slots import make_slots
from sweep.metrics import objective_for
from sweep.progress import Board, Display
from sweep.storage import open_storage
from sweep.study import fail_trial, open_or_create
from sweep.train import EpochReport, TrialResult
from tests.conftest import write_study


def coordinator_for(tmp_path: Path, trials: int) -> tuple[Coordinator, Any, Any]:
    spec = load_spec(write_study(tmp_path, trials=trials))
    data = load_data(spec.data)
    spec = resolve_task(spec, data.task)
    storage = open_storage(f"sqlite:///{tmp_path}/e.db", create=True, heartbeat=10)
    study = open_or_create(spec, storage, data.summary())
    (slot,) = make_slots(plan_slots(["cpu"], 1), data)
    coordinator = Coordinator(
        study=study,
        spec=spec,
        data=data,
        budget=trials,
        slots=[slot],
        pack=trials,
        display=Display(Board(study=spec.name, budget=trials, objective=objective_for(data.task))),
        keeper=None,
        heartbeat=spec.run.heartbeat,
    )
    return coordinator, study, slot


def test_epoch_values_are_held_back_and_written_with_later_ones_or_the_end(
    tmp_path: Path, monkeypatch, caplog
) -> None:
    coordinator, study, slot = coordinator_for(tmp_path, trials=3)
    assert coordinator.recorder.hold  # the median pruner judges from values
    a, b, c = [t.number for t in coordinator._start(slot, [])]
    ids = {t.number: t._trial_id for t in study.get_trials()}

    def report(epoch: int, *numbers: int) -> set[int]:
        values = {n: 0.5 + epoch / 10 for n in numbers}
        return coordinator._report(EpochReport(epoch, values, {n: 0.1 for n in numbers}))

    def stored(number: int) -> dict[int, float]:
        return study.get_trials()[number].intermediate_values

    monkeypatch.setattr(_recorder, "HOLD_SECONDS", 3600.0)
    assert report(1, a, b) == set()
    assert stored(a) == stored(b) == {}  # held back
    assert fail_trial(study, ids[b], "stale: no heartbeat")  # on another machine
    monkeypatch.setattr(_recorder, "HOLD_SECONDS", 0.0)
    with caplog.at_level("WARNING"):
        assert report(1, c) == set()  # c's job: b is not in it
    assert f"trial {b} was finished elsewhere" in caplog.text
    assert (stored(a), stored(b), stored(c)) == ({1: 0.6}, {}, {1: 0.6})
    assert b not in coordinator.running
    monkeypatch.setattr(_recorder, "HOLD_SECONDS", 3600.0)
    assert report(2, a, b) == {b}  # told to stop at its own job's next report
    assert stored(a) == {1: 0.6}
    coordinator._finish([TrialResult(number=a, outcome="complete", value=0.7, epochs_run=2)])
    trial = study.get_trials()[a]
    assert (trial.state, trial.intermediate_values) == (TrialState.COMPLETE, {1: 0.6, 2: 0.7})


def test_an_end_failed_elsewhere_is_dropped_and_the_others_written(tmp_path: Path, caplog) -> None:
    coordinator, study, slot = coordinator_for(tmp_path, trials=4)
    numbers = [t.number for t in coordinator._start(slot, [])]
    ids = {t.number: t._trial_id for t in study.get_trials()}
    assert coordinator._heartbeat._ids == set(ids.values())  # beating from the start

    def end(number: int, value: float) -> TrialResult:
        return TrialResult(number=number, outcome="complete", value=value, epochs_run=3)

    coordinator._finish([end(numbers[0], 0.5)])
    assert study.get_trials()[numbers[0]].state == TrialState.COMPLETE  # written at once
    # Meanwhile another machine judged one of them stale and failed it.
    assert fail_trial(study, ids[numbers[1]], "stale: no heartbeat")
    with caplog.at_level("WARNING"):
        coordinator._finish([end(numbers[1], 0.6), end(numbers[2], 0.7)])
    trials = {t.number: t for t in study.get_trials()}
    assert [trials[n].state for n in numbers] == [
        TrialState.COMPLETE,
        TrialState.FAIL,
        TrialState.COMPLETE,
        TrialState.RUNNING,
    ]
    assert (trials[numbers[0]].value, trials[numbers[2]].value) == (0.5, 0.7)
    assert trials[numbers[2]].user_attrs["epochs_run"] == 3
    assert coordinator.stats.complete == 2
    assert coordinator._heartbeat._ids == {ids[numbers[3]]}
    assert f"trial {numbers[1]} was finished elsewhere" in caplog.text
    # Two finished and one running: the budget of four has room for one more (the
    # trial failed elsewhere), and then none.
    assert len(coordinator._start(slot, [])) == 1
    coordinator._finish([end(numbers[3], 0.8)])
    assert study.get_trials()[numbers[3]].state == TrialState.COMPLETE
    assert coordinator._start(slot, []) == []
