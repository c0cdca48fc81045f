"""Small real data sets that ship inside scikit-learn (no download): digits,
breast cancer, diabetes, wine and iris."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sweep._choices import Task
from sweep.data._registry import RawData, Source, register


@dataclass(frozen=True)
class BundledOptions:
    """No options: each bundled data set is used as scikit-learn ships it.

    Splitting, subsetting and scaling are the common ``[data]`` keys
    (``val_fraction``, ``test_fraction``, ``max_samples``, ``standardize``...).
    """


def _classification(bunch: Any) -> RawData:
    x = np.asarray(bunch.data, dtype=np.float32)
    y = np.asarray(bunch.target, dtype=np.int64)
    # Plain Python values, so the study's stored data summary stays readable JSON.
    classes = tuple(c.item() if isinstance(c, np.generic) else str(c) for c in bunch.target_names)
    task: Task = "binary" if len(classes) == 2 else "multiclass"
    return RawData(x, y, task, _names(bunch, x.shape[1]), classes)


def _names(bunch: Any, width: int) -> tuple[str, ...]:
    names = getattr(bunch, "feature_names", None)
    if names is None or len(names) != width:
        return tuple(f"x{i}" for i in range(width))
    return tuple(str(n) for n in names)


def load_digits(options: BundledOptions, seed: int) -> RawData:
    """8x8 images of handwritten digits: 1797 samples, 64 pixel features, 10 classes."""
    from sklearn.datasets import load_digits as sk_load

    return _classification(sk_load())


def load_breast_cancer(options: BundledOptions, seed: int) -> RawData:
    """Wisconsin breast cancer: 569 samples, 30 features, malignant (0) or benign (1)."""
    from sklearn.datasets import load_breast_cancer as sk_load

    return _classification(sk_load())


def load_wine(options: BundledOptions, seed: int) -> RawData:
    """Wine recognition: 178 samples, 13 chemical features, 3 cultivars."""
    from sklearn.datasets import load_wine as sk_load

    return _classification(sk_load())


def load_iris(options: BundledOptions, seed: int) -> RawData:
    """Fisher's iris: 150 samples, 4 measurements, 3 species."""
    from sklearn.datasets import load_iris as sk_load

    return _classification(sk_load())


def load_diabetes(options: BundledOptions, seed: int) -> RawData:
    """Diabetes progression: 442 patients, 10 baseline features, one real-valued target."""
    from sklearn.datasets import load_diabetes as sk_load

    # scaled=False: the raw measurements; sweep standardises inputs itself, with the
    # training split's statistics (scikit-learn's scaled copy used the whole set).
    bunch = sk_load(scaled=False)
    x = np.asarray(bunch.data, dtype=np.float32)
    y = np.asarray(bunch.target, dtype=np.float32).reshape(-1, 1)
    return RawData(x, y, "regression", _names(bunch, x.shape[1]))


_HERE = __name__
_BUNDLED: tuple[tuple[str, Task, str], ...] = (
    ("digits", "multiclass", "scikit-learn's 8x8 handwritten digits: 1797 x 64, 10 classes"),
    ("breast_cancer", "binary", "scikit-learn's Wisconsin breast cancer: 569 x 30, binary"),
    ("diabetes", "regression", "scikit-learn's diabetes progression: 442 x 10, regression"),
    ("wine", "multiclass", "scikit-learn's wine recognition: 178 x 13, 3 classes"),
    ("iris", "multiclass", "scikit-learn's iris: 150 x 4, 3 classes"),
)
for _name, _task, _summary in _BUNDLED:
    register(Source(_name, BundledOptions, _task, f"{_HERE}:load_{_name}", _summary))
