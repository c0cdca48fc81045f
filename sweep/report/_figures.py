"""The report's plots as plotly figures (for the HTML report).

Optuna's ``optuna.visualization`` draws the history, importances, parallel
coordinates, slices and learning curves; the effects and the depth x width
heatmap are grouped views Optuna has no plot for.
"""

from __future__ import annotations

import warnings

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sweep.report._collect import ReportData
from sweep.report._effects import depth_width, depth_width_grid, effect_dimensions
from sweep.report._pareto import pareto_points
from sweep.report._plots import Plot, drawn_study


def _optuna_figure(plot: Plot, target: str) -> go.Figure:
    import optuna.visualization as vis

    study = drawn_study(plot)
    with warnings.catch_warnings():
        # Optuna warns about trials a plot leaves out (pruned, failed); the report says so.
        warnings.simplefilter("ignore")
        if plot.key == "history":
            return vis.plot_optimization_history(study, target_name=target)
        if plot.key == "importances":
            return vis.plot_param_importances(
                study, plot.evaluator, plot.params, target_name=target
            )
        if plot.key == "parallel":
            return vis.plot_parallel_coordinate(study, plot.params, target_name=target)
        if plot.key == "slice":
            return vis.plot_slice(study, plot.params, target_name=target)
        if plot.key == "curves":
            fig = vis.plot_intermediate_values(study)
            fig.update_layout(xaxis_title="epoch", yaxis_title=target)
            steps = [s for t in study.get_trials(deepcopy=False) for s in t.intermediate_values]
            if steps and max(steps) - min(steps) <= 30:
                fig.update_xaxes(dtick=1)  # epochs are whole numbers: no 1.5 ticks
            return fig
    raise ValueError(f"no Optuna plot for {plot.key!r}")


def effects_figure(report: ReportData) -> go.Figure:
    """Box plots of the complete trials' objective for each value of each categorical
    dimension, one panel per dimension."""
    frame = report.frame
    done = frame[frame["state"] == "COMPLETE"]
    dims = effect_dimensions(frame)
    fig = make_subplots(rows=1, cols=max(len(dims), 1), subplot_titles=dims, shared_yaxes=True)
    for i, dim in enumerate(dims, start=1):
        for value in sorted(done[dim].dropna().astype(str).unique()):
            values = done.loc[done[dim].astype(str) == value, "value"]
            fig.add_trace(
                go.Box(y=values.to_numpy(), name=value, boxmean=True, showlegend=False),
                row=1,
                col=i,
            )
    fig.update_yaxes(title_text=report.metric, row=1, col=1)
    fig.update_layout(height=420)
    return fig


def depth_width_figure(report: ReportData) -> go.Figure:
    """A heatmap of the best objective per depth and width, with trial counts."""
    cells = depth_width(report.frame, report.objective)
    best = depth_width_grid(cells, "best")
    count = depth_width_grid(cells, "trials")
    # A cell's label: its best value and trial count; only the count where no trial
    # completed; nothing where no trial had that shape.
    text = [
        [
            "" if pd.isna(n) else (f"n={int(n)}" if pd.isna(b) else f"{b:.3f}<br>n={int(n)}")
            for b, n in zip(best_row, count_row)
        ]
        for best_row, count_row in zip(best.to_numpy(), count.to_numpy())
    ]
    fig = go.Figure(
        go.Heatmap(
            z=best.to_numpy(),
            x=[str(c) for c in best.columns],
            y=[str(d) for d in best.index],
            text=text,
            texttemplate="%{text}",
            colorscale="Viridis",
            # Brighter is better whatever the direction.
            reversescale=report.objective.direction == "minimize",
            colorbar={"title": {"text": f"best {report.metric}"}},
            hovertemplate="depth %{y}, width %{x}: best %{z:.4f}<extra></extra>",
        )
    )
    fig.update_layout(
        xaxis_title="width (widest hidden layer)",
        yaxis_title="depth (hidden layers)",
        yaxis_type="category",
        xaxis_type="category",
        height=420,
    )
    return fig


def pareto_figure(report: ReportData) -> go.Figure:
    """Every complete trial's metric against its parameter count, the front joined."""
    done, front = pareto_points(report)
    fig = go.Figure()
    for rows, name, mode in (
        (done, "complete trials", "markers"),
        (front, "Pareto front", "lines+markers"),
    ):
        fig.add_trace(
            go.Scatter(
                x=rows["n_params"],
                y=rows["value"],
                mode=mode,
                name=name,
                line={"shape": "hv"},
                marker={"color": "#9aa5b1" if mode == "markers" else "#d62728"},
                text=[f"trial {n}" for n in rows["trial"]],
                hovertemplate="%{text}: %{y:.4f}, %{x} parameters<extra></extra>",
            )
        )
    fig.update_layout(xaxis_title="parameters", yaxis_title=report.metric, height=420)
    fig.update_xaxes(type="log")
    return fig


def plotly_figure(plot: Plot, report: ReportData) -> go.Figure:
    """The plotly figure of one planned plot.

    Args:
        plot: A plot of ``plan(report)`` that is not skipped.
        report: The study's report data.

    Returns:
        The figure, titled.
    """
    if plot.key == "effects":
        fig = effects_figure(report)
    elif plot.key == "depth_width":
        fig = depth_width_figure(report)
    elif plot.key == "pareto":
        fig = pareto_figure(report)
    else:
        fig = _optuna_figure(plot, report.metric)
    fig.update_layout(title={"text": plot.title}, template="plotly_white")
    return fig
