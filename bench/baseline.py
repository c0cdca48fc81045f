"""The baseline: a hand-written Optuna objective in the PyTorch tutorials' style.

An ``nn.Sequential`` MLP, a ``DataLoader`` (batch 64, shuffled) over a
``TensorDataset``, the five-step loop, in-memory Optuna storage, one trial at a
time through ``study.optimize``. Same search space (depth and width ranges), data split,
epochs, sampler, pruner and seed as the bench study (``bench/bench.toml`` by default).
"""

from __future__ import annotations

import time

import optuna
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class Split(nn.Module):
    """ReLU on the first units, tanh on the rest."""

    def __init__(self, n_relu: int) -> None:
        super().__init__()
        self.n_relu = n_relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.relu(x[:, : self.n_relu]), torch.tanh(x[:, self.n_relu :])], dim=1)


class Sum(nn.Module):
    """ReLU and tanh of the same pre-activation, added."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x) + torch.tanh(x)


def quartic_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return ((target - pred) ** 4).mean()


def make_objective(
    x_train,
    y_train,
    x_val,
    y_val,
    epochs: int,
    seed: int,
    depth_range: tuple[int, int] = (1, 4),
    width_range: tuple[int, int] = (4, 256),
):
    def objective(trial: optuna.Trial) -> float:
        torch.manual_seed(seed + trial.number)
        depth = trial.suggest_int("depth", *depth_range)
        width = trial.suggest_int("width", *width_range, log=True)
        activation = trial.suggest_categorical("activation", ["relu", "tanh", "split", "sum"])
        layers: list[nn.Module] = []
        n_in = x_train.shape[1]
        split = trial.suggest_float("split_fraction", 0.2, 0.8) if activation == "split" else 0.5
        for _ in range(depth):
            layers.append(nn.Linear(n_in, width))
            if activation == "relu":
                layers.append(nn.ReLU())
            elif activation == "tanh":
                layers.append(nn.Tanh())
            elif activation == "split":
                layers.append(Split(int(round(split * width))))
            else:
                layers.append(Sum())
            n_in = width
        layers.append(nn.Linear(n_in, 1))
        model = nn.Sequential(*layers)

        loss_name = trial.suggest_categorical("loss", ["bce", "mse", "quartic"])
        if loss_name == "bce":
            loss_fn = nn.BCEWithLogitsLoss()
        elif loss_name == "mse":
            mse = nn.MSELoss()
            loss_fn = lambda out, y: mse(torch.sigmoid(out), y)  # noqa: E731
        else:
            loss_fn = lambda out, y: quartic_loss(torch.sigmoid(out), y)  # noqa: E731

        name = trial.suggest_categorical(
            "optimizer", ["sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta"]
        )
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        wd = trial.suggest_categorical("weight_decay", [0.0, 1e-4])
        if name == "sgd":
            optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=wd)
        elif name == "rmsprop":
            optimizer = torch.optim.RMSprop(
                model.parameters(), lr=lr, momentum=0.9, weight_decay=wd
            )
        else:
            cls = {
                "adam": torch.optim.Adam,
                "adamw": torch.optim.AdamW,
                "adagrad": torch.optim.Adagrad,
                "adadelta": torch.optim.Adadelta,
            }[name]
            optimizer = cls(model.parameters(), lr=lr, weight_decay=wd)

        loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)
        accuracy = 0.0
        for epoch in range(epochs):
            model.train()
            for xb, yb in loader:
                optimizer.zero_grad()
                out = model(xb)
                loss = loss_fn(out, yb)
                loss.backward()
                optimizer.step()
            model.eval()
            with torch.no_grad():
                accuracy = ((model(x_val) > 0).float() == y_val).float().mean().item()
            trial.report(accuracy, epoch + 1)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return accuracy

    return objective


def run_baseline(
    data,
    *,
    n_trials: int,
    epochs: int,
    seed: int,
    startup: int = 10,
    pruner_startup: int = 5,
    pruner_warmup: int = 2,
    depth_range: tuple[int, int] = (1, 4),
    width_range: tuple[int, int] = (4, 256),
    sampler: str = "tpe",
    pruner: str = "median",
) -> tuple[float, float, int, float]:
    """Run the baseline study; returns (wall seconds, best value, finished trials, and the
    useful FLOPs of their training: 6 x parameters x training samples seen)."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=seed)
        if sampler == "random"
        else optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup),
        pruner=optuna.pruners.NopPruner()
        if pruner == "none"
        else optuna.pruners.MedianPruner(
            n_startup_trials=pruner_startup, n_warmup_steps=pruner_warmup
        ),
    )
    objective = make_objective(
        data.x_train,
        data.y_train,
        data.x_val,
        data.y_val,
        epochs,
        seed,
        depth_range,
        width_range,
    )
    start = time.perf_counter()
    study.optimize(objective, n_trials=n_trials)
    wall = time.perf_counter() - start
    n_in, n_train = data.x_train.shape[1], data.x_train.shape[0]
    flops = 0.0
    for t in study.trials:
        dims = [n_in] + [t.params["width"]] * t.params["depth"] + [1]
        n_params = sum(a * b + b for a, b in zip(dims[:-1], dims[1:]))
        flops += 6.0 * n_params * len(t.intermediate_values) * n_train
    return wall, study.best_value, len(study.trials), flops
