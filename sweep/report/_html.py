"""The HTML report: one self-contained file that opens offline.

plotly.js is inlined once in the head (about 5 MB) and every figure is a
``<div>`` that refers to it, so the file needs no network and no other file:
it can be mailed, archived or opened from a USB stick.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from pathlib import Path
from typing import Any

import optuna
import pandas as pd

from sweep._output import check_file, write_text
from sweep.report._collect import ReportData, best_models, collect
from sweep.report._effects import EFFECT_COLUMNS, depth_width, depth_width_grid, effects
from sweep.report._pareto import PARETO_COLUMNS, pareto_frame
from sweep.report._plots import CURVES, Plot, first_line, plan

TOP = 20  # rows of the ranked table

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto;
       max-width: 1200px; padding: 0 1.5rem 3rem; color: #1f2328; }
h1 { margin-top: 1.5rem; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #d0d7de; }
nav a { margin-right: .8rem; } .note { color: #57606a; font-size: .9rem; }
table { border-collapse: collapse; font-size: .85rem; margin: .5rem 0 1rem; }
th, td { padding: .2rem .6rem; border-bottom: 1px solid #eaeef2; text-align: right; }
th { background: #f6f8fa; } td.text, th.text { text-align: left; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: .2rem 1rem; }
dl.facts dt { color: #57606a; } dl.facts dd { margin: 0; }
.plot { min-height: 420px; } code { background: #f6f8fa; padding: 0 .2rem; }
"""

_TEXT_COLUMNS = {"state", "widths", "activation", "loss", "optimizer", "scheduler", "artifact"}


def _fmt(value: Any, column: str) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if column == "lr":
        return f"{value:.2e}"
    if column in ("pruned", "failed"):
        return f"{value:.0%}"
    if column == "train_seconds":
        return f"{value:.2f}"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _table(frame: pd.DataFrame, headers: dict[str, str] | None = None, index: str = "") -> str:
    """An HTML table of ``frame`` (escaped), numbers right-aligned and formatted."""
    headers = headers or {}
    cols = list(frame.columns)
    head = "".join(
        f'<th class="{"text" if c in _TEXT_COLUMNS else ""}">{html.escape(headers.get(c, c))}</th>'
        for c in cols
    )
    if index:
        head = f'<th class="text">{html.escape(index)}</th>' + head
    rows = []
    # Cell by cell, not row by row: a row of mixed columns would turn integers into floats.
    for i, label in enumerate(frame.index):
        cells = "".join(
            f'<td class="{"text" if c in _TEXT_COLUMNS else ""}">'
            f"{html.escape(_fmt(frame.iat[i, j], c))}</td>"
            for j, c in enumerate(cols)
        )
        if index:
            cells = f'<td class="text">{html.escape(str(label))}</td>' + cells
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _section(key: str, title: str, body: str) -> str:
    return f'<section id="{key}"><h2>{html.escape(title)}</h2>{body}</section>'


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>' if text else ""


def _duration(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.2f} s"
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _summary(report: ReportData) -> str:
    best = report.best_value()
    facts = [
        ("objective", f"{report.metric} ({report.objective.direction})"),
        ("best", "-" if best is None else f"{best:.6g}"),
        (
            "trials",
            f"{len(report.frame)}: {report.count('COMPLETE')} complete, "
            f"{report.count('PRUNED')} pruned, {report.count('FAIL')} failed, "
            f"{report.count('RUNNING')} running",
        ),
        (
            "time",
            f"{_duration(report.wall_seconds())} wall clock, "
            f"{_duration(report.train_seconds())} of training",
        ),
    ]
    data = report.data
    if data:
        parts = [str(data.get("task", "?"))]
        names = {
            "n_features": "inputs",
            "n_outputs": "outputs",
            "n_train": "train",
            "n_val": "validation",
            "n_test": "test",
        }
        parts += [f"{label} {data[key]}" for key, label in names.items() if key in data]
        facts.append(("data", ", ".join(parts)))
    if report.stopped:
        stop = report.stopped
        facts.append(("stopped", f"{stop['reason']}: {stop.get('detail', '')} ({stop['at']})"))
    if report.last_run:
        last = report.last_run
        facts.append(("last run", f"{last['stopped']} after {last['ran']} trials ({last['at']})"))
    if report.storage:
        facts.append(("storage", report.storage))
    facts.append(("generated", dt.datetime.now().isoformat(timespec="seconds")))
    body = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in facts)
    out = f'<dl class="facts">{body}</dl>'
    if "fail_reason" in report.frame:
        reasons = report.frame["fail_reason"].dropna().map(lambda r: str(r)[:120])
        if len(reasons):
            counts = reasons.value_counts().head(10).rename("trials").to_frame()
            out += "<h3>Why trials failed</h3>" + _table(counts, index="reason")
    return out


def _ranked(report: ReportData, top: int) -> str:
    frame = report.frame
    done = frame[frame["state"] == "COMPLETE"].head(top)
    m = report.objective.name
    cols = ["rank", "trial", "value", f"test_{m}", "front", "widths", "activation", "loss"]
    cols += ["optimizer"]
    cols += ["lr", "batch_size", "epochs_run", "train_seconds", "n_params", "latency_ms"]
    headers = {"value": f"val {m}", f"test_{m}": f"test {m}", "train_seconds": "seconds"}
    headers["latency_ms"] = "ms per row"
    shown = done[[c for c in cols if c in done]]
    order = "the front of its objectives first, " if "front" in frame else ""
    note = (
        f"The best {len(shown)} of {report.count('COMPLETE')} complete trials ({order}by "
        f"val {m}); test {m} is on the held-out test split, never used for selection. "
        "The CSV export (sweep report --csv) has every trial."
    )
    return _note(note) + _table(shown, headers)


def _models(report: ReportData) -> str:
    table = best_models(report)
    if table.empty:
        return _note("No complete trial yet.")
    m = report.objective.name
    headers = {f"{s}_{m}": f"{s} {m}" for s in ("train", "val", "test")}
    kept = sum(1 for a in table["artifact"] if isinstance(a, str))
    note = (
        f"The {len(table)} best trials (study.keep_models = {report.keep}); {kept} have their "
        "weights in the artifact store. Use them with "
        f"sweep predict {report.name} --input data.csv --output predictions.csv "
        "[--trial N], or sweep.open_study(...).predict(x)."
    )
    return _note(note) + _table(table, headers)


def _effects(report: ReportData) -> str:
    tables = effects(report.frame, report.objective)
    headers = {"mean": f"mean {report.metric}", "best": f"best {report.metric}"}
    parts = [
        _note(
            "Mean and best are over complete trials; pruned and failed are shares of all "
            "trials that used the value."
        )
    ]
    for dim, table in tables.items():
        parts.append(f"<h3>{html.escape(dim)}</h3>" + _table(table[EFFECT_COLUMNS], headers, dim))
    return "".join(parts)


def _pareto_table(report: ReportData) -> str:
    front = pareto_frame(report.frame, report.objective)
    shown = [c for c in PARETO_COLUMNS if c in front]
    return "<h3>The front, best metric first</h3>" + _table(front[shown], {"value": report.metric})


def _depth_width_table(report: ReportData) -> str:
    cells = depth_width(report.frame, report.objective)
    best = depth_width_grid(cells, "best")
    count = depth_width_grid(cells, "trials")
    grid = best.astype(object).copy()
    for d in grid.index:
        for w in grid.columns:
            n = count.loc[d, w]
            grid.loc[d, w] = None if pd.isna(n) else f"{_fmt(best.loc[d, w], 'best')} ({int(n)})"
    grid.columns = [str(c) for c in grid.columns]
    return _note(f"best {report.metric} (trials) by depth and width") + _table(grid, index="depth")


def _plot_html(plot: Plot, report: ReportData) -> str:
    from sweep.report._figures import plotly_figure

    if plot.skip:
        return _note(f"No plot: {plot.skip}.")
    try:
        fig = plotly_figure(plot, report)
    except (ValueError, RuntimeError) as e:
        # Optuna refuses some degenerate studies (fANOVA on trials that all scored the
        # same); the rest of the report is still worth having.
        return _note(f"No plot: {first_line(e).rstrip('.')}.")
    div = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=f"plot-{plot.key}",
        config={"displaylogo": False, "responsive": True},
    )
    return f'<div class="plot">{div}</div>' + _note(plot.note)


def html_report(report: ReportData, *, top: int = TOP, curves: int = CURVES) -> str:
    """The report as one HTML document with plotly.js inlined.

    Args:
        report: The study's report data (see ``collect``).
        top: Rows of the ranked table.
        curves: Learning curves of this many best trials.

    Returns:
        The HTML text.
    """
    from plotly.offline import get_plotlyjs

    sections = [
        ("summary", "Summary", _summary(report)),
        ("ranked", "Ranked trials", _ranked(report, top)),
        ("models", "The best models", _models(report)),
    ]
    for plot in plan(report, curves=curves):
        body = _plot_html(plot, report)
        if plot.key == "effects":
            body = _effects(report) + body
        if plot.key == "depth_width" and not plot.skip:
            body += _depth_width_table(report)
        if plot.key == "pareto" and not plot.skip:
            body += _pareto_table(report)
        sections.append((plot.key, plot.title, body))
    nav = " ".join(f'<a href="#{key}">{html.escape(title)}</a>' for key, title, _ in sections)
    content = "".join(_section(key, title, body) for key, title, body in sections)
    title = html.escape(f"sweep report: {report.name}")
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{_CSS}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script>'
        f"</head><body><h1>{title}</h1><nav>{nav}</nav>{content}</body></html>\n"
    )


def write_html(
    study: optuna.Study,
    path: str | Path,
    *,
    storage: str | None = None,
    top: int = TOP,
    curves: int = CURVES,
) -> Path:
    """Write the HTML report of ``study`` to ``path`` (parent folders are created).

    Args:
        study: The study.
        path: The file to write.
        storage: The storage URL to show (its password is removed).
        top: Rows of the ranked table.
        curves: Learning curves of this many best trials.

    Returns:
        The path written.

    Raises:
        OutputError: ``path`` cannot be written (checked before the report is made).
    """
    check_file(path)
    text = html_report(collect(study, storage=storage), top=top, curves=curves)
    return write_text(path, text)
