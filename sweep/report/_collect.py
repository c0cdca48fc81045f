"""Everything a report shows, read from the study once.

Every output (HTML, PNG, terminal, the comparison) starts from a
:class:`ReportData`: the ranked trials, a snapshot for Optuna's plots, the
study's facts and which trials kept their weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import optuna
import pandas as pd
from optuna.trial import FrozenTrial, TrialState

from sweep.metrics import Objective
from sweep.report._frame import trials_frame
from sweep.report._read import read_trials
from sweep.study import (
    DATA_KEY,
    LAST_RUN_KEY,
    MODELS_KEY,
    SPEC_KEY,
    STOPPED_KEY,
    metric_only,
    objective_of,
)
from sweep.study import read_once as snapshot

DEFAULT_KEEP = 3  # study.keep_models when the study file does not say


@dataclass(frozen=True)
class ReportData:
    """A study as the reports see it.

    Attributes:
        name: The study's name.
        objective: The optimised metric and its direction.
        study: A read-only snapshot of the study for Optuna's plotting functions (of its
            metric alone, in a study of several objectives).
        trials: Its trials, by number.
        frame: The ranked DataFrame (see ``trials_frame``).
        data: The data summary sweep stored (task, sizes, feature names), or {}.
        saved: Trial number -> artifact id of every trial whose weights are kept.
        keep: How many best trials keep their weights (``study.keep_models``).
        storage: Where the study lives, for display (password removed), or None.
        stopped: The study's target or plateau stop as recorded on it, or None.
        last_run: How the latest ``sweep run`` ended (``stopped``, ``ran``, ``at``), or None.
    """

    name: str
    objective: Objective
    study: optuna.Study
    trials: list[FrozenTrial]
    frame: pd.DataFrame
    data: dict[str, Any] = field(default_factory=dict)
    saved: dict[int, str] = field(default_factory=dict)
    keep: int = DEFAULT_KEEP
    storage: str | None = None
    stopped: dict[str, Any] | None = None
    last_run: dict[str, Any] | None = None

    @property
    def metric(self) -> str:
        """The objective's label on axes and headers, e.g. ``val accuracy`` (``objective``
        for a study sweep did not create)."""
        if self.objective.name == "value":
            return "objective"
        return f"val {self.objective.name}"

    def count(self, state: str) -> int:
        """How many trials are in ``state`` (``COMPLETE``, ``PRUNED``, ``FAIL``...)."""
        return int((self.frame["state"] == state).sum()) if len(self.frame) else 0

    def complete(self) -> list[FrozenTrial]:
        return [t for t in self.trials if t.state == TrialState.COMPLETE and t.values]

    def best_value(self) -> float | None:
        done = self.frame[self.frame["state"] == "COMPLETE"]
        return float(done["value"].iloc[0]) if len(done) else None

    def train_seconds(self) -> float:
        """Training time summed over trials (trials trained side by side each count)."""
        if "train_seconds" not in self.frame:
            return 0.0
        return float(self.frame["train_seconds"].fillna(0.0).sum())

    def wall_seconds(self) -> float:
        """From the first trial's start to the last trial's end."""
        starts = [t.datetime_start for t in self.trials if t.datetime_start is not None]
        ends = [t.datetime_complete for t in self.trials if t.datetime_complete is not None]
        if not starts or not ends:
            return 0.0
        return max((max(ends) - min(starts)).total_seconds(), 0.0)


def collect(study: optuna.Study, *, storage: str | None = None) -> ReportData:
    """Read ``study`` once for the reports.

    Args:
        study: Any Optuna study; sweep's own studies give the richest reports.
        storage: The storage URL to show in the report (its password is removed).

    Returns:
        The report's data.
    """
    from sweep.storage import redact

    trials = read_trials(study)
    frozen = snapshot(study, trials)
    attrs = frozen.user_attrs
    spec = attrs.get(SPEC_KEY) or {}
    keep = spec.get("study", {}).get("keep_models", DEFAULT_KEEP)
    saved = {int(k): str(v) for k, v in attrs.get(MODELS_KEY, {}).items()}
    return ReportData(
        name=study.study_name,
        objective=objective_of(frozen),
        study=metric_only(frozen),  # what Optuna's plots draw
        trials=trials,
        frame=trials_frame(frozen, trials=trials),
        data=dict(attrs.get(DATA_KEY) or {}),
        saved=saved,
        keep=int(keep),
        storage=redact(storage) if storage else None,
        stopped=attrs.get(STOPPED_KEY),
        last_run=attrs.get(LAST_RUN_KEY),
    )


def best_models(report: ReportData, k: int | None = None) -> pd.DataFrame:
    """The ``k`` best complete trials (default: ``keep_models``) with their train,
    validation and held-out test metrics and the artifact id of their kept weights.

    Args:
        report: The study's report data.
        k: How many trials.

    Returns:
        Columns rank, trial, the train/val/test metric (``test_accuracy``...),
        widths, activation, optimizer, lr, n_params, and ``artifact`` (missing where
        the weights were not kept).
    """
    k = report.keep if k is None else k
    frame = report.frame
    done = frame[frame["state"] == "COMPLETE"].head(max(k, 0))
    m = report.objective.name
    wanted = ["rank", "trial", f"train_{m}", f"val_{m}", f"test_{m}"]
    wanted += ["widths", "activation", "optimizer", "lr", "n_params"]
    out = done[[c for c in wanted if c in done]].reset_index(drop=True)
    out["artifact"] = pd.array([report.saved.get(int(n)) for n in out["trial"]], dtype="str")
    return out
