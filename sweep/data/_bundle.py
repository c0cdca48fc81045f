"""Split, standardise and move a data set to a device, once per worker."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch

from sweep._choices import Task
from sweep.data._registry import SOURCES, RawData
from sweep.data._spec import DataSpec
from sweep.errors import DataError


@dataclass(frozen=True)
class Scaling:
    """Per-column affine standardisation fitted on the training split: (v - mean) / std."""

    mean: torch.Tensor
    std: torch.Tensor

    def apply(self, v: torch.Tensor) -> torch.Tensor:
        return (v - self.mean) / self.std

    def invert(self, v: torch.Tensor) -> torch.Tensor:
        return v * self.std + self.mean

    def to(self, device: torch.device | str) -> Scaling:
        return Scaling(self.mean.to(device), self.std.to(device))

    @staticmethod
    def fit(v: torch.Tensor) -> Scaling:
        mean = v.mean(dim=0)
        std = v.std(dim=0, unbiased=False)
        # A constant column carries no information; leave it at zero instead of dividing by 0.
        std = torch.where(std > 0, std, torch.ones_like(std))
        return Scaling(mean, std)

    @staticmethod
    def identity(width: int) -> Scaling:
        return Scaling(torch.zeros(width), torch.ones(width))


@dataclass(frozen=True)
class DataBundle:
    """Train, validation and test tensors, ready for training on one device.

    Inputs are standardised with ``x_scaling`` (fitted on the training split).
    Targets: binary -> float (N, 1) in {0, 1}; multi-class -> long (N,);
    regression -> float (N, n_outputs), scaled by ``y_scaling`` (identity unless
    the study asks for ``scale_targets``).
    """

    task: Task
    n_features: int
    n_outputs: int
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    x_scaling: Scaling
    y_scaling: Scaling
    feature_names: tuple[str, ...]
    classes: tuple[Any, ...] | None

    @property
    def device(self) -> torch.device:
        return self.x_train.device

    @property
    def nbytes(self) -> int:
        """Bytes of the six split tensors: what each process training on them holds."""
        splits = (self.x_train, self.y_train, self.x_val, self.y_val, self.x_test, self.y_test)
        return sum(t.nbytes for t in splits)

    def to(self, device: torch.device | str) -> DataBundle:
        return replace(
            self,
            x_train=self.x_train.to(device),
            y_train=self.y_train.to(device),
            x_val=self.x_val.to(device),
            y_val=self.y_val.to(device),
            x_test=self.x_test.to(device),
            y_test=self.y_test.to(device),
            x_scaling=self.x_scaling.to(device),
            y_scaling=self.y_scaling.to(device),
        )

    def summary(self) -> dict[str, Any]:
        """Facts about the data worth keeping with the study (sizes, task, names)."""
        return {
            "task": self.task,
            "n_features": self.n_features,
            "n_outputs": self.n_outputs,
            "n_train": len(self.x_train),
            "n_val": len(self.x_val),
            "n_test": len(self.x_test),
            "feature_names": list(self.feature_names),
            "classes": [c if isinstance(c, int | float | str) else str(c) for c in self.classes]
            if self.classes is not None
            else None,
        }


def _subsample(x: np.ndarray, y: np.ndarray, limit: int | None, rng: np.random.Generator):
    if limit is None or len(x) <= limit:
        return x, y
    keep = np.sort(rng.permutation(len(x))[:limit])
    return x[keep], y[keep]


def split_indices(n: int, val_fraction: float, test_fraction: float, seed: int):
    """Disjoint seeded train/val/test index arrays covering range(n)."""
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(round(n * test_fraction))
    n_val = int(round(n * val_fraction))
    test, val, train = order[:n_test], order[n_test : n_test + n_val], order[n_test + n_val :]
    return train, val, test


def _targets(y: np.ndarray, task: Task) -> torch.Tensor:
    if task == "binary":
        return torch.as_tensor(y, dtype=torch.float32).reshape(-1, 1)
    if task == "multiclass":
        return torch.as_tensor(y, dtype=torch.int64).reshape(-1)
    t = torch.as_tensor(y, dtype=torch.float32)
    return t.reshape(len(t), -1)


def bundle(raw: RawData, spec: DataSpec) -> DataBundle:
    """Split ``raw`` into train/val/test, fit the scaling on train, build tensors (CPU)."""
    rng = np.random.default_rng(spec.seed)
    x, y = _subsample(raw.x, raw.y, spec.max_samples, rng)
    if raw.x_test is not None and raw.y_test is not None:
        x_test, y_test = _subsample(raw.x_test, raw.y_test, spec.max_samples, rng)
        train, val, _ = split_indices(len(x), spec.val_fraction, 0.0, spec.seed)
    else:
        train, val, test = split_indices(len(x), spec.val_fraction, spec.test_fraction, spec.seed)
        x_test, y_test = x[test], y[test]
    if len(train) == 0 or len(val) == 0 or len(x_test) == 0:
        raise DataError(
            f"data: {len(x)} samples leave an empty split "
            f"(train {len(train)}, validation {len(val)}, test {len(x_test)}); "
            "use more samples or other val_fraction/test_fraction"
        )
    xt = {
        "train": torch.as_tensor(x[train], dtype=torch.float32),
        "val": torch.as_tensor(x[val], dtype=torch.float32),
        "test": torch.as_tensor(x_test, dtype=torch.float32),
    }
    yt = {
        "train": _targets(y[train], raw.task),
        "val": _targets(y[val], raw.task),
        "test": _targets(y_test, raw.task),
    }
    n_features = xt["train"].shape[1]
    x_scaling = Scaling.fit(xt["train"]) if spec.standardize else Scaling.identity(n_features)
    if raw.task == "regression":
        n_outputs = yt["train"].shape[1]
        y_scaling = Scaling.fit(yt["train"]) if spec.scale_targets else Scaling.identity(n_outputs)
    else:
        n_outputs = 1 if raw.task == "binary" else len(raw.classes or ()) or int(y.max()) + 1
        y_scaling = Scaling.identity(1)
    if raw.task == "regression":
        yt = {k: y_scaling.apply(v) for k, v in yt.items()}
    return DataBundle(
        task=raw.task,
        n_features=n_features,
        n_outputs=n_outputs,
        x_train=x_scaling.apply(xt["train"]),
        y_train=yt["train"],
        x_val=x_scaling.apply(xt["val"]),
        y_val=yt["val"],
        x_test=x_scaling.apply(xt["test"]),
        y_test=yt["test"],
        x_scaling=x_scaling,
        y_scaling=y_scaling,
        feature_names=raw.feature_names,
        classes=raw.classes,
    )


def load_data(spec: DataSpec, device: torch.device | str = "cpu") -> DataBundle:
    """Load the study's data set, split and scaled, on ``device``.

    Raises:
        DataError: the data cannot be loaded (missing file, bad column...).
    """
    raw = SOURCES[spec.source].load(spec.options, spec.seed)
    return bundle(raw, spec).to(device)
