"""Studies side by side: best values, trial counts and time spent."""

from __future__ import annotations

import math
from typing import Any

import optuna
import pandas as pd
from optuna.trial import TrialState
from rich import box
from rich.table import Table

from sweep.objectives import best_of, metric_of
from sweep.report._collect import ReportData
from sweep.report._read import trial_states
from sweep.study import objective_of, study_names

COMPARE_COLUMNS = [
    "study",
    "objective",
    "direction",
    "best",
    "best_trial",
    "best_test",
    "trials",
    "complete",
    "pruned",
    "failed",
    "wall_seconds",
    "train_seconds",
    "seconds_per_trial",
    "started",
    "finished",
]
_LABELS = {
    "objective": "objective",
    "direction": "direction",
    "best": "best value",
    "best_trial": "best trial",
    "best_test": "its test metric",
    "trials": "trials",
    "complete": "complete",
    "pruned": "pruned",
    "failed": "failed",
    "wall_seconds": "wall clock",
    "train_seconds": "training time",
    "seconds_per_trial": "training per trial",
    "started": "first trial started",
    "finished": "last trial finished",
}


def _row(report: ReportData) -> dict[str, Any]:
    frame = report.frame
    done = frame[frame["state"] == "COMPLETE"]
    best = done.iloc[0] if len(done) else None
    test_col = f"test_{report.objective.name}"
    finished = report.count("COMPLETE") + report.count("PRUNED") + report.count("FAIL")
    train = report.train_seconds()
    starts = [t.datetime_start for t in report.trials if t.datetime_start is not None]
    ends = [t.datetime_complete for t in report.trials if t.datetime_complete is not None]
    return {
        "study": report.name,
        "objective": report.metric,
        "direction": report.objective.direction,
        "best": float(best["value"]) if best is not None else math.nan,
        "best_trial": int(best["trial"]) if best is not None else pd.NA,
        "best_test": float(best[test_col])
        if best is not None and test_col in best and pd.notna(best[test_col])
        else math.nan,
        "trials": len(frame),
        "complete": report.count("COMPLETE"),
        "pruned": report.count("PRUNED"),
        "failed": report.count("FAIL"),
        "wall_seconds": report.wall_seconds(),
        "train_seconds": train,
        "seconds_per_trial": train / finished if finished else math.nan,
        "started": min(starts).isoformat(timespec="seconds") if starts else None,
        "finished": max(ends).isoformat(timespec="seconds") if ends else None,
    }


def compare_frame(reports: list[ReportData]) -> pd.DataFrame:
    """One row per study: best value and trial, the best trial's test metric, trial
    counts, wall-clock and summed training seconds, first start and last finish.

    Args:
        reports: The studies' report data (see ``collect``).

    Returns:
        A DataFrame with the columns of ``COMPARE_COLUMNS``.
    """
    frame = pd.DataFrame([_row(r) for r in reports], columns=COMPARE_COLUMNS)
    return frame.astype({"best_trial": "Int64"})


def _duration(seconds: float) -> str:
    if math.isnan(seconds):
        return "-"
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def _cell(column: str, value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if column in ("wall_seconds", "train_seconds", "seconds_per_trial"):
        return _duration(float(value))
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def compare_table(frame: pd.DataFrame) -> Table:
    """The comparison as a rich table, one column per study; the best value across
    studies that share an objective is marked with ``*``."""
    table = Table(title="studies side by side", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("", justify="left", style="bold")
    for name in frame["study"]:
        table.add_column(str(name), justify="right", no_wrap=True)
    winners = _winners(frame)
    for column in COMPARE_COLUMNS[1:]:
        cells = []
        for i, value in enumerate(frame[column]):
            text = _cell(column, value)
            if column == "best" and i in winners:
                text += " *"
            cells.append(text)
        table.add_row(_LABELS[column], *cells)
    return table


def _winners(frame: pd.DataFrame) -> set[int]:
    """Row positions holding the best value among studies with the same objective."""
    out = set()
    for _, group in frame.groupby(["objective", "direction"], sort=False):
        values = group["best"].dropna()
        if len(values) < 2:
            continue
        pick = values.idxmax() if group["direction"].iloc[0] == "maximize" else values.idxmin()
        out.add(int(frame.index.get_loc(pick)))
    return out


def studies_frame(rdb: optuna.storages.BaseStorage) -> pd.DataFrame:
    """Every study in ``rdb`` with its trial counts, best value and objective."""
    rows = []
    for name in study_names(rdb):
        study = optuna.load_study(study_name=name, storage=rdb)
        states = trial_states(study)
        objective = objective_of(study)
        top = best_of(study)
        best = metric_of(top) if top is not None else None
        rows.append(
            {
                "study": name,
                "trials": len(states),
                "complete": states.count(TrialState.COMPLETE),
                "pruned": states.count(TrialState.PRUNED),
                "failed": states.count(TrialState.FAIL),
                "running": states.count(TrialState.RUNNING),
                "waiting": states.count(TrialState.WAITING),
                "objective": objective.name,
                "direction": objective.direction,
                "best": best,
            }
        )
    columns = [
        "study",
        "trials",
        "complete",
        "pruned",
        "failed",
        "running",
        "waiting",
        "objective",
        "direction",
        "best",
    ]
    return pd.DataFrame(rows, columns=columns)
