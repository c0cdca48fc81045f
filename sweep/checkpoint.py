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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import torch

from sweep.data import DataBundle, Scaling
from sweep.errors import ModelError
from sweep.metrics import Objective
from sweep.model import MLP, Layout, build_model
from sweep.objectives import front_order
from sweep.space import TrialConfig
from sweep.study import MODELS_KEY

FORMAT = 1
# What a file must hold to be a checkpoint; the rest has defaults.
_REQUIRED = ("config", "task", "n_inputs", "n_outputs", "x_mean", "x_std", "y_mean", "y_std")


@dataclass(frozen=True, eq=False)
class Checkpoint:
    """A trained network and what using it takes.

    Attributes:
        study: The study's name.
        trial: The trial's number (-1 where a file does not say).
        config: The trial's config: its network's widths and activation, and the rest.
        task: ``binary``, ``multiclass`` or ``regression``.
        n_inputs, n_outputs: The network's input and output sizes.
        feature_names: The input columns, in the order the network takes them.
        classes: The class labels (classification), else None.
        x_scaling, y_scaling: The input and target standardisation of the training split.
        state_dict: The weights, as ``MLP.state_dict()`` names them.
    """

    study: str
    trial: int
    config: TrialConfig
    task: str
    n_inputs: int
    n_outputs: int
    feature_names: tuple[str, ...]
    classes: tuple[Any, ...] | None
    x_scaling: Scaling = field(repr=False)
    y_scaling: Scaling = field(repr=False)
    state_dict: dict[str, torch.Tensor] = field(repr=False)

    @property
    def layout(self) -> Layout:
        return Layout.of(self.config, self.n_inputs, self.n_outputs)

    def to_dict(self) -> dict[str, Any]:
        """The file's contents: plain values and tensors only, so that it loads with
        ``torch.load(..., weights_only=True)``."""
        return {
            "format": FORMAT,
            "study": self.study,
            "trial": self.trial,
            "config": self.config.to_dict(),
            "task": self.task,
            "n_inputs": self.n_inputs,
            "n_outputs": self.n_outputs,
            "feature_names": list(self.feature_names),
            "classes": None if self.classes is None else list(self.classes),
            "x_mean": self.x_scaling.mean,
            "x_std": self.x_scaling.std,
            "y_mean": self.y_scaling.mean,
            "y_std": self.y_scaling.std,
            "state_dict": dict(self.state_dict),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], source: str = "checkpoint") -> Checkpoint:
        """A checkpoint from a file's contents (``to_dict``; every format-1 file).

        Raises:
            ModelError: not a sweep checkpoint, or of a format this version does not
                read; the message begins with ``source``.
        """
        if not isinstance(raw, Mapping) or "state_dict" not in raw:
            raise ModelError(f"{source} is not a sweep checkpoint")
        if raw.get("format", FORMAT) != FORMAT:
            raise ModelError(
                f"{source} has checkpoint format {raw['format']!r}; this sweep reads {FORMAT}"
            )
        missing = [key for key in _REQUIRED if key not in raw]
        if missing:
            raise ModelError(f"{source} is not a sweep checkpoint: no {', '.join(missing)}")
        try:
            config = TrialConfig.from_dict(raw["config"])
        except (AttributeError, KeyError, TypeError, ValueError) as e:
            raise ModelError(f"{source} has no valid config: {e!r}") from None
        n_inputs = int(raw["n_inputs"])
        names = raw.get("feature_names") or [f"x{i}" for i in range(n_inputs)]
        classes = raw.get("classes")
        return cls(
            study=str(raw.get("study", "")),
            trial=int(raw.get("trial", -1)),
            config=config,
            task=str(raw["task"]),
            n_inputs=n_inputs,
            n_outputs=int(raw["n_outputs"]),
            feature_names=tuple(str(n) for n in names),
            classes=None if classes is None else tuple(classes),
            x_scaling=Scaling(raw["x_mean"], raw["x_std"]),
            y_scaling=Scaling(raw["y_mean"], raw["y_std"]),
            state_dict=dict(raw["state_dict"]),
        )


def make_checkpoint(
    config: TrialConfig, weights: bytes, data: DataBundle, *, study: str, number: int
) -> Checkpoint:
    return Checkpoint(
        study=study,
        trial=number,
        config=config,
        task=data.task,
        n_inputs=data.n_features,
        n_outputs=data.n_outputs,
        feature_names=tuple(data.feature_names),
        classes=_plain(data.classes),
        x_scaling=Scaling(data.x_scaling.mean.cpu(), data.x_scaling.std.cpu()),
        y_scaling=Scaling(data.y_scaling.mean.cpu(), data.y_scaling.std.cpu()),
        state_dict=torch.load(io.BytesIO(weights), weights_only=True),
    )


def _plain(classes: Any) -> tuple[Any, ...] | None:
    """Class labels as plain Python values (NumPy scalars would need pickle to load)."""
    if classes is None:
        return None
    return tuple(c.item() if hasattr(c, "item") else c for c in classes)


def model_from_checkpoint(ckpt: Checkpoint) -> MLP:
    """The network of a checkpoint, weights loaded, in eval mode, on the CPU."""
    model = build_model(ckpt.config, ckpt.n_inputs, ckpt.n_outputs, seed=0)  # weights replaced
    model.load_state_dict(ckpt.state_dict)
    return model.eval()


def artifact_store(directory: Path) -> optuna.artifacts.FileSystemArtifactStore:
    directory.mkdir(parents=True, exist_ok=True)
    return optuna.artifacts.FileSystemArtifactStore(directory)


def read_checkpoint(store: Any, artifact_id: str) -> Checkpoint:
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
        raw = torch.load(io.BytesIO(blob), weights_only=True)
    except Exception as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelError(f"model artifact {artifact_id} is not a checkpoint: {first}") from None
    return Checkpoint.from_dict(raw, source=f"model artifact {artifact_id}")


class ModelKeeper:
    """Saves the weights of trials that rank in the top ``keep`` and evicts the rest.

    In a study of several objectives every trial on the front keeps its weights too,
    so that any front member's network can be loaded (``study.model(trial=N)``).
    """

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
        self.multi = len(study.directions) > 1
        self._store: optuna.artifacts.FileSystemArtifactStore | None = None
        # The complete trials' (values, number): read once, then kept up to date with this
        # coordinator's results (note) and re-read whenever a model is registered.
        self._known: list[tuple[tuple[float, ...], int]] | None = None

    @property
    def store(self) -> optuna.artifacts.FileSystemArtifactStore:
        if self._store is None:
            self._store = artifact_store(self.directory)
        return self._store

    def _ranked(self) -> list[tuple[tuple[float, ...], int]]:
        done = self.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        return [(tuple(t.values), t.number) for t in done if t.values]

    def _kept(self, known: list[tuple[tuple[float, ...], int]]) -> set[int]:
        """The numbers among ``known`` that keep their weights: the first ``keep`` by rank,
        and in a study of several objectives the whole front."""
        if not self.multi:  # the best by the metric, ties by trial number: no front to find
            sign = -1.0 if self.objective.direction == "maximize" else 1.0
            return {n for _, n in sorted(known, key=lambda v: (sign * v[0][0], v[1]))[: self.keep]}
        known = sorted(known, key=lambda v: v[1])  # ties rank by trial number
        if not known:
            return set()
        order, front = front_order(np.array([v for v, _ in known], dtype=float), self.objective)
        return {known[i][1] for i in order[: self.keep]} | {
            known[i][1] for i in np.flatnonzero(front)
        }

    def wants(self, values: Sequence[float]) -> bool:
        """Whether a trial with ``values`` would keep its weights among the trials so far.

        Judged without reading the storage: a better trial finished on another machine
        since the last read can only make this say yes where no was right, and
        :meth:`register` (which reads afresh) then removes the model again.
        """
        if self.keep <= 0:
            return False
        if self._known is None:
            self._known = self._ranked()
        new = 1 + max((n for _, n in self._known), default=-1)  # ranks after its equals
        return new in self._kept([*self._known, (tuple(values), new)])

    def note(self, values: Sequence[float], number: int) -> None:
        """A trial of this coordinator completed with ``values``."""
        if self._known is not None:
            self._known.append((tuple(values), number))

    def save(self, trial: optuna.Trial, config: TrialConfig, weights: bytes) -> str:
        """Upload the trial's checkpoint (call before the trial is told complete)."""
        ckpt = make_checkpoint(
            config, weights, self.data, study=self.study.study_name, number=trial.number
        )
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"trial-{trial.number}.pt"
            torch.save(ckpt.to_dict(), path)
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
        top = self._kept(self._known)
        for n in [n for n in models if n not in top]:
            try:
                self.store.remove(models.pop(n))
            except Exception:
                pass  # already gone: nothing to free
        self.study.set_user_attr(MODELS_KEY, {str(k): v for k, v in sorted(models.items())})
