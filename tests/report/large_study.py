"""Large studies built quickly through Optuna's API, shaped like the ones sweep writes.

Training 10,000 real trials would take hours; reports only read what a sweep
stores, so trials made with ``optuna.trial.create_trial`` (parameters, the
``config`` user attribute, metrics, per-epoch validation values, timestamps)
exercise the same code.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from typing import Any

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import FrozenTrial, TrialState, create_trial

ACTIVATIONS = ["relu", "tanh", "split", "sum"]
LOSSES = ["bce", "mse", "quartic"]
OPTIMIZERS = ["sgd", "adam", "adamw", "rmsprop"]
DISTRIBUTIONS = {
    "depth": IntDistribution(1, 4),
    "width": IntDistribution(4, 256, log=True),
    "activation": CategoricalDistribution(ACTIVATIONS),
    "split_fraction": FloatDistribution(0.2, 0.8),
    "loss": CategoricalDistribution(LOSSES),
    "optimizer": CategoricalDistribution(OPTIMIZERS),
    "lr": FloatDistribution(1e-4, 1e-1, log=True),
    "momentum": FloatDistribution(0.5, 0.99),
}
EPOCHS = 5


def _trial(i: int, rng: random.Random, start: dt.datetime) -> FrozenTrial:
    depth = rng.randint(1, 4)
    width = int(round(math.exp(rng.uniform(math.log(4), math.log(256)))))
    params: dict[str, Any] = {
        "depth": depth,
        "width": width,
        "activation": rng.choice(ACTIVATIONS),
        "loss": rng.choice(LOSSES),
        "optimizer": rng.choice(OPTIMIZERS),
        "lr": math.exp(rng.uniform(math.log(1e-4), math.log(1e-1))),
    }
    if params["activation"] == "split":
        params["split_fraction"] = rng.uniform(0.2, 0.8)
    if params["optimizer"] in ("sgd", "rmsprop"):
        params["momentum"] = rng.uniform(0.5, 0.99)
    # A smooth-ish response so the plots have something to show: a good lr band,
    # a mild preference for adam and for wider networks.
    quality = 0.9 - 0.05 * abs(math.log10(params["lr"]) + 2.5) + 0.02 * math.log2(width) / 8
    quality += 0.03 if params["optimizer"].startswith("adam") else 0.0
    r = rng.random()
    state = TrialState.COMPLETE if r < 0.82 else TrialState.PRUNED if r < 0.96 else TrialState.FAIL
    epochs = EPOCHS if state == TrialState.COMPLETE else rng.randint(1, EPOCHS - 1)
    curve = {
        e: min(1.0, max(0.0, quality * (1 - 0.5 * math.exp(-(e + 1) / 1.5)) + rng.gauss(0, 0.02)))
        for e in range(epochs)
    }
    config = {
        "widths": [width] * depth,
        "activation": params["activation"],
        "split_fraction": params.get("split_fraction"),
        "loss": params["loss"],
        "optimizer": params["optimizer"],
        "lr": params["lr"],
        "batch_size": 64,
        "momentum": params.get("momentum"),
        "weight_decay": 0.0,
        "dropout": 0.0,
        "scheduler": "none",
        "step_size": None,
        "gamma": None,
    }
    seconds = round(rng.uniform(0.5, 3.0) * epochs / EPOCHS, 4)
    attrs: dict[str, Any] = {
        "config": config,
        "seed": i,
        "device": "cpu",
        "epochs_run": epochs,
        "train_seconds": seconds,
        "n_params": 3 * width + (depth - 1) * width * (width + 1) + width + 1,
        "pack_size": 1,
        "train_loss": round(rng.uniform(0.05, 0.7), 5),
    }
    value = None
    if state == TrialState.COMPLETE:
        value = curve[epochs - 1]
        attrs.update(
            train_accuracy=min(1.0, value + 0.02), val_accuracy=value, test_accuracy=value - 0.01
        )
    elif state == TrialState.PRUNED:
        attrs["prune_reason"] = f"pruned at epoch {epochs - 1}"
    else:
        attrs["fail_reason"] = "diverged: loss is nan at epoch 1"
        curve = {}
    trial = create_trial(
        state=state,
        value=value,
        params=params,
        distributions={k: DISTRIBUTIONS[k] for k in params},
        user_attrs=attrs,
        intermediate_values=curve,
    )
    trial.datetime_start = start + dt.timedelta(seconds=2 * i)
    trial.datetime_complete = trial.datetime_start + dt.timedelta(seconds=seconds)
    return trial


def made_trials(n: int, *, seed: int = 0) -> list[FrozenTrial]:
    """``n`` finished trials (about 82% complete, 14% pruned, 4% failed) of a binary study."""
    rng = random.Random(seed)
    start = dt.datetime(2025, 1, 1, 9, 0, 0)
    return [_trial(i, rng, start) for i in range(n)]


def build_large_study(
    n: int, *, storage: str | optuna.storages.BaseStorage | None = None, name: str = "big"
) -> optuna.Study:
    """A study of ``n`` made-up trials with sweep's study attributes, in ``storage``
    (in memory by default)."""
    study = optuna.create_study(storage=storage, study_name=name, direction="maximize")
    study.set_user_attr("sweep.objective", "accuracy")
    study.set_user_attr(
        "sweep.data",
        {
            "task": "binary",
            "n_features": 2,
            "n_outputs": 1,
            "feature_names": ["x0", "x1"],
            "classes": [0, 1],
        },
    )
    study.add_trials(made_trials(n))
    return study
