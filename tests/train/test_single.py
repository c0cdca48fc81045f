"""One trial alone: it learns, it is reproducible, it fails cleanly."""

from __future__ import annotations

import pytest
import torch

from sweep.config import OPTIMIZERS
from sweep.space import TrialConfig
from sweep.train import ModuleRunner, TrainSettings, TrialTask
from tests.train.conftest import drive

CPU = torch.device("cpu")


def _config(**kw: object) -> TrialConfig:
    base: dict = dict(
        widths=(16, 16), activation="relu", loss="bce", optimizer="adam", lr=0.01, batch_size=32
    )
    base.update(kw)
    return TrialConfig(**base)


def _run(data, config: TrialConfig, epochs: int = 5, number: int = 0, seed: int = 0, **kw):
    settings = TrainSettings(task=data.task, epochs=epochs, **kw)
    runner = ModuleRunner(
        TrialTask(number, config, seed), data.n_features, data.n_outputs, settings, CPU
    )
    return drive(runner, data, settings)


def test_a_trial_learns_the_moons(moons) -> None:
    reports, results = _run(moons, _config(), epochs=15)
    result = results[0]
    assert result.outcome == "complete" and result.epochs_run == 15
    assert result.value is not None and result.value > 0.85
    assert result.value == reports[-1].values[0] == result.metrics["val_accuracy"]
    assert {"train_loss", "train_accuracy", "test_accuracy"} <= set(result.metrics)
    assert result.n_params == (2 * 16 + 16) + (16 * 16 + 16) + (16 + 1)


def test_same_seed_same_numbers_other_seed_other_numbers(moons) -> None:
    config = _config(dropout=0.2, activation="split", split_fraction=0.4)
    a, _ = _run(moons, config, seed=7)
    b, _ = _run(moons, config, seed=7)
    c, _ = _run(moons, config, seed=8)
    assert [r.train_loss for r in a] == [r.train_loss for r in b]
    assert [r.train_loss for r in a] != [r.train_loss for r in c]


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_trains(moons, optimizer: str) -> None:
    lr = {"adadelta": 1.0, "lbfgs": 0.01}.get(optimizer, 0.02)
    config = _config(
        optimizer=optimizer, lr=lr, momentum=0.9 if optimizer in ("sgd", "rmsprop") else None
    )
    _, results = _run(moons, config, epochs=3)
    assert results[0].outcome == "complete"
    assert results[0].metrics["train_loss"] == results[0].metrics["train_loss"]  # not nan


def test_divergence_fails_the_trial_with_the_reason(regression) -> None:
    config = _config(loss="quartic", optimizer="sgd", lr=1e6, momentum=0.9, batch_size=200)
    reports, results = _run(regression, config, epochs=20)
    result = results[0]
    assert result.outcome == "failed"
    assert result.reason is not None and result.reason.startswith("diverged: loss")
    assert result.epochs_run < 20


def test_a_pruned_trial_stops_and_keeps_its_last_value(moons) -> None:
    from sweep.train import train  # noqa: F401  (the loop under test)
    from tests.train.conftest import drive as drive_loop

    settings = TrainSettings(task="binary", epochs=6)
    runner = ModuleRunner(TrialTask(3, _config(), 0), 2, 1, settings, CPU)
    reports, results = drive_loop(runner, moons, settings, prune={3: 2})
    assert [r.epoch for r in reports] == [1, 2]
    assert results[3].outcome == "pruned" and results[3].epochs_run == 2
    assert results[3].value == reports[-1].values[3]


def test_eval_every_reports_every_k_epochs_and_the_last(moons) -> None:
    reports, results = _run(moons, _config(), epochs=7, eval_every=3)
    assert [r.epoch for r in reports] == [3, 6, 7]


def test_schedules_change_the_learning_rate() -> None:
    from sweep.optim import lr_at

    step = _config(scheduler="step", step_size=2, gamma=0.5, lr=1.0)
    assert [lr_at(step, e, 6) for e in range(6)] == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    cosine = _config(scheduler="cosine", lr=1.0)
    assert lr_at(cosine, 0, 4) == 1.0 and lr_at(cosine, 2, 4) == pytest.approx(0.5)


def test_weights_come_back_and_load_into_an_mlp(moons) -> None:
    import io

    from sweep.model import MLP

    _, results = _run(moons, _config(), epochs=2, keep_weights=True)
    state = torch.load(io.BytesIO(results[0].weights), weights_only=True)
    model = MLP(2, [16, 16], 1)
    model.load_state_dict(state)
