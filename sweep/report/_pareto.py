"""Accuracy against size: the complete trials no other trial beats on both the metric and
the parameter count, and the smallest network nearly as good as the best."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from sweep.metrics import Objective

if TYPE_CHECKING:  # _collect builds the frame, whose pareto column comes from here
    from sweep.report._collect import ReportData

# The front's table in the HTML report (those the frame has).
PARETO_COLUMNS = ["rank", "trial", "value", "n_params", "depth", "width", "widths",
                  "activation", "loss", "optimizer", "lr"]  # fmt: skip


def _sized(frame: pd.DataFrame) -> pd.DataFrame:
    """The complete trials that have a value and a parameter count."""
    if "n_params" not in frame or frame.empty:
        return frame.iloc[0:0]
    done = frame[(frame["state"] == "COMPLETE") & frame["value"].notna()]
    return done[done["n_params"].notna()]


def pareto_mask(frame: pd.DataFrame, objective: Objective) -> pd.Series:
    """For each row of a trials frame: whether it is on the front of the validation metric
    against the parameter count (a complete trial that no other complete trial matches
    or beats on both, beating it on one). Trials equal on both are all on it."""
    mask = pd.Series(False, index=frame.index, dtype="boolean")
    done = _sized(frame)
    if done.empty:
        return mask
    sign = 1.0 if objective.direction == "maximize" else -1.0
    # By size, then best value first: a trial is beaten only by one met before it.
    score = done["value"].astype(float) * sign
    order = pd.DataFrame({"size": done["n_params"].astype(int), "score": score})
    order = order.sort_values(["size", "score"], ascending=[True, False], kind="stable")
    best: tuple[float, int] | None = None  # (score, the smallest size it was reached at)
    for index, size, value in zip(order.index, order["size"], order["score"]):
        if best is None or value > best[0]:
            best = (value, size)
            mask[index] = True
        elif value == best[0] and size == best[1]:
            mask[index] = True  # the same size and value as a front member
    return mask


def pareto_frame(frame: pd.DataFrame, objective: Objective) -> pd.DataFrame:
    """The front's rows of a ranked trials frame, best metric first."""
    return frame[pareto_mask(frame, objective).fillna(False).astype(bool)].reset_index(drop=True)


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
