"""A finished trial's essentials, read from its record: what ``study.best`` and
``study.trial(N)`` return."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from optuna.trial import FrozenTrial

from sweep.objectives import metric_of
from sweep.space import TrialConfig

_METRIC_KEYS = (
    "train_loss",
    "train_accuracy",
    "val_accuracy",
    "test_accuracy",
    "train_mse",
    "val_mse",
    "test_mse",
)


@dataclass(frozen=True)
class BestTrial:
    """A finished trial's essentials.

    Attributes:
        number: The trial's number in the study.
        value: Its objective (validation accuracy or MSE).
        params: Its hyperparameters (the TrialConfig as a dict: widths, activation, ...).
        metrics: Final train loss and train/validation/test metrics.
        config: The same hyperparameters, typed.
    """

    number: int
    value: float
    params: dict[str, Any]
    metrics: dict[str, float]
    config: TrialConfig | None


def summarise(t: FrozenTrial) -> BestTrial:
    """A trial's essentials from its record: its configuration, its final metrics, its
    metric (a pruned trial's last epoch's; nan where it has none)."""
    config_raw = t.user_attrs.get("config")
    config = TrialConfig.from_dict(config_raw) if config_raw else None
    params = config.to_dict() if config is not None else dict(t.params)
    metrics = {k: float(t.user_attrs[k]) for k in _METRIC_KEYS if k in t.user_attrs}
    value = metric_of(t)
    if value is None and t.intermediate_values:
        value = t.intermediate_values[max(t.intermediate_values)]
    return BestTrial(
        t.number, float(value) if value is not None else float("nan"), params, metrics, config
    )
