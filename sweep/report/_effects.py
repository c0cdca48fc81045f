"""What each choice did: the objective grouped by a categorical dimension, and by
depth and width together.

For every value of a dimension (each activation, loss, optimizer...): how many
trials used it, how many finished, the mean and best objective of the complete
ones, and the share pruned or failed. A value with a good mean but many
failures reads differently from one that is merely average.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table

from sweep.metrics import Objective

# Always shown when present; the rest only when the study varied them.
MAIN_DIMENSIONS = ("activation", "loss", "optimizer")
OTHER_DIMENSIONS = ("scheduler", "batch_size", "dropout", "weight_decay")
EFFECT_COLUMNS = ["trials", "complete", "mean", "best", "pruned", "failed"]


def effect_dimensions(frame: pd.DataFrame) -> list[str]:
    """The categorical dimensions worth a table: activation, loss and optimizer, and any
    of scheduler, batch_size, dropout, weight_decay that took more than one value."""
    dims = [d for d in MAIN_DIMENSIONS if d in frame and frame[d].notna().any()]
    dims += [d for d in OTHER_DIMENSIONS if d in frame and frame[d].nunique(dropna=True) > 1]
    return dims


def _summary(groups: pd.core.groupby.DataFrameGroupBy, objective: Objective) -> pd.DataFrame:
    state = groups["state"]
    trials = state.size()
    complete_values = groups["_complete_value"]
    out = pd.DataFrame(
        {
            "trials": trials,
            "complete": state.apply(lambda s: int((s == "COMPLETE").sum())),
            "mean": complete_values.mean(),
            "best": complete_values.max()
            if objective.direction == "maximize"
            else complete_values.min(),
            "pruned": state.apply(lambda s: float((s == "PRUNED").mean())),
            "failed": state.apply(lambda s: float((s == "FAIL").mean())),
        }
    )
    return out.astype({"trials": "int64", "complete": "int64"})


def _sorted(table: pd.DataFrame, objective: Objective) -> pd.DataFrame:
    # Best values first; values with no complete trial last.
    return table.sort_values(
        ["best", "mean"], ascending=objective.direction == "minimize", na_position="last"
    )


def _with_values(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["_complete_value"] = out["value"].where(out["state"] == "COMPLETE")
    return out


def effects(frame: pd.DataFrame, objective: Objective) -> dict[str, pd.DataFrame]:
    """One table per categorical dimension (see ``effect_dimensions``).

    Args:
        frame: The ranked trials (``trials_frame``).
        objective: The study's objective (decides what "best" means).

    Returns:
        Dimension -> DataFrame indexed by the dimension's values, best first, with
        columns trials, complete, mean, best (of complete trials' objective), pruned
        and failed (shares of the trials, 0 to 1).
    """
    if frame.empty:
        return {}
    work = _with_values(frame)
    out = {}
    for dim in effect_dimensions(frame):
        rows = work[work[dim].notna()]
        table = _summary(rows.groupby(dim, sort=True), objective)
        table.index = table.index.astype(str)
        table.index.name = dim
        out[dim] = _sorted(table, objective)
    return out


def _widest(widths: object) -> float:
    if not isinstance(widths, str) or not widths:
        return math.nan
    return float(max(int(w) for w in widths.split("-")))


def width_bins(widths: pd.Series) -> pd.Series:
    """Each network's widest layer, as is when there are few distinct widths, else in
    powers of two ("4-7", "8-15", ...), as an ordered categorical."""
    if widths.dropna().nunique() <= 8:
        values = sorted(int(w) for w in widths.dropna().unique())
        labels = [str(v) for v in values]
        binned = widths.map(lambda w: str(int(w)) if not math.isnan(w) else None)
        return pd.Series(pd.Categorical(binned, categories=labels, ordered=True), widths.index)
    low = int(math.floor(math.log2(widths.min())))
    high = int(math.floor(math.log2(widths.max())))
    labels = [f"{2**k}-{2 ** (k + 1) - 1}" for k in range(low, high + 1)]

    def label(w: float) -> str | None:
        return None if math.isnan(w) else labels[int(math.floor(math.log2(w))) - low]

    return pd.Series(
        pd.Categorical(widths.map(label), categories=labels, ordered=True), widths.index
    )


def depth_width(frame: pd.DataFrame, objective: Objective) -> pd.DataFrame:
    """The objective by depth and width (the widest hidden layer), one row per cell.

    Args:
        frame: The ranked trials.
        objective: The study's objective.

    Returns:
        Columns depth, width (a bin label), and the effect columns (trials, complete,
        mean, best, pruned, failed); empty when the trials have no widths.
    """
    if frame.empty or "widths" not in frame or "depth" not in frame:
        return pd.DataFrame(columns=["depth", "width", *EFFECT_COLUMNS])
    work = _with_values(frame)
    work["_widest"] = work["widths"].map(_widest)
    work = work[work["_widest"].notna() & work["depth"].notna()]
    if work.empty:
        return pd.DataFrame(columns=["depth", "width", *EFFECT_COLUMNS])
    work["width"] = width_bins(work["_widest"])
    work["depth"] = work["depth"].astype("int64")
    table = _summary(work.groupby(["depth", "width"], sort=True, observed=True), objective)
    return table.reset_index()


def depth_width_grid(cells: pd.DataFrame, column: str = "best") -> pd.DataFrame:
    """``depth_width`` cells as a grid: depth rows, width columns, ``column`` values."""
    if cells.empty:
        return pd.DataFrame()
    grid = cells.pivot(index="depth", columns="width", values=column)
    return grid.reindex(columns=[c for c in cells["width"].cat.categories if c in grid.columns])


# -- the terminal ----------------------------------------------------------------------------
def _num(value: float, fmt: str = ".4f") -> str:
    return (
        "-"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else format(value, fmt)
    )


def _share(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.0%}"


def effect_tables(
    tables: dict[str, pd.DataFrame], cells: pd.DataFrame, *, metric: str
) -> list[Table]:
    """Rich tables of ``effects`` and of the depth x width grid (best value and count)."""
    out = []
    for dim, table in tables.items():
        t = Table(title=f"{dim}: {metric} by {dim}", title_justify="left", box=box.SIMPLE_HEAD)
        t.add_column(dim, justify="left", no_wrap=True)
        for col in EFFECT_COLUMNS:
            header = f"{col} {metric}" if col in ("mean", "best") else col
            t.add_column(header, justify="right", no_wrap=True)
        for value, row in table.iterrows():
            t.add_row(
                str(value),
                str(int(row["trials"])),
                str(int(row["complete"])),
                _num(row["mean"]),
                _num(row["best"]),
                _share(row["pruned"]),
                _share(row["failed"]),
            )
        out.append(t)
    if not cells.empty:
        best = depth_width_grid(cells, "best")
        count = depth_width_grid(cells, "trials")
        t = Table(
            title=f"depth x width: best {metric} (trials)",
            title_justify="left",
            box=box.SIMPLE_HEAD,
        )
        t.add_column("depth \\ width", justify="left")
        for col in best.columns:
            t.add_column(str(col), justify="right", no_wrap=True)
        for depth in best.index:
            row = []
            for col in best.columns:
                n = count.loc[depth, col]
                row.append("" if np.isnan(n) else f"{_num(best.loc[depth, col])} ({int(n)})")
            t.add_row(str(depth), *row)
        out.append(t)
    return out


def print_effects(
    tables: dict[str, pd.DataFrame],
    cells: pd.DataFrame,
    *,
    metric: str,
    console: Console | None = None,
) -> None:
    """Print the effect tables and the depth x width grid."""
    console = console or Console()
    for table in effect_tables(tables, cells, metric=metric):
        console.print(table)
