"""sweep's percentile and median pruners decide as Optuna's do, against a view of the
study that changes as trials finish."""

from __future__ import annotations

import math
import random

import optuna
import pytest
from optuna.trial import TrialState, create_trial

from sweep.study import view_of
from sweep.study._optuna_internals import MedianPruner, PercentilePruner

# Trials whose every reported value is NaN are pruned; NumPy warns on the way.
pytestmark = pytest.mark.filterwarnings("ignore:All-NaN slice:RuntimeWarning")


def _values(rng: random.Random, steps: int) -> dict[int, float]:
    out = {}
    for step in range(1, steps + 1):
        if rng.random() < 0.1:
            continue  # a step never reported
        out[step] = math.nan if rng.random() < 0.05 else rng.gauss(0.5, 0.2)
    return out


def _study(direction: str, seed: int) -> optuna.Study:
    rng = random.Random(seed)
    study = optuna.create_study(direction=direction)
    for _ in range(40):
        state = rng.choice([TrialState.COMPLETE, TrialState.COMPLETE, TrialState.PRUNED])
        values = _values(rng, rng.randint(1, 6) if state == TrialState.PRUNED else 6)
        value = rng.gauss(0.5, 0.2) if state == TrialState.COMPLETE else None
        study.add_trial(create_trial(state=state, value=value, intermediate_values=values))
    for _ in range(30):
        values = _values(rng, rng.randint(1, 6))
        study.add_trial(create_trial(state=TrialState.RUNNING, intermediate_values=values))
    return study


PAIRS = [
    (
        lambda: MedianPruner(n_startup_trials=5, n_warmup_steps=1),
        lambda: optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1),
    ),
    (
        lambda: PercentilePruner(25.0, n_startup_trials=3, interval_steps=2, n_min_trials=12),
        lambda: optuna.pruners.PercentilePruner(
            25.0, n_startup_trials=3, interval_steps=2, n_min_trials=12
        ),
    ),
    (
        lambda: PercentilePruner(75.0, n_startup_trials=100),  # more than the study has
        lambda: optuna.pruners.PercentilePruner(75.0, n_startup_trials=100),
    ),
]


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
@pytest.mark.parametrize("pair", range(len(PAIRS)))
def test_decisions_match_optunas_as_trials_finish(direction: str, pair: int) -> None:
    ours, theirs = PAIRS[pair][0](), PAIRS[pair][1]()
    study = _study(direction, seed=pair)
    kept = view_of(study)  # as the coordinator keeps it: read once, then told of ends
    view = kept.as_study()
    running = [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.RUNNING]

    def decisions() -> list[bool]:
        mine = [ours.prune(view, t) for t in running]
        assert mine == [theirs.prune(view, t) for t in running]
        assert mine == [ours.prune(view, t) for t in running]  # asked again: the kept values
        return mine

    first = decisions()
    # Trials finish with values far on the losing side: the percentiles move, and every
    # decision after each one still matches Optuna's.
    worst = -5.0 if direction == "maximize" else 5.0
    number = max(kept.trials) + 1
    for i in range(25):
        finished = create_trial(
            state=TrialState.COMPLETE,
            value=worst,
            intermediate_values={s: worst for s in range(1, 7)},
        )
        finished.number = number + i
        finished._trial_id = 10_000 + i
        kept.record(finished)
        last = decisions()
    if pair != 2:  # the third never gets past its startup trials
        assert any(first) and last != first


def test_a_plain_study_is_judged_by_optunas_own_code() -> None:
    study = _study("maximize", seed=7)
    ours, theirs = MedianPruner(n_startup_trials=5), optuna.pruners.MedianPruner(n_startup_trials=5)
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        assert ours.prune(study, t) == theirs.prune(study, t)
