"""The Python API for results: open a study, rank its trials, get the best one.

>>> import sweep
>>> study = sweep.open_study("default")                  # sqlite:///sweeps.db
>>> study.top(5)                                         # a ranked DataFrame
>>> study.best.params, study.best.metrics
>>> model = study.model()                                # the best trained nn.Module
>>> study.predict(x)                                     # labels or values for new rows
>>> study.write_html("report.html")                      # the full report, one file
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

import optuna
import pandas as pd
from optuna.trial import TrialState

from sweep.best import BestTrial, summarise
from sweep.config import StudySpec
from sweep.errors import ModelError, SweepError
from sweep.metrics import Objective
from sweep.objectives import best_of, metric_of
from sweep.report import trials_frame
from sweep.report._pareto import pareto_frame, smallest_within
from sweep.storage import DEFAULT_STORAGE, artifact_dir, open_storage, redact
from sweep.study import DATA_KEY, MODELS_KEY, objective_of, spec_of
from sweep.study import _optuna_internals as internals

if TYPE_CHECKING:  # torch loads on first use of a model, not to read results
    from pathlib import Path

    import numpy as np
    import torch

    from sweep.checkpoint import Checkpoint
    from sweep.model import MLP
    from sweep.predict import Predictor
    from sweep.report import ReportData

__all__ = ["BestTrial", "SweepStudy", "compare_studies", "list_studies", "open_study"]
_SPLITS = ("train", "val", "test")


class SweepStudy:
    """A study in a storage, opened for reading its results.

    Use :func:`open_study` to get one.
    """

    def __init__(self, study: optuna.Study, storage_url: str) -> None:
        self.optuna_study = study
        self.storage_url = storage_url

    @property
    def name(self) -> str:
        return self.optuna_study.study_name

    @cached_property
    def objective(self) -> Objective:
        """The optimised metric and its direction."""
        return objective_of(self.optuna_study)

    @cached_property
    def spec(self) -> StudySpec | None:
        """The study definition it was created from (None for a study sweep did not create)."""
        return spec_of(self.optuna_study)

    def trials(self) -> pd.DataFrame:
        """Every trial, ranked (see ``sweep.report.trials_frame`` for the columns)."""
        return trials_frame(self.optuna_study)

    def top(self, k: int = 10) -> pd.DataFrame:
        """The ``k`` best complete trials, rank 1 first."""
        frame = trials_frame(self.optuna_study, states=(TrialState.COMPLETE,))
        return frame.head(k).reset_index(drop=True)

    def pareto(self, against: str = "params") -> pd.DataFrame:
        """The complete trials no other beats on both the validation metric and
        ``against``: ``"params"`` (the parameter count, the accuracy-against-size front) or
        ``"latency"`` (the batch-of-1 inference latency), best metric first.

        Raises:
            SweepError: ``against`` is neither.
        """
        columns = {"params": "n_params", "latency": "latency_ms"}
        if against not in columns:
            raise SweepError(f"pareto against {against!r}: valid choices are params, latency")
        return pareto_frame(self.trials(), self.objective, columns[against])

    def smallest_within(self, within: float) -> BestTrial:
        """The complete trial with the fewest parameters whose validation metric is within
        ``within`` of the best.

        Raises:
            SweepError: no complete trial records its parameter count.
        """
        row = smallest_within(self.trials(), self.objective, within)
        if row is None:
            raise SweepError(f"study {self.name!r} has no complete trial with a parameter count")
        return self.trial(int(row["trial"]))

    def trial(self, number: int) -> BestTrial:
        """One finished trial by number.

        Raises:
            SweepError: no finished trial has that number.
        """
        # One trial by its id, not a scan of every trial (seconds on a large study).
        study = self.optuna_study
        try:
            storage = internals.storage_of(study)
            trial_id = storage.get_trial_id_from_study_id_trial_number(
                internals.study_id(study), number
            )
        except KeyError:
            raise SweepError(f"study {self.name!r} has no trial {number}") from None
        t = storage.get_trial(trial_id)
        if metric_of(t) is None:
            raise SweepError(f"trial {number} of study {self.name!r} has no value ({t.state.name})")
        return summarise(t)

    @property
    def best(self) -> BestTrial:
        """The best complete trial (in a study of several objectives, the front's best
        metric: rank 1 of ``trials()``).

        Raises:
            SweepError: the study has no complete trial yet.
        """
        best = best_of(self.optuna_study)
        if best is None:
            raise SweepError(f"study {self.name!r} has no complete trial yet")
        return summarise(best)

    @property
    def best_params(self) -> dict[str, Any]:
        return self.best.params

    @property
    def best_value(self) -> float:
        return self.best.value

    @property
    def best_metrics(self) -> dict[str, float]:
        return self.best.metrics

    # -- trained models -----------------------------------------------------------------------
    def saved_models(self) -> dict[int, str]:
        """Trial number -> artifact id of every trial whose weights are kept."""
        raw = self.optuna_study.user_attrs.get(MODELS_KEY, {})
        return {int(k): v for k, v in raw.items()}

    @cached_property
    def data_summary(self) -> dict[str, Any]:
        """What sweep recorded about the study's data: task, n_features, n_outputs, split
        sizes, feature_names, classes ({} for a study sweep did not create)."""
        return dict(self.optuna_study.user_attrs.get(DATA_KEY) or {})

    def model_artifact(self, trial: int | None = None) -> tuple[int, str]:
        """The trial number and artifact id of ``trial``'s kept weights (default: the best).

        Raises:
            ModelError: that trial's weights were not kept.
        """
        number = self.best.number if trial is None else trial
        saved = self.saved_models()
        if number not in saved:
            kept = ", ".join(str(n) for n in sorted(saved)) or "none"
            raise ModelError(
                f"study {self.name!r}: no saved weights for trial {number}; saved: {kept}"
            )
        return number, saved[number]

    def checkpoint(self, trial: int | None = None) -> Checkpoint:
        """The saved checkpoint of ``trial`` (default: the best): weights, config, scaling.

        Raises:
            ModelError: that trial's weights were not kept, or cannot be read.
        """
        _, artifact = self.model_artifact(trial)
        from sweep.checkpoint import artifact_store, read_checkpoint

        store = artifact_store(artifact_dir(self.storage_url))
        return read_checkpoint(store, artifact)

    def model(self, trial: int | None = None, *, device: str | torch.device = "cpu") -> MLP:
        """The trained network of ``trial`` (default: the best), in eval mode on ``device``.

        The network takes standardised inputs; ``predictor`` applies the scaling for you.

        Raises:
            ModelError: that trial's weights were not kept.
        """
        from sweep.checkpoint import model_from_checkpoint

        return model_from_checkpoint(self.checkpoint(trial)).to(device)

    def predictor(
        self, trial: int | None = None, *, device: str | torch.device = "cpu"
    ) -> Predictor:
        """The trained network of ``trial`` (default: the best) with its input scaling and
        labels, for repeated predictions.

        Args:
            trial: A trial whose weights were kept (see ``saved_models``).
            device: Where the network runs (``cpu``, ``cuda``, ``cuda:1``...).

        Raises:
            ModelError: that trial's weights were not kept.
        """
        from sweep.predict import Predictor

        return Predictor(self.checkpoint(trial), device=device)

    def predict(
        self, x: Any, trial: int | None = None, *, device: str | torch.device = "cpu"
    ) -> np.ndarray:
        """Predict the rows of ``x`` with ``trial``'s network (default: the best).

        Args:
            x: A NumPy array, tensor or DataFrame (columns matched by feature name), in
                the units of the original data: the training scaling is applied here.
            trial: A trial whose weights were kept.
            device: Where the network runs.

        Returns:
            Class labels (classification) or values in the targets' units (regression).

        Raises:
            ModelError: no saved weights for the trial, or input that does not fit the
                model (wrong column count, missing columns, non-numeric values).
        """
        return self.predictor(trial, device=device).predict(x)

    def predict_proba(
        self, x: Any, trial: int | None = None, *, device: str | torch.device = "cpu"
    ) -> np.ndarray:
        """Class probabilities for the rows of ``x`` (classification studies), one column
        per class in the order of the data's classes.

        Raises:
            ModelError: a regression study, no saved weights, or input that does not fit.
        """
        return self.predictor(trial, device=device).predict_proba(x)

    def export(self, path: str | Path, *, format: str, trial: int | None = None) -> Path:
        """Write ``trial``'s network (default: the best) with its scaling to ``path``, for
        deployment: it takes raw float32 rows and returns regression values in the targets'
        units or class probabilities (see ``sweep.export``).

        Args:
            path: The file to write; its folder must exist.
            format: ``torchscript``, ``onnx`` (needs the onnx package) or ``state-dict``.
            trial: A trial whose weights were kept.

        Raises:
            ModelError: an unknown format, no saved weights, or ONNX without onnx.
            OutputError: ``path`` cannot be written.
        """
        from sweep.export import check_export, export_model

        check_export(path, format)
        return export_model(self.checkpoint(trial), path, fmt=format)

    def evaluate(
        self,
        trial: int | None = None,
        *,
        split: str = "test",
        device: str | torch.device = "cpu",
    ) -> dict[str, float]:
        """Recompute ``trial``'s metric (default: the best) from its saved weights on a
        split of the study's data, reloaded from the study file's definition.

        Args:
            trial: A trial whose weights were kept.
            split: ``train``, ``val`` or ``test`` (the held-out split, never used for
                selection).
            device: Where the network runs.

        Returns:
            ``{"<split>_<metric>": value}``, e.g. ``{"test_accuracy": 0.93}``; it equals the
            metric the sweep recorded for the trial.

        Raises:
            ModelError: an unknown split, no saved weights, or a study sweep did not create.
            DataError: the data can no longer be loaded.
        """
        if split not in _SPLITS:
            raise ModelError(f"unknown split {split!r}; valid: {', '.join(_SPLITS)}")
        spec = self.spec
        if spec is None:
            raise ModelError(f"study {self.name!r} has no study definition to reload data from")
        import torch

        from sweep.data import load_data
        from sweep.metrics import chunked_metric
        from sweep.predict import CHUNK

        predictor = self.predictor(trial, device=device)
        data = load_data(spec.data, device=predictor.device)
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        with torch.inference_mode():
            value = chunked_metric(
                lambda xb: predictor.model(xb).unsqueeze(0), x, y, data.task, CHUNK
            )
        return {f"{split}_{self.objective.name}": float(value[0])}

    # -- reports ------------------------------------------------------------------------------
    def report_data(self) -> ReportData:
        """The study read once for reports (ranked trials, a snapshot for plots...)."""
        from sweep.report import collect

        return collect(self.optuna_study, storage=self.storage_url)

    def test_metrics(self, k: int | None = None) -> pd.DataFrame:
        """The ``k`` best complete trials (default: ``study.keep_models``) with their train,
        validation and held-out test metrics and the artifact id of kept weights."""
        from sweep.report import best_models

        return best_models(self.report_data(), k)

    def effects(self) -> dict[str, pd.DataFrame]:
        """Per categorical dimension (activation, loss, optimizer...): trials, complete,
        mean and best objective, and the shares pruned and failed, by value."""
        from sweep.report import effects

        return effects(self.trials(), self.objective)

    def write_html(self, path: str | Path, *, top: int = 20, curves: int = 10) -> Path:
        """Write the self-contained HTML report (opens offline) to ``path``.

        Args:
            path: The file to write.
            top: Rows of the ranked table.
            curves: Learning curves of this many best trials.
        """
        from sweep.report import write_html

        return write_html(self.optuna_study, path, storage=self.storage_url, top=top, curves=curves)

    def write_png(self, directory: str | Path, *, curves: int = 10) -> dict[str, Path | str]:
        """Write the report's plots as PNG files in ``directory``.

        Returns:
            Plot name -> the file written, or why the plot was skipped.
        """
        from sweep.report import png_report

        return png_report(self.report_data(), directory, curves=curves)

    def to_csv(self, path: str) -> pd.DataFrame:
        """Write every trial, ranked, to ``path``; returns the frame written."""
        frame = self.trials()
        frame.to_csv(path, index=False)
        return frame

    def __repr__(self) -> str:
        return f"SweepStudy({self.name!r}, storage={redact(self.storage_url)!r})"


def open_study(name: str, storage: str = DEFAULT_STORAGE) -> SweepStudy:
    """Open study ``name`` in ``storage`` (an SQLAlchemy URL or an SQLite path).

    Raises:
        StorageError: the storage cannot be opened (an SQLite file that does not exist is
            not created).
        StudyNotFoundError: no such study, naming those the storage holds.
    """
    from sweep.study import load_study

    rdb = open_storage(storage, create=False)
    return SweepStudy(load_study(name, rdb), storage)


def compare_studies(names: list[str], storage: str = DEFAULT_STORAGE) -> pd.DataFrame:
    """Studies side by side: one row per study with its objective, best value and trial,
    the best trial's test metric, trial counts, wall-clock and training time.

    Raises:
        StorageError: the storage cannot be opened.
        StudyNotFoundError: a name is not a study of the storage.
    """
    from sweep.report import compare_frame

    return compare_frame([open_study(n, storage).report_data() for n in names])


def list_studies(storage: str = DEFAULT_STORAGE) -> pd.DataFrame:
    """Every study in ``storage`` with its trial counts, best value and objective."""
    from sweep.report import studies_frame

    return studies_frame(open_storage(storage, create=False))
