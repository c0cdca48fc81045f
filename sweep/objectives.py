"""Several objectives: the validation metric first, then the network's size and speed.

A study with ``objectives = ["metric", "params"]`` (or ``"latency"``, or both) is an
Optuna multi-objective study: each complete trial's values are its validation metric,
then its parameter count and its batch-of-1 inference latency in milliseconds (both
minimised). Its trials rank by the front of those values: the complete trials no other
trial beats on every objective come first, ordered by the metric, then the rest by the
metric. A study of the metric alone keeps Optuna's single value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import optuna
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState

from sweep._choices import ObjectiveName
from sweep.metrics import Objective

# Where each objective beyond the metric is read from: the trial's user attributes.
OBJECTIVE_ATTRS: dict[ObjectiveName, str] = {"params": "n_params", "latency": "latency_ms"}
_BLOCK = 512  # rows compared at once in on_front: bounded memory for any study


def study_directions(objective: Objective, names: Sequence[ObjectiveName]) -> list[str]:
    """Optuna's directions: the metric's, then minimise each of the others."""
    return [objective.direction] + ["minimize" for name in names if name != "metric"]


def trial_values(
    metric: float, attrs: Mapping[str, Any], names: Sequence[ObjectiveName]
) -> list[float]:
    """A complete trial's values: its metric, then the other objectives from its attributes.

    Raises:
        ValueError: an objective the trial has no finite value for (naming it).
    """
    values = [float(metric)]
    for name in names[1:]:
        raw = attrs.get(OBJECTIVE_ATTRS[name])
        if raw is None or not np.isfinite(float(raw)):
            raise ValueError(f"objective {name!r} was not measured ({OBJECTIVE_ATTRS[name]})")
        values.append(float(raw))
    return values


def metric_of(trial: FrozenTrial) -> float | None:
    """The trial's metric: its value, or its first value in a study of several."""
    values = trial.values
    return float(values[0]) if values else None


def on_front(points: np.ndarray) -> np.ndarray:
    """For each row of ``points`` (n, m), every column minimised: whether no other row is
    at most it on every column and below it on one. Equal rows are all on the front."""
    points = np.asarray(points, dtype=float)
    mask = np.ones(len(points), dtype=bool)
    for start in range(0, len(points), _BLOCK):
        block = points[start : start + _BLOCK, None, :]
        weakly = np.all(points[None, :, :] <= block, axis=-1)
        strictly = np.any(points[None, :, :] < block, axis=-1)
        mask[start : start + _BLOCK] = ~np.any(weakly & strictly, axis=1)
    return mask


def minimised(values: np.ndarray, objective: Objective) -> np.ndarray:
    """(n, m) values with the metric's sign turned so that every column is minimised."""
    out = np.array(values, dtype=float, copy=True)
    if objective.direction == "maximize":
        out[:, 0] = -out[:, 0]
    return out


def front_order(values: np.ndarray, objective: Objective) -> tuple[np.ndarray, np.ndarray]:
    """(the order rows rank in, whether each row is on the front) for complete trials'
    (n, m) values: the front first, then the rest, each by the metric; ties keep their
    order (pass the rows in trial-number order)."""
    points = minimised(values, objective)
    front = on_front(points) if len(points) else np.zeros(0, dtype=bool)
    order = np.lexsort((np.arange(len(points)), points[:, 0], ~front)) if len(points) else front
    return order.astype(int), front


def ranked(
    trials: Sequence[FrozenTrial], objective: Objective
) -> tuple[list[FrozenTrial], set[int]]:
    """(the complete trials with values, best first, the numbers of those on the front).

    A study of one objective ranks by its value (the front: the trials with the best);
    a study of several by :func:`front_order` of all their values.
    """
    done = sorted(
        (t for t in trials if t.state == TrialState.COMPLETE and t.values),
        key=lambda t: t.number,
    )
    if not done:
        return [], set()
    order, front = front_order(np.array([t.values for t in done], dtype=float), objective)
    return [done[i] for i in order], {done[i].number for i in np.flatnonzero(front)}


def best_of(study: optuna.Study) -> FrozenTrial | None:
    """The study's best complete trial (rank 1: the front's best metric), or None."""
    if len(study.directions) == 1:
        try:
            return study.best_trial
        except ValueError:
            return None
    first = study.directions[0] == StudyDirection.MAXIMIZE
    objective = Objective("value", "maximize" if first else "minimize")
    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    order, _front = ranked(done, objective)
    return order[0] if order else None
