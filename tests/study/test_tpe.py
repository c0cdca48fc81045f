"""sweep's TPE draws exactly what Optuna's draws, run side by side on the same studies."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest
from optuna.samplers._tpe import _truncnorm

from sweep.study._optuna_internals import TPESampler, vectorised_normal_cdf


class OptunasTPE(optuna.samplers.TPESampler):
    """Optuna's TPE, unchanged but for taking the normal CDF and its log from where sweep's
    does."""

    def _sample(self, study, trial, search_space):
        with vectorised_normal_cdf():
            return super()._sample(study, trial, search_space)


def objective_with_pruning(trial: optuna.Trial) -> float:
    """Conditional parameters, every distribution kind, pruned trials with and without
    intermediate values, and ties in the objective."""
    kind = trial.suggest_categorical("kind", ["a", "b", "c"])
    x = trial.suggest_float("x", -3.0, 3.0)
    lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    n = trial.suggest_int("n", 1, 8)
    width = trial.suggest_int("width", 4, 256, log=True)
    step = trial.suggest_float("step", 0.0, 1.0, step=0.25)
    if kind == "a":
        x = x + trial.suggest_float("extra", 0.0, 1.0)
    elif kind == "b":
        n += trial.suggest_int("more", 0, 3)
    value = round(-((x - 1.0) ** 2) - 0.1 * n + math.log(lr) * 0.01 + width * 1e-4 + step, 2)
    if trial.number % 7 == 3:
        raise optuna.TrialPruned()  # pruned before any report
    for epoch in range(3):
        trial.report(value - (2 - epoch) * 0.1, epoch)
        if trial.number % 5 == 1 and epoch == 1:
            raise optuna.TrialPruned()
    if trial.number % 11 == 4:
        raise ValueError("a failing trial")
    return value


def drive(sampler: optuna.samplers.BaseSampler, storage, direction: str, n: int) -> list:
    """Run ``n`` trials, keeping a few running at a time (the constant liar's case); the
    parameters of every trial in order."""
    study = optuna.create_study(storage=storage, sampler=sampler, direction=direction)
    open_trials: list[optuna.Trial] = []
    for i in range(n):
        trial = study.ask()
        objective_params_only(trial)
        open_trials.append(trial)
        if len(open_trials) >= 3 or i == n - 1:
            for t in open_trials:
                finish(study, t)
            open_trials = []
    return [(t.number, t.state, t.params) for t in study.get_trials()]


def objective_params_only(trial: optuna.Trial) -> None:
    try:
        trial.set_user_attr("value", objective_with_pruning(trial))
    except optuna.TrialPruned:
        trial.set_user_attr("pruned", True)
    except ValueError:
        trial.set_user_attr("failed", True)


def finish(study: optuna.Study, trial: optuna.Trial) -> None:
    attrs = trial.user_attrs
    if attrs.get("pruned"):
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    elif attrs.get("failed"):
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
    else:
        study.tell(trial, attrs["value"])


@pytest.mark.parametrize("direction", ["maximize", "minimize"])
@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_draws_what_optunas_tpe_draws(tmp_path, direction: str, kind: str) -> None:
    def storage(name: str):
        if kind == "memory":
            return optuna.storages.InMemoryStorage()
        return f"sqlite:///{tmp_path}/{name}.db"

    args = dict(seed=3, n_startup_trials=6, constant_liar=True)
    ours = drive(TPESampler(**args), storage("ours"), direction, 70)
    optunas = drive(OptunasTPE(**args), storage("optuna"), direction, 70)
    assert ours == optunas
    states = {state for _, state, _ in ours}
    assert states == {
        optuna.trial.TrialState.COMPLETE,
        optuna.trial.TrialState.PRUNED,
        optuna.trial.TrialState.FAIL,
    }
    # TPE (not the random start-up) chose most of them, and not all alike.
    assert len({p["x"] for _, _, p in ours[6:]}) > 50


def test_without_the_constant_liar_too() -> None:
    args = dict(seed=5, n_startup_trials=4, constant_liar=False)
    ours = drive(TPESampler(**args), optuna.storages.InMemoryStorage(), "maximize", 40)
    optunas = drive(OptunasTPE(**args), optuna.storages.InMemoryStorage(), "maximize", 40)
    assert ours == optunas


def test_a_finished_trial_is_worked_out_once() -> None:
    sampler = TPESampler(seed=0, n_startup_trials=3)
    study = optuna.create_study(sampler=sampler, direction="maximize")
    study.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_int("n", 0, 3), n_trials=12)
    finished = {t._trial_id for t in study.trials}
    # every trial but the last was finished when a later one was sampled
    kept = finished - {study.trials[-1]._trial_id}
    assert set(sampler._marks) == kept
    assert {trial_id for rows in sampler._rows.values() for trial_id in rows} == kept


@pytest.mark.parametrize("name", ["_log_ndtr", "_ndtr"])
def test_the_normal_cdf_while_sampling_agrees_with_optunas(name: str) -> None:
    points = np.concatenate([np.linspace(-60, 60, 4001), np.array([-1e3, -30.5, 0.0, 5.99, 6.01])])
    original = getattr(_truncnorm, name)
    # Optuna's erf loops over elements in arrays of under 2000 (TPE's), vectorised above
    chunks = np.array_split(points, 5)
    own = np.concatenate([original(chunk) for chunk in chunks])
    with vectorised_normal_cdf():
        assert getattr(_truncnorm, name) is not original  # SciPy's, while sweep's TPE samples
        fast = getattr(_truncnorm, name)(points)
    assert getattr(_truncnorm, name) is original
    np.testing.assert_allclose(fast, own, rtol=1e-7, atol=4e-13)
    restored = np.concatenate([getattr(_truncnorm, name)(chunk) for chunk in chunks])
    np.testing.assert_array_equal(restored, own)
