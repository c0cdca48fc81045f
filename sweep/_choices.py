"""The closed sets of names a study file may use, as ``Literal`` types and tuples.

A leaf module (it imports nothing of sweep's), so that ``sweep.config`` and
``sweep.data`` can both name a task without importing each other. Kept free
of torch so that checking a study file is instant; the modules that implement
each name (``sweep.model``, ``sweep.losses``, ``sweep.optim``) check at import
that they cover exactly these.

Each tuple is the ``Literal``'s arguments in order, so the valid choices an
error lists are the order written here.
"""

from __future__ import annotations

from typing import Literal, get_args

Task = Literal["binary", "multiclass", "regression"]
TASKS: tuple[Task, ...] = get_args(Task)

Activation = Literal["relu", "tanh", "split", "sum"]
ACTIVATIONS: tuple[Activation, ...] = get_args(Activation)

Loss = Literal["bce", "mse", "quartic", "l1", "smooth_l1", "cross_entropy"]
LOSSES: tuple[Loss, ...] = get_args(Loss)

# Optimizers whose update sweep can apply to a stacked pack of trials at once.
PackableOptimizer = Literal["sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "rprop"]
# These run one trial at a time (L-BFGS needs a closure and line search per trial).
SoloOptimizer = Literal["adamax", "nadam", "radam", "lbfgs"]
Optimizer = Literal[PackableOptimizer, SoloOptimizer]
PACKABLE_OPTIMIZERS: tuple[PackableOptimizer, ...] = get_args(PackableOptimizer)
SOLO_OPTIMIZERS: tuple[SoloOptimizer, ...] = get_args(SoloOptimizer)
OPTIMIZERS: tuple[Optimizer, ...] = PACKABLE_OPTIMIZERS + SOLO_OPTIMIZERS

# How a trial's loss adds up its elements: torch's ``reduction`` (the tutorials that
# sum also scale their learning rate to it).
Reduction = Literal["mean", "sum"]
REDUCTIONS: tuple[Reduction, ...] = get_args(Reduction)

# A trial's starting weights: torch's nn.Linear default, or every weight drawn from
# N(0, 1) with the biases at zero (the tutorial that compares NumPy and torch).
Init = Literal["default", "normal"]
INITS: tuple[Init, ...] = get_args(Init)

Scheduler = Literal["none", "step", "cosine"]
SCHEDULERS: tuple[Scheduler, ...] = get_args(Scheduler)

Sampler = Literal["tpe", "random", "qmc", "gp", "cmaes", "grid"]
SAMPLERS: tuple[Sampler, ...] = get_args(Sampler)

Pruner = Literal["median", "percentile", "hyperband", "successive_halving", "none"]
PRUNERS: tuple[Pruner, ...] = get_args(Pruner)

# What a multi-objective study optimises: the validation metric first, then the network's
# parameter count and its batch-of-1 inference latency (both minimised).
ObjectiveName = Literal["metric", "params", "latency"]
OBJECTIVE_NAMES: tuple[ObjectiveName, ...] = get_args(ObjectiveName)

# Losses that make sense for each task. Binary outputs one logit (BCE on it, the
# distance losses on its sigmoid); multi-class outputs one logit per class
# (cross-entropy, one-vs-all BCE, the distance losses on the softmax against one-hot).
# Keyed by str, not Task: callers look them up with a task read back from storage.
LOSSES_FOR_TASK: dict[str, tuple[Loss, ...]] = {
    "binary": ("bce", "mse", "quartic", "l1", "smooth_l1"),
    "multiclass": ("cross_entropy", "bce", "mse", "quartic", "l1", "smooth_l1"),
    "regression": ("mse", "quartic", "l1", "smooth_l1"),
}
DEFAULT_LOSS: dict[str, Loss] = {
    "binary": "bce",
    "multiclass": "cross_entropy",
    "regression": "mse",
}

# Which hyperparameters each optimizer takes (the others are not sampled for it).
USES_MOMENTUM: tuple[Optimizer, ...] = ("sgd", "rmsprop")
USES_WEIGHT_DECAY: tuple[Optimizer, ...] = tuple(
    o for o in OPTIMIZERS if o not in ("lbfgs", "rprop")
)

# Not a study file's: the formats ``sweep export`` writes (here so the CLI lists them
# without loading torch).
ExportFormat = Literal["torchscript", "onnx", "state-dict"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = get_args(ExportFormat)
