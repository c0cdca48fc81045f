"""The closed sets of names a study file may use.

Kept free of torch so that checking a study file is instant; the modules that
implement each name (``sweep.model``, ``sweep.losses``, ``sweep.optim``) check
at import that they cover exactly these.
"""

from __future__ import annotations

from typing import Literal

Task = Literal["binary", "multiclass", "regression"]
TASKS: tuple[Task, ...] = ("binary", "multiclass", "regression")

ACTIVATIONS = ("relu", "tanh", "split", "sum")
LOSSES = ("bce", "mse", "quartic", "cross_entropy")
# Optimizers whose update sweep can apply to a stacked pack of trials at once.
PACKABLE_OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta")
# These run one trial at a time (L-BFGS needs a closure and line search per trial).
SOLO_OPTIMIZERS = ("adamax", "nadam", "radam", "lbfgs")
OPTIMIZERS = PACKABLE_OPTIMIZERS + SOLO_OPTIMIZERS
SCHEDULERS = ("none", "step", "cosine")
SAMPLERS = ("tpe", "random", "qmc")
PRUNERS = ("median", "percentile", "hyperband", "successive_halving", "none")

# Losses that make sense for each task. Binary outputs one logit (BCE on it,
# MSE/quartic on its sigmoid); multi-class outputs one logit per class
# (cross-entropy, one-vs-all BCE, MSE/quartic on the softmax against one-hot).
LOSSES_FOR_TASK: dict[str, tuple[str, ...]] = {
    "binary": ("bce", "mse", "quartic"),
    "multiclass": ("cross_entropy", "bce", "mse", "quartic"),
    "regression": ("mse", "quartic"),
}
DEFAULT_LOSS = {"binary": "bce", "multiclass": "cross_entropy", "regression": "mse"}

# Which hyperparameters each optimizer takes (the others are not sampled for it).
USES_MOMENTUM = ("sgd", "rmsprop")
USES_WEIGHT_DECAY = tuple(o for o in OPTIMIZERS if o != "lbfgs")
