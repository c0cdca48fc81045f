"""The baseline: a hand-written Optuna objective in the PyTorch tutorials' style.

An ``nn.Sequential`` MLP, a ``DataLoader`` (shuffled, the study's batch size: 64 in
the bench studies) over a ``TensorDataset`` on the CPU, each batch moved to the
device, the five-step loop, in-memory Optuna storage, one trial at a time through
``study.optimize``. The search space, data split, epochs, sampler, pruner and seed are
the bench study's (``bench/bench.toml`` by default); the parameters are drawn with
``sweep.space.sample_config``, so the baseline searches exactly the space sweep does
(same names, same distributions), and only the training differs.
"""

from __future__ import annotations

import time

import optuna
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from sweep.config import SpaceSpec
from sweep.space import TrialConfig, sample_config


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


OPTIMIZERS = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
    "adagrad": torch.optim.Adagrad,
    "adadelta": torch.optim.Adadelta,
    "adamax": torch.optim.Adamax,
    "nadam": torch.optim.NAdam,
    "radam": torch.optim.RAdam,
}


def make_model(config: TrialConfig, n_in: int, n_out: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width in config.widths:
        layers.append(nn.Linear(n_in, width))
        if config.activation == "relu":
            layers.append(nn.ReLU())
        elif config.activation == "tanh":
            layers.append(nn.Tanh())
        elif config.activation == "split":
            layers.append(Split(int(round((config.split_fraction or 0.5) * width))))
        else:
            layers.append(Sum())
        if config.dropout:
            layers.append(nn.Dropout(config.dropout))
        n_in = width
    layers.append(nn.Linear(n_in, n_out))
    return nn.Sequential(*layers)


def make_loss(name: str, task: str, n_out: int):
    """The loss on the model's outputs: BCE and cross-entropy on the logits, MSE and the
    quartic loss on the probabilities (sigmoid, or softmax against one-hot targets)."""
    if name == "cross_entropy":
        return nn.CrossEntropyLoss()
    if task == "binary":
        prob, dense = torch.sigmoid, lambda y: y
    else:
        prob = lambda out: torch.softmax(out, dim=1)  # noqa: E731
        dense = lambda y: nn.functional.one_hot(y, n_out).float()  # noqa: E731
    if name == "bce":
        bce = nn.BCEWithLogitsLoss()
        return lambda out, y: bce(out, dense(y))
    if name == "mse":
        mse = nn.MSELoss()
        return lambda out, y: mse(prob(out), dense(y))
    return lambda out, y: quartic_loss(prob(out), dense(y))


def make_optimizer(config: TrialConfig, params) -> torch.optim.Optimizer:
    kwargs = {"lr": config.lr, "weight_decay": config.weight_decay}
    if config.optimizer in ("sgd", "rmsprop"):
        kwargs["momentum"] = config.momentum or 0.0
    return OPTIMIZERS[config.optimizer](params, **kwargs)


def accuracy(out: torch.Tensor, y: torch.Tensor, task: str) -> float:
    hit = (out > 0).float() == y if task == "binary" else out.argmax(dim=1) == y
    return hit.float().mean().item()


def check_space(space: SpaceSpec, task: str) -> None:
    """The baseline trains what the bench studies search: classification, a fixed
    learning rate, the optimizers of ``OPTIMIZERS``."""
    if task not in ("binary", "multiclass"):
        raise SystemExit(f"bench baseline: task {task!r} is not supported (binary, multiclass)")
    for name in ("optimizer", "scheduler"):
        dim = getattr(space, name)
        values = getattr(dim, "values", None) or (getattr(dim, "value", None),)
        valid = list(OPTIMIZERS) if name == "optimizer" else ["none"]
        bad = [v for v in values if v not in valid]
        if bad:
            raise SystemExit(
                f"bench baseline: {name} {bad[0]!r} is not supported; valid: {', '.join(valid)}"
            )


def make_objective(data, space: SpaceSpec, epochs: int, seed: int, device: torch.device):
    task, n_in, n_out = data.task, data.n_features, data.n_outputs
    x_train, y_train = data.x_train.cpu(), data.y_train.cpu()

    def objective(trial: optuna.Trial) -> float:
        torch.manual_seed(seed + trial.number)
        config = sample_config(space, trial)
        model = make_model(config, n_in, n_out).to(device)
        loss_fn = make_loss(config.loss, task, n_out)
        optimizer = make_optimizer(config, model.parameters())
        loader = DataLoader(
            TensorDataset(x_train, y_train), batch_size=config.batch_size, shuffle=True
        )
        x_val, y_val = data.x_val.to(device), data.y_val.to(device)
        score = 0.0
        for epoch in range(epochs):
            model.train()
            for xb, yb in loader:
                xb, yb = xb.to(device), yb.to(device)
                optimizer.zero_grad()
                out = model(xb)
                loss = loss_fn(out, yb)
                loss.backward()
                optimizer.step()
            model.eval()
            with torch.no_grad():
                score = accuracy(model(x_val), y_val, task)
            trial.report(score, epoch + 1)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return score

    return objective


def run_baseline(
    data,
    space: SpaceSpec,
    *,
    n_trials: int,
    epochs: int,
    seed: int,
    startup: int = 10,
    pruner_startup: int = 5,
    pruner_warmup: int = 2,
    sampler: str = "tpe",
    pruner: str = "median",
    device: torch.device | str = "cpu",
) -> tuple[float, float, int, float]:
    """Run the baseline study; returns (wall seconds, best value, finished trials, and the
    useful FLOPs of their training: 6 x parameters x training samples seen)."""
    check_space(space, data.task)
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
    objective = make_objective(data, space, epochs, seed, torch.device(device))
    start = time.perf_counter()
    study.optimize(objective, n_trials=n_trials)
    wall = time.perf_counter() - start
    n_in, n_out, n_train = data.n_features, data.n_outputs, len(data.x_train)
    flops = 0.0
    for t in study.trials:
        config = sample_config(space, optuna.trial.FixedTrial(t.params))
        dims = [n_in, *config.widths, n_out]
        n_params = sum(a * b + b for a, b in zip(dims[:-1], dims[1:]))
        flops += 6.0 * n_params * len(t.intermediate_values) * n_train
    return wall, study.best_value, len(study.trials), flops
