"""Reading a study's trials: the fast RDB reader gives exactly what Optuna gives."""

from __future__ import annotations

import math
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from sweep.report import read_trials, snapshot
from sweep.report._read import trial_states
from sweep.storage import open_storage
from tests.report.conftest import Sweeps
from tests.report.large_study import build_large_study


def _load(url: str, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=open_storage(url, create=False))


@pytest.mark.parametrize("which", ["binary", "regression"])
def test_read_trials_equals_optuna_on_a_real_sweep(sweeps: Sweeps, which: str) -> None:
    study = _load(sweeps.url, getattr(sweeps, which))
    fast = read_trials(study)
    assert fast == study.get_trials(deepcopy=True)
    assert [t.number for t in fast] == sorted(t.number for t in fast)
    done = read_trials(study, states=(TrialState.COMPLETE,))
    assert done == study.get_trials(states=(TrialState.COMPLETE,))
    assert trial_states(study) == [t.state for t in fast]


def test_read_trials_keeps_special_values_and_every_state(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'odd.db'}"
    study = build_large_study(30, storage=open_storage(url), name="odd")
    study.add_trial(create_trial(value=math.inf, params={}, distributions={}))
    study.add_trial(
        create_trial(
            state=TrialState.PRUNED,
            params={},
            distributions={},
            intermediate_values={0: math.nan, 1: -math.inf},
            user_attrs={"note": {"nested": [1, None, "x"]}},
            system_attrs={"sys": 1},
        )
    )
    study.add_trial(create_trial(state=TrialState.WAITING, params={}, distributions={}))
    again = _load(url, "odd")
    fast, slow = read_trials(again), again.get_trials()
    assert len(fast) == 33 and {t.state for t in fast} >= {
        TrialState.COMPLETE,
        TrialState.PRUNED,
        TrialState.FAIL,
        TrialState.WAITING,
    }
    # NaN != NaN, so compare the NaN step apart and the rest as Optuna's own equality.
    odd = fast[31]
    assert math.isnan(odd.intermediate_values[0]) and odd.intermediate_values[1] == -math.inf
    assert odd.user_attrs == {"note": {"nested": [1, None, "x"]}} and odd.system_attrs == {"sys": 1}
    assert [t for t in fast if t.number != 31] == [t for t in slow if t.number != 31]
    assert fast[30].value == math.inf


def test_a_snapshot_serves_the_same_trials_and_refuses_writes() -> None:
    study = build_large_study(50)
    frozen = snapshot(study)
    assert frozen.study_name == study.study_name and frozen.direction == study.direction
    assert frozen.user_attrs == study.user_attrs
    assert frozen.trials == study.trials and frozen.best_trial == study.best_trial
    subset = snapshot(study, study.trials[:5])
    assert len(subset.trials) == 5
    with pytest.raises(NotImplementedError, match="read-only"):
        frozen.set_user_attr("x", 1)
    with pytest.raises(NotImplementedError, match="read-only"):
        frozen.add_trial(create_trial(value=1.0))


@pytest.mark.parametrize("server", ["postgres_url", "mysql_url"])
def test_read_trials_on_database_servers(request: pytest.FixtureRequest, server: str) -> None:
    url = request.getfixturevalue(server)  # skips when no server is reachable
    build_large_study(25, storage=open_storage(url), name="served")
    study = _load(url, "served")
    assert read_trials(study) == study.get_trials()
    assert trial_states(study) == [t.state for t in study.get_trials()]
