"""The report's plots as PNG files (matplotlib), for a terminal session or a paper.

The same plan as the HTML report; Optuna's ``optuna.visualization.matplotlib``
draws what it can, and the effects and the depth x width heatmap are drawn
here.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import optuna

from sweep._output import atomic_path, check_folder, make_folder
from sweep.report._collect import ReportData, collect
from sweep.report._effects import depth_width, depth_width_grid, effect_dimensions
from sweep.report._pareto import pareto_points
from sweep.report._plots import CURVES, Plot, drawn_study, first_line, plan

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 120
SIZE = (10.0, 6.0)  # inches


def _optuna_figure(plot: Plot, target: str) -> Figure:
    import optuna.visualization.matplotlib as vis

    study = drawn_study(plot)
    with warnings.catch_warnings():
        # The matplotlib backend is marked experimental, and Optuna warns about the
        # trials a plot leaves out; neither is news to the reader of the report.
        warnings.simplefilter("ignore")
        if plot.key == "history":
            axes: Any = vis.plot_optimization_history(study, target_name=target)
        elif plot.key == "importances":
            axes = vis.plot_param_importances(
                study, plot.evaluator, plot.params, target_name=target
            )
        elif plot.key == "parallel":
            axes = vis.plot_parallel_coordinate(study, plot.params, target_name=target)
        elif plot.key == "slice":
            axes = vis.plot_slice(study, plot.params, target_name=target)
        elif plot.key == "curves":
            axes = vis.plot_intermediate_values(study)
            axes.set_xlabel("epoch")
            axes.set_ylabel(target)
        else:
            raise ValueError(f"no Optuna plot for {plot.key!r}")
    first = axes.flat[0] if isinstance(axes, np.ndarray) else axes
    return first.figure


def _effects_figure(report: ReportData) -> Figure:
    import matplotlib.pyplot as plt

    frame = report.frame
    done = frame[frame["state"] == "COMPLETE"]
    dims = effect_dimensions(frame)
    fig, axes = plt.subplots(1, max(len(dims), 1), sharey=True, squeeze=False)
    for ax, dim in zip(axes[0], dims):
        labels = sorted(done[dim].dropna().astype(str).unique())
        groups = [done.loc[done[dim].astype(str) == v, "value"].to_numpy() for v in labels]
        ax.boxplot(groups, tick_labels=labels, showmeans=True)
        ax.set_title(dim)
        ax.tick_params(axis="x", labelrotation=30)
    axes[0][0].set_ylabel(report.metric)
    return fig


def _depth_width_figure(report: ReportData) -> Figure:
    import matplotlib.pyplot as plt

    cells = depth_width(report.frame, report.objective)
    best = depth_width_grid(cells, "best")
    count = depth_width_grid(cells, "trials")
    fig, ax = plt.subplots()
    grid = best.to_numpy(dtype=float)
    # Brighter is better whatever the direction.
    cmap = "viridis" if report.objective.direction == "maximize" else "viridis_r"
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, origin="lower", aspect="auto")
    ax.set_xticks(range(len(best.columns)), [str(c) for c in best.columns])
    ax.set_yticks(range(len(best.index)), [str(d) for d in best.index])
    ax.set_xlabel("width (widest hidden layer)")
    ax.set_ylabel("depth (hidden layers)")
    ax.grid(False)  # Optuna's plots switch pyplot to the ggplot style, grid included
    low, high = float(np.nanmin(grid)), float(np.nanmax(grid))
    for i in range(grid.shape[0]):
        for j in range(grid.shape[1]):
            if math.isnan(grid[i, j]):
                continue
            # Dark text on the bright end of the colour map, light text on the dark end.
            bright = (grid[i, j] - low) / (high - low) if high > low else 1.0
            bright = 1 - bright if cmap.endswith("_r") else bright
            ax.text(
                j,
                i,
                f"{grid[i, j]:.3f}\nn={int(count.iat[i, j])}",
                ha="center",
                va="center",
                fontsize=8,
                color="black" if bright > 0.6 else "white",
            )
    fig.colorbar(image, ax=ax, label=f"best {report.metric}")
    return fig


def _pareto_figure(report: ReportData) -> Figure:
    import matplotlib.pyplot as plt

    done, front = pareto_points(report)
    fig, ax = plt.subplots()
    ax.scatter(done["n_params"], done["value"], color="#9aa5b1", s=12, label="complete trials")
    ax.step(front["n_params"], front["value"], where="post", color="#d62728", marker="o",
            label="Pareto front")  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("parameters")
    ax.set_ylabel(report.metric)
    ax.legend()
    return fig


def png_figure(plot: Plot, report: ReportData) -> Figure:
    """The matplotlib figure of one planned plot (not skipped), titled and sized."""
    if plot.key == "effects":
        fig = _effects_figure(report)
    elif plot.key == "depth_width":
        fig = _depth_width_figure(report)
    elif plot.key == "pareto":
        fig = _pareto_figure(report)
    else:
        fig = _optuna_figure(plot, report.metric)
    fig.set_size_inches(*SIZE)
    fig.suptitle(f"{report.name}: {plot.title}")
    if plot.key != "slice":  # Optuna places the slice plot's colour bar by hand
        fig.tight_layout()
    return fig


def png_report(
    report: ReportData, directory: str | Path, *, curves: int = CURVES
) -> dict[str, Path | str]:
    """Write each plot of the report as ``DIRECTORY/<key>.png``.

    Args:
        report: The study's report data.
        directory: Where the files go (created if needed).
        curves: Learning curves of this many best trials.

    Returns:
        Plot key -> the file written, or the reason the plot was skipped (a string).

    Raises:
        OutputError: ``directory`` cannot be written.
    """
    import matplotlib.pyplot as plt

    out_dir = make_folder(directory)
    written: dict[str, Path | str] = {}
    for plot in plan(report, curves=curves):
        if plot.skip:
            written[plot.key] = plot.skip
            continue
        try:
            fig = png_figure(plot, report)
        except (ValueError, RuntimeError) as e:  # a degenerate study; see _html
            plt.close("all")
            written[plot.key] = first_line(e)
            continue
        path = out_dir / f"{plot.key}.png"
        try:
            with atomic_path(path) as temp:
                fig.savefig(temp, dpi=DPI)
        finally:
            plt.close(fig)  # pyplot keeps every figure alive until closed
        written[plot.key] = path
    return written


def write_png(
    study: optuna.Study, directory: str | Path, *, curves: int = CURVES
) -> dict[str, Path | str]:
    """Write the report's plots of ``study`` as PNG files in ``directory``.

    Args:
        study: The study.
        directory: Where the files go (created if needed).
        curves: Learning curves of this many best trials.

    Returns:
        Plot key -> the file written, or the reason the plot was skipped.

    Raises:
        OutputError: ``directory`` cannot be written (checked before the plots are made).
    """
    check_folder(directory)
    return png_report(collect(study), directory, curves=curves)
