"""The best trials' trained networks, kept in Optuna's artifact store.

A checkpoint holds the weights and everything needed to use them: the trial's
config, input and output sizes, the task, and the input (and target) scaling
fitted on the training split. The study's user attribute ``sweep.models``
maps trial numbers to artifact ids; only the top ``keep_models`` trials keep
theirs.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

import optuna
import torch

from sweep.data import DataBundle
from sweep.errors import ModelError
from sweep.metrics import Objective
from sweep.model import MLP
from sweep.space import TrialConfig
from sweep.study import MODELS_KEY

FORMAT = 1


def make_checkpoint(
    config: TrialConfig, weights: bytes, data: DataBundle, *, study: str, number: int
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "study": study,
        "trial": number,
        "config": config.to_dict(),
        "task": data.task,
        "n_inputs": data.n_features,
        "n_outputs": data.n_outputs,
        "feature_names": list(data.feature_names),
        "classes": _plain(data.classes),
        "x_mean": data.x_scaling.mean.cpu(),
        "x_std": data.x_scaling.std.cpu(),
        "y_mean": data.y_scaling.mean.cpu(),
        "y_std": data.y_scaling.std.cpu(),
        "state_dict": torch.load(io.BytesIO(weights), weights_only=True),
    }


def _plain(classes: Any) -> list[Any] | None:
    """Class labels as plain Python values (NumPy scalars would need pickle to load)."""
    if classes is None:
        return None
    return [c.item() if hasattr(c, "item") else c for c in classes]


def model_from_checkpoint(ckpt: dict[str, Any]) -> MLP:
    """The network of a checkpoint, weights loaded, in eval mode, on the CPU."""
    config = TrialConfig.from_dict(ckpt["config"])
    model = MLP(
        ckpt["n_inputs"],
        config.widths,
        ckpt["n_outputs"],
        config.activation,
        config.split_fraction,
        config.dropout,
    )
    model.load_state_dict(ckpt["state_dict"])
    return model.eval()


def artifact_store(directory: Path) -> optuna.artifacts.FileSystemArtifactStore:
    directory.mkdir(parents=True, exist_ok=True)
    return optuna.artifacts.FileSystemArtifactStore(directory)


def read_checkpoint(store: Any, artifact_id: str) -> dict[str, Any]:
    """Load a checkpoint from the artifact store.

    Only tensors and plain values are unpickled (``weights_only``): a checkpoint
    file cannot run code when it is loaded.

    Raises:
        ModelError: the artifact is missing or is not a sweep checkpoint.
    """
    try:
        with store.open_reader(artifact_id) as reader:
            blob = reader.read()
    except Exception as e:
        raise ModelError(f"model artifact {artifact_id} cannot be read: {e}") from None
    try:
        ckpt = torch.load(io.BytesIO(blob), weights_only=True)
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelError(f"model artifact {artifact_id} is not a checkpoint: {first}") from None
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt:
        raise ModelError(f"model artifact {artifact_id} is not a sweep checkpoint")
    return ckpt


class ModelKeeper:
    """Saves the weights of trials that rank in the top ``keep`` and evicts the rest."""

    def __init__(
        self,
        study: optuna.Study,
        directory: Path,
        keep: int,
        objective: Objective,
        data: DataBundle,
    ) -> None:
        self.study = study
        self.keep = keep
        self.objective = objective
        self.data = data
        self.directory = directory
        self._store: optuna.artifacts.FileSystemArtifactStore | None = None
        # The complete trials' (value, number), best first: read once, then kept up to date
        # with this coordinator's results (note) and re-read whenever a model is registered.
        self._known: list[tuple[float, int]] | None = None

    @property
    def store(self) -> optuna.artifacts.FileSystemArtifactStore:
        if self._store is None:
            self._store = artifact_store(self.directory)
        return self._store

    def _ranked(self) -> list[tuple[float, int]]:
        done = self.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        return self._best_first([(t.value, t.number) for t in done if t.value is not None])

    def _best_first(self, values: list[tuple[float, int]]) -> list[tuple[float, int]]:
        reverse = self.objective.direction == "maximize"
        return sorted(values, key=lambda v: (-v[0] if reverse else v[0], v[1]))

    def wants(self, value: float) -> bool:
        """Whether a trial with ``value`` would be among the best ``keep`` so far.

        Judged without reading the storage: a better trial finished on another machine
        since the last read can only make this say yes where no was right, and
        :meth:`register` (which reads afresh) then removes the model again.
        """
        if self.keep <= 0:
            return False
        if self._known is None:
            self._known = self._ranked()
        if len(self._known) < self.keep:
            return True
        return self.objective.better(value, self._known[self.keep - 1][0])

    def note(self, value: float, number: int) -> None:
        """A trial of this coordinator completed with ``value``."""
        if self._known is not None:
            self._known = self._best_first([*self._known, (value, number)])

    def save(self, trial: optuna.Trial, config: TrialConfig, weights: bytes) -> str:
        """Upload the trial's checkpoint (call before the trial is told complete)."""
        ckpt = make_checkpoint(
            config, weights, self.data, study=self.study.study_name, number=trial.number
        )
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"trial-{trial.number}.pt"
            torch.save(ckpt, path)
            artifact_id = optuna.artifacts.upload_artifact(
                artifact_store=self.store, file_path=str(path), study_or_trial=trial
            )
        return artifact_id

    def register(self, saved: dict[int, str]) -> None:
        """Record saved models (trial number -> artifact id) in the study, in one write,
        and remove models that left the top ``keep``."""
        if not saved:
            return
        models = {int(k): v for k, v in self.study.user_attrs.get(MODELS_KEY, {}).items()}
        models.update(saved)
        self._known = self._ranked()
        top = {n for _, n in self._known[: self.keep]}
        for n in [n for n in models if n not in top]:
            try:
                self.store.remove(models.pop(n))
            except Exception:
                pass  # already gone: nothing to free
        self.study.set_user_attr(MODELS_KEY, {str(k): v for k, v in sorted(models.items())})
