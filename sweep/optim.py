"""Optimizers and learning-rate schedules for one trial (torch.optim).

The schedule is a closed formula of the epoch, applied at the start of each
epoch; the packed trainer uses the same formula, so a trial's learning rate
is the same alone or in a pack.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

from sweep._choices import OPTIMIZERS
from sweep.space import TrialConfig

__all__ = ["build_optimizer", "lr_at"]

# Hyperparameters that are not searched: PyTorch's defaults, written out so the
# packed optimizers can use the very same values.
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
RMSPROP_ALPHA = 0.99
RMSPROP_EPS = 1e-8
ADAGRAD_EPS = 1e-10
ADADELTA_RHO = 0.9
ADADELTA_EPS = 1e-6
RPROP_ETAS = (0.5, 1.2)  # (etaminus, etaplus)
RPROP_STEP_SIZES = (1e-6, 50.0)  # step sizes are kept within these


def lr_at(config: TrialConfig, epoch: int, epochs: int) -> float:
    """Learning rate for 0-based ``epoch`` of ``epochs``.

    step: lr * gamma ** (epoch // step_size), as StepLR stepped once per epoch;
    cosine: lr * (1 + cos(pi * epoch / epochs)) / 2, as CosineAnnealingLR(T_max=epochs).
    """
    if config.scheduler == "step":
        if config.step_size is None or config.gamma is None:
            raise ValueError("the step schedule needs step_size and gamma, got None")
        return config.lr * config.gamma ** (epoch // config.step_size)
    if config.scheduler == "cosine":
        return config.lr * (1 + math.cos(math.pi * epoch / epochs)) / 2
    return config.lr


def build_optimizer(
    config: TrialConfig, params: Iterable[torch.nn.Parameter]
) -> torch.optim.Optimizer:
    """The trial's optimizer over ``params``."""
    name, lr, wd = config.optimizer, config.lr, config.weight_decay
    params = list(params)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=config.momentum or 0.0, weight_decay=wd)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=ADAM_BETAS, eps=ADAM_EPS, weight_decay=wd)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, betas=ADAM_BETAS, eps=ADAM_EPS, weight_decay=wd)
    if name == "rmsprop":
        return torch.optim.RMSprop(
            params,
            lr=lr,
            alpha=RMSPROP_ALPHA,
            eps=RMSPROP_EPS,
            weight_decay=wd,
            momentum=config.momentum or 0.0,
        )
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, eps=ADAGRAD_EPS, weight_decay=wd)
    if name == "adadelta":
        return torch.optim.Adadelta(
            params, lr=lr, rho=ADADELTA_RHO, eps=ADADELTA_EPS, weight_decay=wd
        )
    if name == "rprop":  # the learning rate is the first step size; no weight decay
        return torch.optim.Rprop(params, lr=lr, etas=RPROP_ETAS, step_sizes=RPROP_STEP_SIZES)
    if name == "adamax":
        return torch.optim.Adamax(params, lr=lr, weight_decay=wd)
    if name == "nadam":
        return torch.optim.NAdam(params, lr=lr, weight_decay=wd)
    if name == "radam":
        return torch.optim.RAdam(params, lr=lr, weight_decay=wd)
    if name == "lbfgs":
        return torch.optim.LBFGS(params, lr=lr)
    raise ValueError(f"unknown optimizer {name!r}; valid: {', '.join(OPTIMIZERS)}")
