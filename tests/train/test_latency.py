"""Every complete trial carries its inference latency: the timing helper on a tiny MLP,
and real studies on SQLite whose trials trained in packs and alone."""

from __future__ import annotations

import math
from pathlib import Path

import optuna
import pytest
import torch
from optuna.trial import TrialState

import sweep
from sweep.config import load_spec
from sweep.model import MLP
from sweep.space import TrialConfig
from sweep.train._latency import LATENCY_KEYS, measure_latency, median_ms
from tests.conftest import write_study

CPU = torch.device("cpu")


def _positive(value: float) -> bool:
    return math.isfinite(value) and value > 0


def test_the_median_of_a_tiny_mlp_is_positive_and_finite() -> None:
    model = MLP(3, (8, 8), 2).eval()
    assert _positive(median_ms(model, torch.randn(1, 3)))
    assert _positive(median_ms(model, torch.randn(64, 3), warmup=1, repeats=3))


def test_a_trained_state_is_timed_as_its_own_network() -> None:
    config = TrialConfig((8, 4), "split", "bce", "adam", 1e-2, 48, split_fraction=0.5, dropout=0.1)
    state = MLP(3, (8, 4), 1, "split", 0.5, 0.1).state_dict()
    latency = measure_latency(config, state, torch.randn(20, 3), n_outputs=1)
    assert set(latency.metrics()) == set(LATENCY_KEYS)
    assert all(_positive(v) for v in latency.metrics().values())


def _complete(url: str, name: str) -> list[optuna.trial.FrozenTrial]:
    trials = optuna.load_study(study_name=name, storage=url).get_trials(deepcopy=False)
    return [t for t in trials if t.state == TrialState.COMPLETE]


@pytest.mark.parametrize(
    ("optimizer", "pack", "largest"),
    [
        ('["sgd", "adam", "rmsprop"]', 3, 3),  # packs of three
        ('["lbfgs", "nadam"]', "auto", 1),  # no stacked form: every trial alone
    ],
)
def test_every_complete_trial_of_a_study_has_its_latency(
    tmp_path: Path, optimizer: str, pack: int | str, largest: int
) -> None:
    path = write_study(tmp_path, trials=6, epochs=2)
    text = path.read_text().replace('["sgd", "adam", "rmsprop"]', optimizer)
    path.write_text(text.replace("pruner_startup = 3", 'pruner = "none"'))
    url = f"sqlite:///{tmp_path / 'sweeps.db'}"
    sweep.run_study(load_spec(path), storage=url, display="none", devices="cpu", pack=pack)
    done = _complete(url, "small")
    assert len(done) == 6
    assert max(t.user_attrs["pack_size"] for t in done) == largest
    for t in done:
        for key in ("latency_ms", "latency_batch_ms"):
            assert _positive(t.user_attrs[key]), (t.number, key, t.user_attrs[key])
