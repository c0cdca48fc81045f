"""Which plots a report has, and which trials and parameters each one draws.

The HTML (plotly) and PNG (matplotlib) reports draw the same plots from the
same plan, through Optuna's visualisation functions where one fits. Two plots
get a sample on large studies: parallel coordinates (thousands of lines are
unreadable, and slow to build) and the parameter importances. fANOVA's cost
grows with its trees' leaves: on 2,000 trials Optuna's default forest (depth
64) takes over half a minute here, while trees of depth 8 on a sample of
1,000 trials take a few seconds and rank the parameters the same way.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

import optuna
from optuna.trial import FrozenTrial

from sweep.objectives import ranked
from sweep.report._collect import ReportData
from sweep.study import metric_only as snapshot

if TYPE_CHECKING:  # optuna.importance imports scikit-learn: only load it to draw
    from optuna.importance import BaseImportanceEvaluator

# (key, title): the plots in report order. The key names the PNG file and the HTML anchor.
PLOTS = [
    ("history", "Optimisation history"),
    ("importances", "Parameter importances"),
    ("parallel", "Parallel coordinates"),
    ("slice", "Objective against lr, width and depth"),
    ("curves", "Learning curves of the top trials"),
    ("effects", "Objective by categorical dimension"),
    ("depth_width", "Depth x width"),
    ("pareto", "Metric against size: the Pareto front"),
]
PARALLEL_MAX = 1_000  # lines in the parallel coordinates plot
PARALLEL_BEST = 100  # of which always the best ones
IMPORTANCE_MAX = 1_000  # trials fANOVA is fitted on
IMPORTANCE_DEPTH = 8  # depth of fANOVA's trees
CURVES = 10  # learning curves drawn
_ORDER = ["depth", "width", "activation", "split_fraction", "loss", "optimizer", "lr"]
_SLICE = ("lr", "width", "depth")


@dataclass(frozen=True)
class Plot:
    """One plot of the report.

    Attributes:
        key: Short name (``history``, ``importances``...): the PNG file's stem.
        title: Heading.
        study: The trials it draws, as a study snapshot (None for a skipped plot).
        params: The parameters it draws, where that applies.
        note: What a reader should know, e.g. that the trials were sampled.
        skip: Why the plot is absent (empty when it is drawn).
        evaluator: The importance evaluator (shared, so HTML and PNG fit it once).
    """

    key: str
    title: str
    study: optuna.Study | None = None
    params: list[str] | None = None
    note: str = ""
    skip: str = ""
    evaluator: BaseImportanceEvaluator | None = None


def drawn_study(plot: Plot) -> optuna.Study:
    """The trials ``plot`` draws.

    Raises:
        ValueError: the plot has none (a skipped plot).
    """
    if plot.study is None:
        raise ValueError(f"plot {plot.key!r} has no trials to draw")
    return plot.study


def first_line(error: BaseException) -> str:
    """An exception as one line: its message's first line, or its type."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _ranked(report: ReportData) -> list[FrozenTrial]:
    return ranked(report.complete(), report.objective)[0]


def _sample(
    ranked: list[FrozenTrial], cap: int, best: int, seed: int = 0
) -> tuple[list[FrozenTrial], str]:
    """At most ``cap`` trials: the ``best`` first ones and a seeded sample of the rest."""
    if len(ranked) <= cap:
        return ranked, ""
    rest = random.Random(seed).sample(ranked[best:], cap - best)
    chosen = sorted(ranked[:best] + rest, key=lambda t: t.number)
    kept = f"the {best:,} best and a random sample of the rest" if best else "a random sample"
    return chosen, f"{cap:,} of {len(ranked):,} complete trials: {kept}."


def _common_params(trials: list[FrozenTrial]) -> list[str]:
    """Parameters every trial has (a conditional one would drop the trials without it)."""
    if not trials:
        return []
    common = set(trials[0].params)
    for t in trials[1:]:
        common &= set(t.params)
    return sorted(common, key=lambda p: (_ORDER.index(p) if p in _ORDER else len(_ORDER), p))


def _searched(report: ReportData) -> set[str]:
    return {name for t in report.trials for name in t.distributions}


def plan(
    report: ReportData,
    *,
    curves: int = CURVES,
    parallel_max: int = PARALLEL_MAX,
    importance_max: int = IMPORTANCE_MAX,
) -> list[Plot]:
    """The report's plots, with their trials and parameters, in order.

    Args:
        report: The study's report data.
        curves: How many of the best trials get a learning curve.
        parallel_max: At most this many lines in the parallel coordinates.
        importance_max: Fit the importances on at most this many trials.

    Returns:
        One :class:`Plot` per entry of ``PLOTS``; plots that cannot be drawn carry the
        reason in ``skip``.
    """
    titles = dict(PLOTS)
    ranked = _ranked(report)
    n_done = len(ranked)
    searched = _searched(report)
    out = []

    def skip(key: str, why: str) -> None:
        out.append(Plot(key, titles[key], skip=why))

    if n_done:
        out.append(Plot("history", titles["history"], study=report.study))
    else:
        skip("history", "no complete trial yet")

    chosen, note = _sample(ranked, importance_max, 0)
    common = _common_params(chosen)
    if n_done < 2 or not common:
        skip("importances", "needs two complete trials that share a searched parameter")
    else:
        from sweep.report._importance import fanova_once

        evaluator = fanova_once(max_depth=IMPORTANCE_DEPTH, seed=0)
        study = snapshot(report.study, chosen) if note else report.study
        out.append(Plot("importances", titles["importances"], study, common, note, "", evaluator))

    chosen, note = _sample(ranked, parallel_max, min(PARALLEL_BEST, parallel_max))
    params = _common_params(chosen)
    if n_done < 2 or not params:
        skip("parallel", "needs two complete trials that share a searched parameter")
    else:
        out.append(
            Plot("parallel", titles["parallel"], snapshot(report.study, chosen), params, note)
        )

    widths = sorted(p for p in searched if p.startswith("width_"))
    sliced = [p for p in _SLICE if p in searched] + widths
    title = titles["slice"]
    if not sliced:  # not a sweep study, or one that fixed all three: its own parameters
        sliced = sorted(searched)[:8]
        title = f"Objective against {', '.join(sliced)}"
    if not n_done or not sliced:
        skip("slice", "no complete trial with a searched parameter")
    else:
        out.append(Plot("slice", title, report.study, sliced))

    with_curves = [t for t in ranked if t.intermediate_values][:curves]
    if not with_curves:
        skip("curves", "no complete trial reported per-epoch values")
    else:
        title = f"Learning curves of the top {len(with_curves)} trials"
        note = f"The validation {report.objective.name} after each epoch."
        out.append(Plot("curves", title, snapshot(report.study, with_curves), None, note))

    from sweep.report._effects import depth_width, effects

    if effects(report.frame, report.objective):
        out.append(Plot("effects", titles["effects"]))
    else:
        skip("effects", "no categorical dimension")
    if not depth_width(report.frame, report.objective).empty:
        note = "Best objective per cell; width is the widest hidden layer."
        out.append(Plot("depth_width", titles["depth_width"], note=note))
    else:
        skip("depth_width", "the trials record no network widths")
    from sweep.report._pareto import pareto_frame

    if not pareto_frame(report.frame, report.objective).empty:
        note = (
            "Every complete trial against its parameter count (log scale); the front joins "
            "those no other trial beats on both."
        )
        out.append(Plot("pareto", titles["pareto"], note=note))
    else:
        skip("pareto", "no complete trial records its parameter count")
    return out
