"""The ranked table in the terminal."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from rich import box
from rich.console import Console
from rich.table import Table

_SHOWN = [
    ("rank", "#"),
    ("trial", "trial"),
    ("value", None),
    ("front", "front"),  # a study of several objectives
    ("widths", "widths"),
    ("n_params", "params"),
    ("activation", "act"),
    ("loss", "loss"),
    ("optimizer", "opt"),
    ("lr", "lr"),
    ("batch_size", "bs"),
    ("epochs_run", "ep"),
    ("train_seconds", "sec"),
    ("latency_ms", "ms/row"),  # one row's inference; the batch's is in the frame and CSV
]


def _fmt(value: Any, col: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "-"
    if col == "front":
        return "yes" if value else ""
    if col == "lr":
        return f"{value:.2e}"
    if col in ("value", "test"):
        return f"{value:.4f}"
    if col == "train_seconds":
        return f"{value:.2f}"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def ranked_table(frame: pd.DataFrame, *, title: str, metric: str, top: int = 10) -> Table:
    """A rich table of the ``top`` complete trials of a ranked frame (see ``trials_frame``)."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    done = frame[frame["state"] == "COMPLETE"].head(top)
    test_col = f"test_{metric}"
    columns = [(c, h or f"val {metric}") for c, h in _SHOWN if c in frame]
    if test_col in frame:
        columns.insert(3, (test_col, f"test {metric}"))
    for _, header in columns:
        left = header in ("act", "loss", "opt", "widths")
        table.add_column(header, justify="left" if left else "right", no_wrap=True)
    for _, row in done.iterrows():
        table.add_row(*[_fmt(row[c], "value" if c == test_col else c) for c, _ in columns])
    return table


def wide_console() -> Console:
    """A console for tables: the terminal's width, or 200 columns when output is piped."""
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)
    return console


def print_ranked(
    frame: pd.DataFrame, *, title: str, metric: str, top: int = 10, console: Console | None = None
) -> None:
    (console or wide_console()).print(ranked_table(frame, title=title, metric=metric, top=top))
