"""Accuracy against size: the complete trials no other trial beats on both the metric and
the parameter count, and the smallest network nearly as good as the best."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sweep.metrics import Objective
from sweep.objectives import minimised, on_front

if TYPE_CHECKING:  # _collect builds the frame, whose pareto column comes from here
    from sweep.report._collect import ReportData

# The front's table in the HTML report (those the frame has).
PARETO_COLUMNS = ["rank", "trial", "value", "n_params", "depth", "width", "widths",
                  "activation", "loss", "optimizer", "lr"]  # fmt: skip


def _sized(frame: pd.DataFrame, against: str = "n_params") -> pd.DataFrame:
    """The complete trials that have a value and a figure in column ``against``."""
    if against not in frame or frame.empty:
        return frame.iloc[0:0]
    done = frame[(frame["state"] == "COMPLETE") & frame["value"].notna()]
    return done[done[against].notna()]


def pareto_mask(frame: pd.DataFrame, objective: Objective, against: str = "n_params") -> pd.Series:
    """For each row of a trials frame: whether it is on the front of the validation metric
    against column ``against`` (the parameter count, or ``latency_ms``), both at their
    best: a complete trial that no other complete trial matches or beats on both, beating
    it on one. Trials equal on both are all on it."""
    mask = pd.Series(False, index=frame.index, dtype="boolean")
    done = _sized(frame, against)
    if done.empty:
        return mask
    values = np.column_stack([done["value"].astype(float), done[against].astype(float)])
    mask[done.index] = on_front(minimised(values, objective))
    return mask


def pareto_frame(
    frame: pd.DataFrame, objective: Objective, against: str = "n_params"
) -> pd.DataFrame:
    """The rows of a trials frame on the front of the metric against ``against``, best
    metric first (then the smaller ``against``, then by trial)."""
    front = frame[pareto_mask(frame, objective, against).fillna(False).astype(bool)]
    if front.empty:
        return front.reset_index(drop=True)
    order = pd.DataFrame(
        {"score": minimised(front[["value"]].to_numpy(float), objective)[:, 0]}, index=front.index
    )
    order["size"], order["trial"] = front[against].astype(float), front["trial"]
    return front.loc[
        order.sort_values(["score", "size", "trial"], kind="stable").index
    ].reset_index(drop=True)


def pareto_points(report: ReportData) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(every sized complete trial, the front by size) of a report, for the figures."""
    front = pareto_frame(report.frame, report.objective).sort_values("n_params", kind="stable")
    return _sized(report.frame), front


def smallest_within(frame: pd.DataFrame, objective: Objective, within: float) -> pd.Series | None:
    """The complete trial with the fewest parameters whose metric is within ``within`` of
    the best (the best metric first among equal sizes); None if no trial has a size."""
    done = _sized(frame)
    if done.empty:
        return None
    sign = 1.0 if objective.direction == "maximize" else -1.0
    score = done["value"].astype(float) * sign
    near = done[score >= score.max() - within]
    order = pd.DataFrame({"size": near["n_params"].astype(int), "score": score[near.index]})
    first = order.sort_values(["size", "score"], ascending=[True, False], kind="stable").index[0]
    return near.loc[first]
