"""The closed sets of names a study file may use: see :mod:`sweep._choices`.

They live in that leaf module so that ``sweep.data`` can name a task without
importing ``sweep.config``; this module keeps the names where the model,
loss and trainer modules import them from.
"""

from sweep._choices import (
    ACTIVATIONS,
    DEFAULT_LOSS,
    LOSSES,
    LOSSES_FOR_TASK,
    OPTIMIZERS,
    PACKABLE_OPTIMIZERS,
    PRUNERS,
    SAMPLERS,
    SCHEDULERS,
    SOLO_OPTIMIZERS,
    TASKS,
    USES_MOMENTUM,
    USES_WEIGHT_DECAY,
    Activation,
    Loss,
    Optimizer,
    PackableOptimizer,
    Pruner,
    Sampler,
    Scheduler,
    SoloOptimizer,
    Task,
)

__all__ = [
    "ACTIVATIONS",
    "DEFAULT_LOSS",
    "LOSSES",
    "LOSSES_FOR_TASK",
    "OPTIMIZERS",
    "PACKABLE_OPTIMIZERS",
    "PRUNERS",
    "SAMPLERS",
    "SCHEDULERS",
    "SOLO_OPTIMIZERS",
    "TASKS",
    "USES_MOMENTUM",
    "USES_WEIGHT_DECAY",
    "Activation",
    "Loss",
    "Optimizer",
    "PackableOptimizer",
    "Pruner",
    "Sampler",
    "Scheduler",
    "SoloOptimizer",
    "Task",
]
