"""From an Optuna trial to a typed TrialConfig, once, at the boundary.

Nothing below this module sees Optuna's ``trial.params``: the trainer, the
dispatcher and the reports work with :class:`TrialConfig`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import optuna

from sweep._choices import (
    USES_MOMENTUM,
    USES_WEIGHT_DECAY,
    Init,
    Loss,
    Optimizer,
    Reduction,
    Scheduler,
)
from sweep.config import Choice, Dim, Fixed, FloatRange, IntRange, SpaceSpec


@dataclass(frozen=True)
class TrialConfig:
    """Everything that defines one trial's network and optimisation.

    Hyperparameters that do not apply are None: ``split_fraction`` unless a layer's
    activation is ``split``; ``momentum`` unless the optimizer takes one;
    ``step_size``/``gamma`` unless the scheduler is ``step``. ``activations`` is one
    activation per hidden layer where they differ (``activation`` then names them all,
    comma-separated); None where every layer uses ``activation``.
    """

    widths: tuple[int, ...]
    activation: str
    loss: Loss
    optimizer: Optimizer
    lr: float
    batch_size: int
    split_fraction: float | None = None
    momentum: float | None = None
    weight_decay: float = 0.0
    dropout: float = 0.0
    scheduler: Scheduler = "none"
    step_size: int | None = None
    gamma: float | None = None
    reduction: Reduction = "mean"
    init: Init = "default"
    activations: tuple[str, ...] | None = None

    @property
    def depth(self) -> int:
        return len(self.widths)

    @property
    def layer_activations(self) -> tuple[str, ...]:
        """Each hidden layer's activation."""
        return self.activations or (self.activation,) * self.depth

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain values; the later ones (``reduction``, ``init``,
        ``activations``) only where they differ from their defaults, so that the record
        of a trial without them reads as it always has."""
        out = dataclasses.asdict(self)
        out["widths"] = list(self.widths)
        for key, default in _LATER_DEFAULTS.items():
            if out[key] == default:
                del out[key]
        if self.activations is not None:
            out["activations"] = list(self.activations)
        return out

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TrialConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in raw.items() if k in known}
        kwargs["widths"] = tuple(int(w) for w in kwargs["widths"])
        if kwargs.get("activations") is not None:
            kwargs["activations"] = tuple(kwargs["activations"])
        return cls(**kwargs)


_LATER_DEFAULTS: dict[str, Any] = {"reduction": "mean", "init": "default", "activations": None}


def trial_seed(study_seed: int, number: int) -> int:
    """Trial ``number``'s seed: fixes its initial weights, batch order and dropout."""
    return study_seed + number


class _Suggest:
    def __init__(self, trial: optuna.Trial) -> None:
        self._trial = trial

    def __call__(self, name: str, dim: Dim | None) -> Any:
        if dim is None:
            raise ValueError(f"dimension {name!r} was not resolved for the task")
        if isinstance(dim, Fixed):
            return dim.value
        if isinstance(dim, Choice):
            return self._trial.suggest_categorical(name, list(dim.values))  # type: ignore[arg-type]
        if isinstance(dim, IntRange):
            return self._trial.suggest_int(name, dim.low, dim.high, step=dim.step, log=dim.log)
        if isinstance(dim, FloatRange):
            return self._trial.suggest_float(name, dim.low, dim.high, log=dim.log)
        raise TypeError(f"not a dimension: {dim!r}")


def sample_config(space: SpaceSpec, trial: optuna.Trial) -> TrialConfig:
    """Ask ``trial`` for every searched dimension of ``space``; fixed ones are not suggested.

    Conditional dimensions are asked only where they apply (``split_fraction`` for the
    split activation, ``momentum`` for SGD and RMSprop, ``width_i`` per layer...).
    """
    s = _Suggest(trial)
    depth = int(s("depth", space.depth))
    if space.widths is not None:
        widths = space.widths
    elif space.per_layer_width:
        widths = tuple(int(s(f"width_{i}", space.width)) for i in range(depth))
    else:
        widths = (int(s("width", space.width)),) * depth
    activation = s("activation", space.activation)
    layers = space.activations
    if layers is not None and len(set(layers)) > 1:
        activation = ",".join(layers)
    else:
        layers = None
    optimizer = s("optimizer", space.optimizer)
    scheduler = s("scheduler", space.scheduler)
    return TrialConfig(
        widths=widths,
        activation=activation,
        activations=layers,
        loss=s("loss", space.loss),
        optimizer=optimizer,
        lr=float(s("lr", space.lr)),
        batch_size=int(s("batch_size", space.batch_size)),
        split_fraction=float(s("split_fraction", space.split_fraction))
        if "split" in (layers or (activation,))
        else None,
        momentum=float(s("momentum", space.momentum)) if optimizer in USES_MOMENTUM else None,
        weight_decay=float(s("weight_decay", space.weight_decay))
        if optimizer in USES_WEIGHT_DECAY
        else 0.0,
        dropout=float(s("dropout", space.dropout)),
        scheduler=scheduler,
        step_size=int(s("step_size", space.step_size)) if scheduler == "step" else None,
        gamma=float(s("gamma", space.gamma)) if scheduler == "step" else None,
        reduction=s("reduction", space.reduction),
        init=s("init", space.init),
    )
