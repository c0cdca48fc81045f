"""The coordinator's bookkeeping, driven directly on a real SQLite study."""

from __future__ import annotations

from pathlib import Path

from optuna.trial import TrialState

from sweep.config import load_spec
from sweep.data import load_data
from sweep.dispatch._coordinator import Coordinator, make_slots
from sweep.dispatch._devices import plan_slots
from sweep.metrics import objective_for
from sweep.progress import Board, Display
from sweep.run import _resolve_task
from sweep.storage import open_storage
from sweep.study import fail_trial, open_or_create
from sweep.train import TrialResult
from tests.conftest import write_study


def test_an_end_failed_elsewhere_is_dropped_and_the_others_written(tmp_path: Path, caplog) -> None:
    spec = load_spec(write_study(tmp_path, trials=4))
    data = load_data(spec.data)
    spec = _resolve_task(spec, data.task)
    storage = open_storage(f"sqlite:///{tmp_path}/e.db", create=True, heartbeat=10)
    study = open_or_create(spec, storage, data.summary())
    (slot,) = make_slots(plan_slots(["cpu"], 1), data)
    coordinator = Coordinator(
        study=study,
        spec=spec,
        data=data,
        budget=4,
        slots=[slot],
        pack=4,
        display=Display(Board(study=spec.name, budget=4, objective=objective_for(data.task))),
        keeper=None,
        heartbeat=spec.run.heartbeat,
    )
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
