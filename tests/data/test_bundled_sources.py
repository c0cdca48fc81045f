"""scikit-learn's bundled real data sets, loaded for real."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sweep.config import parse_spec
from sweep.data import SOURCES, load_data


@pytest.mark.parametrize(
    ("source", "shape", "task", "n_classes"),
    [
        ("digits", (1797, 64), "multiclass", 10),
        ("breast_cancer", (569, 30), "binary", 2),
        ("diabetes", (442, 10), "regression", None),
        ("wine", (178, 13), "multiclass", 3),
        ("iris", (150, 4), "multiclass", 3),
    ],
)
def test_bundled_sets(source: str, shape: tuple[int, int], task: str, n_classes) -> None:
    spec = parse_spec({"study": {"name": "t"}, "data": {"source": source}})
    assert spec.task == task == SOURCES[source].task
    raw = SOURCES[source].load(spec.data.options, 0)
    assert raw.x.shape == shape and raw.x.dtype == np.float32 and raw.task == task
    assert len(raw.feature_names) == shape[1]
    if n_classes is None:
        assert raw.y.shape == (shape[0], 1) and raw.y.dtype == np.float32
    else:
        assert raw.y.dtype == np.int64 and len(raw.classes or ()) == n_classes
        assert set(raw.y.tolist()) == set(range(n_classes))
    data = load_data(spec.data)
    assert len(data.x_train) + len(data.x_val) + len(data.x_test) == shape[0]
    assert data.n_outputs == (1 if task != "multiclass" else n_classes)
    if task == "multiclass":
        assert data.y_train.dtype == torch.int64


def test_breast_cancer_classes_are_named() -> None:
    raw = SOURCES["breast_cancer"].load(
        parse_spec({"study": {"name": "t"}, "data": {"source": "breast_cancer"}}).data.options, 0
    )
    assert raw.classes == ("malignant", "benign")
