"""A study's trials as a pandas DataFrame, ranked by the objective."""

from __future__ import annotations

import math
from typing import Any

import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from sweep.metrics import Objective
from sweep.objectives import metric_of, ranked
from sweep.report._pareto import pareto_mask
from sweep.report._read import read_trials
from sweep.study import objective_of

# The hyperparameter columns, in display order (from each trial's ``config``).
PARAM_COLUMNS = [
    "depth",
    "width",
    "widths",
    "activation",
    "split_fraction",
    "loss",
    "optimizer",
    "lr",
    "momentum",
    "weight_decay",
    "dropout",
    "batch_size",
    "scheduler",
    "step_size",
    "gamma",
]
_STATE_ORDER = {"COMPLETE": 0, "PRUNED": 1, "FAIL": 2, "RUNNING": 3, "WAITING": 4}

# The type of every column sweep writes, so that a frame (and a CSV read back with
# ``read_trials_csv``) has the same dtypes whatever the trials hold: integers stay
# integers where some trials have none (nullable Int64), text stays text even when
# every value looks like a number (``widths`` of one-layer networks: "16").
_METRICS = ("train_loss",) + tuple(
    f"{split}_{m}" for m in ("accuracy", "mse") for split in ("train", "val", "test")
)
COLUMN_DTYPES: dict[str, str] = {
    "rank": "Int64",
    "trial": "int64",
    "state": "str",
    "value": "float64",
    "depth": "Int64",
    "width": "Int64",
    "widths": "str",
    "activation": "str",
    "split_fraction": "float64",
    "loss": "str",
    "optimizer": "str",
    "lr": "float64",
    "momentum": "float64",
    "weight_decay": "float64",
    "dropout": "float64",
    "batch_size": "Int64",
    "scheduler": "str",
    "step_size": "Int64",
    "gamma": "float64",
    "epochs_run": "Int64",
    "train_seconds": "float64",
    "n_params": "Int64",
    "pareto": "boolean",
    "front": "boolean",
    "latency_ms": "float64",
    "pareto_latency": "boolean",
    "latency_batch_ms": "float64",
    **dict.fromkeys(_METRICS, "float64"),
    "pack_size": "Int64",
    "device": "str",
    "fail_reason": "str",
    "prune_reason": "str",
    "started": "str",
    "finished": "str",
}


def _config_columns(trial: FrozenTrial) -> dict[str, Any]:
    config = trial.user_attrs.get("config")
    if config is None:  # not a sweep trial (or not started): fall back to Optuna's params
        return dict(trial.params)
    widths = [int(w) for w in config.get("widths", [])]
    derived = {
        "depth": len(widths),
        "width": widths[0] if widths and len(set(widths)) == 1 else math.nan,
        "widths": "-".join(str(w) for w in widths),
    }
    # In PARAM_COLUMNS order, so every frame (and CSV) lists the parameters alike.
    return {
        k: derived[k] if k in derived else config.get(k)
        for k in PARAM_COLUMNS
        if k in derived or k in config
    }


def _metric_columns(objective: Objective) -> list[str]:
    m = objective.name
    return ["train_loss", f"train_{m}", f"val_{m}", f"test_{m}"]


def trials_frame(
    study: optuna.Study,
    *,
    states: tuple[TrialState, ...] | None = None,
    trials: list[FrozenTrial] | None = None,
) -> pd.DataFrame:
    """Every trial of ``study`` as a row, ranked: complete trials by objective (rank 1 is
    best; in a study of several objectives the front first, each part by the metric, see
    ``sweep.objectives.ranked``), then pruned, failed and running ones.

    Columns: rank, trial, state, value (the metric), front (a study of several objectives:
    on the front of all of them), the hyperparameters (depth, width, widths, activation,
    ..., lr ...), epochs_run, train_seconds, n_params, pareto (on the front of the metric
    against the parameter count, see ``pareto_mask``), latency_ms, pareto_latency (the
    front of the metric against it) and latency_batch_ms (median milliseconds to predict
    one row and one batch of the trial's batch size, complete trials only;
    ``sweep.train._latency``), train_loss, the
    train/val/test metric, pack_size, device, fail_reason, prune_reason, started,
    finished (ISO 8601). Columns no trial has a value for are left out; the others
    have the types in ``COLUMN_DTYPES``.

    Args:
        study: The study (any storage; a database is read once, see ``read_trials``).
        states: Only trials in these states.
        trials: The study's trials when the caller has read them already.

    Returns:
        The ranked DataFrame, one row per trial.
    """
    objective = objective_of(study)
    if trials is None:
        trials = read_trials(study, states=states)
    elif states is not None:
        trials = [t for t in trials if t.state in states]
    rows = []
    for t in trials:
        attrs = t.user_attrs
        row: dict[str, Any] = {
            "trial": t.number,
            "state": t.state.name,
            "value": _last_value(t) if (v := metric_of(t)) is None else v,
        }
        row.update(_config_columns(t))
        for key in (
            "epochs_run",
            "train_seconds",
            "n_params",
            "latency_ms",
            "latency_batch_ms",
            *_metric_columns(objective),
            "pack_size",
        ):
            row[key] = attrs.get(key)
        row["device"] = attrs.get("device")
        row["fail_reason"] = attrs.get("fail_reason")
        row["prune_reason"] = attrs.get("prune_reason")
        row["started"] = (
            t.datetime_start.isoformat(timespec="seconds") if t.datetime_start else None
        )
        row["finished"] = (
            t.datetime_complete.isoformat(timespec="seconds") if t.datetime_complete else None
        )
        rows.append(row)
    frame = pd.DataFrame(rows)
    base = ["rank", "trial", "state", "value"]
    if frame.empty:
        return typed(pd.DataFrame(columns=base))
    ascending = objective.direction == "minimize"
    frame["_order"] = frame["state"].map(lambda s: _STATE_ORDER.get(s, 9))
    frame["_key"] = frame["value"].astype(float) * (1.0 if ascending else -1.0)
    if len(study.directions) > 1:  # complete trials in the front's order
        order, front = ranked(trials, objective)
        position = {t.number: i for i, t in enumerate(order)}
        done = frame["trial"].isin(position)
        frame.loc[done, "_key"] = frame.loc[done, "trial"].map(position).astype(float)
        frame["front"] = pd.array(
            [n in front if d else pd.NA for n, d in zip(frame["trial"], done)], dtype="boolean"
        )
    frame = frame.sort_values(["_order", "_key", "trial"], na_position="last", kind="stable")
    frame = frame.drop(columns=["_order", "_key"]).reset_index(drop=True)
    complete = frame["state"] == "COMPLETE"
    frame.insert(
        0, "rank", pd.array([i + 1 if c else pd.NA for i, c in enumerate(complete)], dtype="Int64")
    )
    frame = frame.dropna(axis=1, how="all").pipe(_keep_base, base)
    if "n_params" in frame:  # on the front of the metric against the parameter count
        frame.insert(frame.columns.get_loc("n_params") + 1, "pareto", pareto_mask(frame, objective))
    if "latency_ms" in frame:  # on the front of the metric against the batch-of-1 latency
        at = frame.columns.get_loc("latency_ms") + 1
        frame.insert(at, "pareto_latency", pareto_mask(frame, objective, "latency_ms"))
    if "front" in frame:
        frame.insert(frame.columns.get_loc("value") + 1, "front", frame.pop("front"))
    return typed(frame)


def typed(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the types of ``COLUMN_DTYPES`` on the columns it has.

    A study sweep did not create may use one of these names for something else
    (a categorical ``depth``, say); such a column keeps the type pandas gave it.
    """
    out = frame.copy()
    for column, dtype in COLUMN_DTYPES.items():
        if column in out:
            try:
                out[column] = out[column].astype(dtype)
            except (TypeError, ValueError):
                pass
    return out


def _keep_base(frame: pd.DataFrame, base: list[str]) -> pd.DataFrame:
    for col in base:
        if col not in frame:  # e.g. no trial has a value yet
            frame[col] = math.nan if COLUMN_DTYPES.get(col) == "float64" else pd.NA
    return frame


def _last_value(t: FrozenTrial) -> float | None:
    if t.state == TrialState.PRUNED and t.intermediate_values:
        return t.intermediate_values[max(t.intermediate_values)]
    return None
