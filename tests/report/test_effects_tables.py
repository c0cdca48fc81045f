"""Effects per categorical dimension and the depth x width view."""

from __future__ import annotations

import io

import numpy as np
import optuna
import pandas as pd
from rich.console import Console

from sweep.metrics import Objective
from sweep.report import depth_width, depth_width_grid, effects, print_effects, trials_frame

MAXIMIZE = Objective("accuracy", "maximize")


def _frame() -> pd.DataFrame:
    rows = [
        ("COMPLETE", 0.9, "relu", "adam", "16"),
        ("COMPLETE", 0.7, "relu", "sgd", "16-16"),
        ("PRUNED", 0.5, "relu", "sgd", "64"),
        ("FAIL", None, "tanh", "sgd", "64-64"),
        ("COMPLETE", 0.8, "tanh", "adam", "8-32"),
        ("COMPLETE", 0.6, "tanh", "adam", "8"),
    ]
    frame = pd.DataFrame(rows, columns=["state", "value", "activation", "optimizer", "widths"])
    frame["depth"] = frame["widths"].str.count("-") + 1
    frame["loss"] = "bce"
    return frame


def test_effects_count_mean_best_and_shares() -> None:
    frame = _frame()
    tables = effects(frame, MAXIMIZE)
    assert list(tables) == ["activation", "loss", "optimizer"]
    for dim, table in tables.items():
        for value, row in table.iterrows():
            rows = frame[frame[dim].astype(str) == value]
            done = rows[rows["state"] == "COMPLETE"]["value"]
            assert row["trials"] == len(rows) and row["complete"] == len(done)
            assert np.isclose(row["mean"], done.mean()) and np.isclose(row["best"], done.max())
            assert np.isclose(row["pruned"], (rows["state"] == "PRUNED").mean())
            assert np.isclose(row["failed"], (rows["state"] == "FAIL").mean())
    assert list(tables["activation"].index) == ["relu", "tanh"]  # best first
    minimize = effects(frame, Objective("mse", "minimize"))["activation"]
    assert list(minimize.index) == ["tanh", "relu"]
    assert np.isclose(minimize.loc["tanh", "best"], 0.6)


def test_depth_width_groups_by_depth_and_widest_layer() -> None:
    frame = _frame()
    cells = depth_width(frame, MAXIMIZE)
    assert list(cells["width"].cat.categories) == ["8", "16", "32", "64"]
    cell = cells[(cells["depth"] == 2) & (cells["width"] == "32")].iloc[0]
    assert cell["trials"] == 1 and np.isclose(cell["best"], 0.8)
    grid = depth_width_grid(cells, "trials")
    assert list(grid.index) == [1, 2] and grid.loc[1, "16"] == 1 and grid.loc[2, "64"] == 1


def test_wide_ranges_are_binned_in_powers_of_two(big_study: optuna.Study) -> None:
    frame = trials_frame(big_study)
    cells = depth_width(frame, MAXIMIZE)
    labels = list(cells["width"].cat.categories)
    assert labels[0] == "4-7" and all("-" in label for label in labels)
    assert cells["trials"].sum() == len(frame)


def test_effects_print_in_the_terminal(big_study: optuna.Study) -> None:
    frame = trials_frame(big_study)
    out = io.StringIO()
    print_effects(
        effects(frame, MAXIMIZE),
        depth_width(frame, MAXIMIZE),
        metric="val accuracy",
        console=Console(file=out, width=200),
    )
    text = out.getvalue()
    for title in ("activation: val accuracy", "loss: val accuracy", "optimizer: val accuracy"):
        assert title in text
    assert "depth x width" in text and "adamw" in text and "%" in text
