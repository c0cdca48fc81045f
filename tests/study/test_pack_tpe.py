"""sweep's TPE samples a pack at once: estimators fitted once, members kept apart."""

from __future__ import annotations

import datetime

import numpy as np
import optuna
import pytest
import torch
from optuna.trial import FrozenTrial, TrialState

from sweep.config import parse_spec
from sweep.space import sample_config
from sweep.study import PackView
from sweep.study._optuna_internals import TPESampler, vectorised_normal_cdf
from sweep.study._optuna_internals._parzen import Kernels, kernels_of, log_mixture
from sweep.study._optuna_internals._tpe_pack import _Space

# Every kind of dimension: int and log int, log float, float, categorical, and parameters
# only some trials have (split_fraction for split, momentum for SGD and RMSprop).
SPACE = parse_spec(
    {
        "study": {"name": "s"},
        "data": {"source": "moons"},
        "space": {
            "depth": {"low": 1, "high": 4},
            "width": {"low": 4, "high": 256, "log": True},
            "activation": ["relu", "tanh", "split"],
            "split_fraction": {"low": 0.2, "high": 0.8},
            "optimizer": ["sgd", "adam", "rmsprop"],
            "momentum": {"low": 0.5, "high": 0.99},
            "lr": {"low": 1e-4, "high": 1e-1, "log": True},
            "dropout": [0.0, 0.1, 0.2],
        },
    }
).space


class Counting(TPESampler):
    """sweep's TPE, counting the Parzen estimators it fits."""

    fits = 0

    def _build_parzen_estimator(self, *args, **kwargs):
        self.fits += 1
        return super()._build_parzen_estimator(*args, **kwargs)


def objective(trial: optuna.Trial) -> float:
    """A value that depends on every parameter the trial has."""
    c = sample_config(SPACE, trial)
    value = -abs(np.log10(c.lr) + 2.5) - 0.1 * abs(c.depth - 2) + 0.01 * np.log(c.widths[0])
    value += {"relu": 0.2, "tanh": 0.0, "split": 0.1}[c.activation] - c.dropout
    if c.split_fraction is not None:
        value -= abs(c.split_fraction - 0.4)
    if c.momentum is not None:
        value -= abs(c.momentum - 0.9)
    return float(value)


def study_of(sampler: TPESampler, finished: int) -> optuna.Study:
    study = optuna.create_study(sampler=sampler, direction="maximize")
    study.optimize(objective, n_trials=finished)
    return study


def pack_of(study: optuna.Study, k: int) -> list[dict]:
    """A pack of ``k`` trials sampled as the coordinator samples one (nothing written)."""
    view = PackView(study, {})
    trials, _ = view.sample(SPACE, view.imagine(k, []))
    return [t.params for t in trials]


@pytest.fixture(scope="module")
def finished() -> optuna.Study:
    return study_of(TPESampler(seed=1, n_startup_trials=10), 80)


def test_the_kernels_give_optunas_densities(finished: optuna.Study) -> None:
    sampler = finished.sampler
    assert isinstance(sampler, TPESampler)
    trial = finished.trials[-1]
    for space in (
        sampler.infer_relative_search_space(finished, trial),
        {"split_fraction": trial.distributions.get("split_fraction")},
    ):
        below, above = sampler._below_above(finished, trial)
        for trials, handle_below in ((below, True), (above, False)):
            mpe = sampler._build_parzen_estimator(finished, space, trials, handle_below)
            points = mpe.sample(np.random.RandomState(0), 500)
            x = np.stack([points[name] for name in space], axis=1)
            dims, weights = kernels_of(mpe)
            with vectorised_normal_cdf():
                expected = mpe.log_pdf(points)
                exact = log_mixture(Kernels(dims), weights, x)
                single = log_mixture(Kernels(dims, torch.float32), weights.astype("f4"), x)
            np.testing.assert_allclose(exact, expected, rtol=0, atol=1e-9)
            np.testing.assert_allclose(single, expected, rtol=0, atol=1e-4)


def test_a_members_kernel_is_the_one_a_refit_gives_it(finished: optuna.Study) -> None:
    sampler = finished.sampler
    trial = finished.trials[-1]
    space = sampler.infer_relative_search_space(finished, trial)
    with vectorised_normal_cdf():
        packed = _Space(sampler, finished, trial, space, 2)
        params = packed.sample(2)
        packed.add(params)
        member = FrozenTrial(
            number=10_000,
            state=TrialState.RUNNING,
            value=None,
            values=None,
            datetime_start=datetime.datetime.now(),
            datetime_complete=None,
            params=params,
            distributions=space,
            user_attrs={},
            system_attrs={},
            intermediate_values={},
            trial_id=10_000,
        )
        _, above = sampler._below_above(finished, trial)
        refit, _ = kernels_of(
            sampler._build_parzen_estimator(finished, space, above + [member], False)
        )
    at = packed.n_trials  # the member: after the trials' kernels, before the prior's
    members = packed.members
    for j, theirs in enumerate(refit):
        if theirs.logw is None:
            k = members.num.index(j)
            assert members.mu[0, k] == pytest.approx(theirs.mu[at])
            assert members.sigma[0, k] == pytest.approx(theirs.sigma[at])
        else:
            k = members.cat.index(j)
            ours = np.full(theirs.logw.shape[1], members.log_other[0, k])
            ours[int(members.chosen[0, k])] = members.log_own[0, k]
            np.testing.assert_allclose(ours, theirs.logw[at])


def test_a_packs_members_are_distinct_and_apart(finished: optuna.Study) -> None:
    members = pack_of(finished, 32)
    assert len({tuple(sorted(m.items())) for m in members}) == 32
    assert len({m["lr"] for m in members}) == 32


def test_the_estimators_are_fitted_once_per_search_space_per_pack() -> None:
    at_once = Counting(seed=2, n_startup_trials=10)
    study = study_of(at_once, 40)
    at_once.fits = 0
    members = pack_of(study, 24)
    # the relative space, and split_fraction and momentum each on its own: two each
    conditional = {n for m in members for n in ("split_fraction", "momentum") if n in m}
    assert conditional == {"split_fraction", "momentum"}
    assert at_once.fits == 2 * (1 + len(conditional))

    one_by_one = Counting(seed=2, n_startup_trials=10)
    one_by_one.pack_at_once = False
    study = study_of(one_by_one, 40)
    one_by_one.fits = 0
    pack_of(study, 24)
    assert one_by_one.fits >= 2 * 24


def test_a_pack_is_reproducible_for_a_seed() -> None:
    first = pack_of(study_of(TPESampler(seed=7, n_startup_trials=10), 30), 16)
    again = pack_of(study_of(TPESampler(seed=7, n_startup_trials=10), 30), 16)
    other = pack_of(study_of(TPESampler(seed=8, n_startup_trials=10), 30), 16)
    assert first == again
    assert first != other


def test_conditional_parameters_only_where_they_apply(finished: optuna.Study) -> None:
    members = pack_of(finished, 48)
    for m in members:
        assert ("split_fraction" in m) == (m["activation"] == "split")
        assert ("momentum" in m) == (m["optimizer"] in ("sgd", "rmsprop"))
        assert 0.2 <= m.get("split_fraction", 0.5) <= 0.8
        assert 0.5 <= m.get("momentum", 0.9) <= 0.99
        assert 1 <= m["depth"] <= 4 and 4 <= m["width"] <= 256
        assert isinstance(m["depth"], int) and isinstance(m["width"], int)
        assert 1e-4 <= m["lr"] <= 1e-1
    fractions = [m["split_fraction"] for m in members if "split_fraction" in m]
    assert len(set(fractions)) == len(fractions) > 1


def test_before_the_start_up_trials_are_done_members_are_random() -> None:
    sampler = Counting(seed=3, n_startup_trials=10)
    study = study_of(sampler, 5)
    sampler.fits = 0
    members = pack_of(study, 8)
    assert sampler.fits == 0
    assert len({m["lr"] for m in members}) == 8


def test_a_members_mass_looked_up_on_the_grid_is_the_one_worked_out(
    finished: optuna.Study,
) -> None:
    sampler = finished.sampler
    trial = finished.trials[-1]
    space = sampler.infer_relative_search_space(finished, trial)
    with vectorised_normal_cdf():
        packed = _Space(sampler, finished, trial, space, 8)
        for left in range(8, 0, -1):
            packed.add(packed.sample(left))
        members, batch = packed.members, packed.batch
        assert members.edges, "the space has a small discrete dimension"
        rows = slice(0, len(batch.x))
        for k, table in members.binned.items():
            looked_up = table[: members.count, batch.bins[k][rows]].T
            np.testing.assert_array_equal(looked_up, members.binned_at(batch, rows, [k]))
