"""A trial trained inside a pack gives the same numbers as the same trial alone.

"Same" means to float32 rounding on the CPU: the pack multiplies padded, stacked
weights with batched matmuls where the trial alone uses nn.Linear, so sums are
taken in a different order. Validation accuracies are counts and must match
exactly; losses and MSEs within a relative 1e-4.

Training amplifies rounding differences over time (RMSprop and Adagrad divide
near-zero gradients by their own size; a ReLU kink flips on a last bit), so the
comparisons run two epochs: enough for every optimizer state, schedule step and
dropout mask to take effect, short enough that float32 noise has not yet grown
into a different trajectory.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from sweep.config import ACTIVATIONS, PACKABLE_OPTIMIZERS, parse_spec
from sweep.config._choices import LOSSES_FOR_TASK
from sweep.data import DataBundle, RawData
from sweep.data._bundle import bundle
from sweep.model import Layout
from sweep.space import TrialConfig
from sweep.train import (
    ModuleRunner,
    StackedRunner,
    TrainSettings,
    TrialResult,
    TrialTask,
    make_runner,
)
from sweep.train._latency import LATENCY_KEYS
from tests.train.conftest import drive

CPU = torch.device("cpu")
RTOL = 1e-4

Trace = tuple[list[float], list[float], TrialResult]


def _alone(
    tasks: list[TrialTask], data: DataBundle, settings: TrainSettings, prune=None
) -> dict[int, Trace]:
    out = {}
    for t in tasks:
        runner = ModuleRunner(t, data.n_features, data.n_outputs, settings, CPU)
        reports, results = drive(
            runner, data, settings, prune={k: v for k, v in (prune or {}).items() if k == t.number}
        )
        out[t.number] = (
            [r.values[t.number] for r in reports],
            [r.train_loss[t.number] for r in reports],
            results[t.number],
        )
    return out


def _packed(
    tasks: list[TrialTask], data: DataBundle, settings: TrainSettings, prune=None
) -> dict[int, Trace]:
    runner = StackedRunner(tasks, data.n_features, data.n_outputs, settings, CPU)
    reports, results = drive(runner, data, settings, prune=prune)
    return {
        t.number: (
            [r.values[t.number] for r in reports if t.number in r.values],
            [r.train_loss[t.number] for r in reports if t.number in r.train_loss],
            results[t.number],
        )
        for t in tasks
    }


def _assert_same(alone: dict[int, Trace], packed: dict[int, Trace], task: str) -> None:
    for number, (values, losses, result) in alone.items():
        p_values, p_losses, p_result = packed[number]
        assert p_result.outcome == result.outcome, number
        assert p_result.epochs_run == result.epochs_run, number
        assert len(p_losses) == len(losses), number
        np.testing.assert_allclose(
            p_losses, losses, rtol=RTOL, atol=1e-7, err_msg=f"trial {number} loss"
        )
        if task == "regression":
            np.testing.assert_allclose(p_values, values, rtol=RTOL, err_msg=f"trial {number} mse")
        else:
            assert p_values == values, f"trial {number} accuracy {p_values} != {values}"
        assert set(p_result.metrics) == set(result.metrics), number
        for key, value in result.metrics.items():
            if key in LATENCY_KEYS:  # timings, not results
                continue
            assert p_result.metrics[key] == pytest.approx(value, rel=RTOL, abs=1e-7), (number, key)


def _tasks(configs: list[TrialConfig]) -> list[TrialTask]:
    return [TrialTask(i, c, seed=100 + i) for i, c in enumerate(configs)]


def _varied(
    rng: random.Random, activation: str, loss: str, optimizer: str, batch_size: int = 32
) -> TrialConfig:
    depth = rng.randint(1, 3)
    return TrialConfig(
        widths=tuple(rng.choice([3, 8, 16]) for _ in range(depth)),
        activation=activation,
        loss=loss,
        optimizer=optimizer,
        lr={"adadelta": 1.0, "adagrad": 0.05}.get(optimizer, rng.choice([3e-3, 1e-2, 3e-2])),
        batch_size=batch_size,
        split_fraction=rng.choice([0.25, 0.5]) if activation == "split" else None,
        momentum=rng.choice([0.0, 0.5, 0.9]) if optimizer in ("sgd", "rmsprop") else None,
        weight_decay=rng.choice([0.0, 1e-3]),
        dropout=rng.choice([0.0, 0.0, 0.2]),
        scheduler=rng.choice(["none", "step", "cosine"]),
        step_size=1,
        gamma=0.7,
    )


@pytest.fixture(scope="module")
def blobs() -> DataBundle:
    from sklearn.datasets import make_blobs

    x, y = make_blobs(n_samples=240, centers=4, n_features=3, cluster_std=2.0, random_state=0)
    raw = RawData(
        x.astype(np.float32), y.astype(np.int64), "multiclass", ("a", "b", "c"), (0, 1, 2, 3)
    )
    spec = parse_spec({"study": {"name": "b"}, "data": {"source": "moons"}})
    return bundle(raw, spec.data)


def test_every_activation_loss_and_optimizer_matches_alone_in_one_pack(moons) -> None:
    rng = random.Random(0)
    combos = itertools.product(ACTIVATIONS, LOSSES_FOR_TASK["binary"], PACKABLE_OPTIMIZERS)
    tasks = _tasks([_varied(rng, a, loss, o) for a, loss, o in combos])
    settings = TrainSettings(task="binary", epochs=2)
    _assert_same(_alone(tasks, moons, settings), _packed(tasks, moons, settings), "binary")


@pytest.mark.parametrize("optimizer", PACKABLE_OPTIMIZERS)
def test_a_pack_of_one_matches_alone(moons, optimizer: str) -> None:
    # sweep trains a packable trial that has no pack partners as a pack of one
    rng = random.Random(6)
    config = _varied(rng, rng.choice(ACTIVATIONS), rng.choice(("bce", "mse", "quartic")), optimizer)
    tasks = _tasks([config])
    settings = TrainSettings(task="binary", epochs=2)
    runner = make_runner(tasks, moons.n_features, moons.n_outputs, settings, CPU)
    assert isinstance(runner, StackedRunner)
    _assert_same(_alone(tasks, moons, settings), _packed(tasks, moons, settings), "binary")


def test_a_trial_without_a_stacked_optimizer_trains_alone(moons) -> None:
    adam = _varied(random.Random(7), "relu", "bce", "adam")
    config = dataclasses.replace(adam, optimizer="lbfgs")
    settings = TrainSettings(task="binary", epochs=1)
    runner = make_runner(_tasks([config]), moons.n_features, moons.n_outputs, settings, CPU)
    assert isinstance(runner, ModuleRunner)


def test_multiclass_losses_match_alone(blobs) -> None:
    rng = random.Random(1)
    combos = itertools.product(LOSSES_FOR_TASK["multiclass"], ("adam", "sgd", "rmsprop"))
    tasks = _tasks([_varied(rng, rng.choice(ACTIVATIONS), loss, o) for loss, o in combos])
    settings = TrainSettings(task="multiclass", epochs=2)
    _assert_same(_alone(tasks, blobs, settings), _packed(tasks, blobs, settings), "multiclass")


def test_regression_losses_match_alone(regression) -> None:
    rng = random.Random(2)
    combos = itertools.product(LOSSES_FOR_TASK["regression"], PACKABLE_OPTIMIZERS)
    tasks = _tasks(
        [_varied(rng, rng.choice(ACTIVATIONS), loss, o, batch_size=16) for loss, o in combos]
    )
    settings = TrainSettings(task="regression", epochs=2)
    _assert_same(
        _alone(tasks, regression, settings), _packed(tasks, regression, settings), "regression"
    )


def test_layer_activations_normal_init_and_summed_losses_match_alone(regression) -> None:
    """The tutorials' settings in one pack beside plain members: an activation per layer,
    N(0, 1) weights with zero biases, and losses summed rather than averaged (each (loss,
    reduction) pair is one group of the pack's step)."""
    rng = random.Random(9)
    configs = []
    for loss, reduction, init in itertools.product(
        ("mse", "quartic", "l1"), ("mean", "sum"), ("default", "normal")
    ):
        layers = tuple(rng.choice(ACTIVATIONS) for _ in range(2))
        base = _varied(rng, "relu", loss, rng.choice(("sgd", "adam")), batch_size=16)
        configs.append(
            dataclasses.replace(
                base,
                widths=(8, 3),
                activation=",".join(layers),
                activations=layers,
                split_fraction=0.5 if "split" in layers else None,
                lr=base.lr * (1e-3 if reduction == "sum" or init == "normal" else 1.0),
                reduction=reduction,
                init=init,
            )
        )
    tasks = _tasks(configs)
    settings = TrainSettings(task="regression", epochs=2)
    alone, packed = _alone(tasks, regression, settings), _packed(tasks, regression, settings)
    assert all(result.outcome == "complete" for _, _, result in alone.values())
    _assert_same(alone, packed, "regression")


def test_pruned_and_diverging_members_leave_and_the_others_are_unaffected(regression) -> None:
    rng = random.Random(3)
    configs = [_varied(rng, "tanh", "mse", "adam", batch_size=16) for _ in range(4)]
    configs.append(
        TrialConfig(
            widths=(8,),
            activation="relu",
            loss="quartic",
            optimizer="sgd",
            lr=1e6,
            batch_size=16,
            momentum=0.9,
        )
    )
    tasks = _tasks(configs)
    settings = TrainSettings(task="regression", epochs=4)
    prune = {1: 2}  # the pruner stops trial 1 after epoch 2
    alone, packed = (
        _alone(tasks, regression, settings, prune),
        _packed(tasks, regression, settings, prune),
    )
    assert packed[1][2].outcome == "pruned" and packed[1][2].epochs_run == 2
    assert packed[4][2].outcome == "failed" and packed[4][2].reason.startswith("diverged")
    assert packed[4][2].pack_size == 5
    _assert_same(alone, packed, "regression")


def test_packed_weights_are_the_trials_own_weights(moons) -> None:
    rng = random.Random(4)
    tasks = _tasks([_varied(rng, a, "bce", "adamw") for a in ACTIVATIONS])
    settings = TrainSettings(task="binary", epochs=2, keep_weights=True)
    alone, packed = _alone(tasks, moons, settings), _packed(tasks, moons, settings)
    for t in tasks:
        a = torch.load(io.BytesIO(alone[t.number][2].weights), weights_only=True)
        p = torch.load(io.BytesIO(packed[t.number][2].weights), weights_only=True)
        assert a.keys() == p.keys()
        for key in a:
            torch.testing.assert_close(p[key], a[key], rtol=1e-4, atol=1e-6)


def test_a_pack_must_share_the_batch_size(moons) -> None:
    rng = random.Random(5)
    tasks = _tasks([_varied(rng, "relu", "bce", "adam", batch_size=b) for b in (16, 32)])
    with pytest.raises(ValueError, match="one batch size"):
        StackedRunner(tasks, 2, 1, TrainSettings(task="binary", epochs=1), CPU)


def test_a_members_weights_are_its_layouts_own_tensors() -> None:
    """Each member's weights are named and shaped as its ``Layout`` says, counted as its
    ``n_params``, and copied out of the pack's buffer (one-input and one-output layers
    would otherwise stay views of it, and ``torch.save`` would write the whole pack)."""
    rng = random.Random(8)
    tasks = _tasks([_varied(rng, a, "mse", "adam") for a in ACTIVATIONS * 2])
    runner = StackedRunner(tasks, 1, 1, TrainSettings(task="regression", epochs=1), CPU)
    for position, number in enumerate(runner.numbers):
        layout = Layout.of(tasks[number].config, 1, 1)
        (state,) = runner.weights([position])
        assert {k: tuple(v.shape) for k, v in state.items()} == layout.shapes()
        assert runner.n_params(position) == layout.n_parameters
        assert layout.n_parameters == sum(v.numel() for v in state.values())
        for key, value in state.items():
            assert value.is_contiguous(), key
            assert value.untyped_storage().nbytes() == value.numel() * 4, key


def test_a_pack_steps_without_warnings_or_import_time_filters() -> None:
    """Importing the trainer leaves the warning filters alone, and a pack's step (whose
    gradients are strided views, which autograd would note) raises no warning even with
    every warning an error. A fresh process: autograd notes it once a process."""
    script = textwrap.dedent(
        """
        import warnings
        import torch
        before = list(warnings.filters)
        from sweep.space import TrialConfig
        from sweep.train import StackedRunner, TrainSettings, TrialTask
        assert warnings.filters == before, "importing sweep.train changed the filters"
        warnings.simplefilter("error")
        config = TrialConfig(widths=(4, 3), activation="relu", loss="mse",
                             optimizer="adam", lr=0.01, batch_size=8)
        tasks = [TrialTask(i, config, seed=i) for i in range(3)]
        settings = TrainSettings(task="regression", epochs=1)
        runner = StackedRunner(tasks, 2, 1, settings, torch.device("cpu"))
        runner.step(torch.randn(3, 8, 2), torch.randn(3, 8, 1))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
