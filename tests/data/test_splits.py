"""Splitting and scaling shared by every source: disjoint seeded splits, and
standardisation fitted on the training split alone."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sweep.config import parse_spec
from sweep.data import DataBundle, RawData, load_data
from sweep.data._bundle import bundle


def _data(seed: int = 0, **options) -> DataBundle:
    spec = parse_spec(
        {"study": {"name": "t"}, "data": {"source": "function", "seed": seed, **options}}
    )
    return load_data(spec.data)


def _raw_x(data: DataBundle, split: str) -> np.ndarray:
    x = getattr(data, f"x_{split}")
    return data.x_scaling.invert(x).numpy()[:, 0]


def test_splits_are_disjoint_cover_everything_and_follow_the_fractions() -> None:
    data = _data(val_fraction=0.25, test_fraction=0.15)
    parts = {s: np.round(_raw_x(data, s), 4) for s in ("train", "val", "test")}
    assert {s: len(v) for s, v in parts.items()} == {"train": 600, "val": 250, "test": 150}
    union = np.concatenate(list(parts.values()))
    assert len(np.unique(union)) == 1000  # x is evenly spaced: every point is distinct
    np.testing.assert_allclose(np.sort(union), np.round(np.linspace(-10, 10, 1000), 4))


def test_splits_are_seeded() -> None:
    a, b, c = _data(seed=3), _data(seed=3), _data(seed=4)
    torch.testing.assert_close(a.x_val, b.x_val)
    assert set(np.round(_raw_x(a, "val"), 4)) != set(np.round(_raw_x(c, "val"), 4))


def test_standardisation_is_fitted_on_the_training_split_only() -> None:
    data = _data(seed=1)
    train = _raw_x(data, "train")
    assert float(data.x_scaling.mean[0]) == pytest.approx(float(train.mean()), abs=1e-4)
    assert float(data.x_scaling.std[0]) == pytest.approx(float(train.std()), rel=1e-4)
    assert float(data.x_train.mean()) == pytest.approx(0.0, abs=1e-5)
    assert float(data.x_train.std(unbiased=False)) == pytest.approx(1.0, abs=1e-5)
    # The other splits reuse the training statistics, so they are not exactly centred.
    assert abs(float(data.x_val.mean())) > 1e-4


def test_scale_targets_standardises_regression_targets_on_train() -> None:
    data = _data(scale_targets=True)
    assert float(data.y_train.mean()) == pytest.approx(0.0, abs=1e-5)
    plain = _data()
    torch.testing.assert_close(data.y_scaling.invert(data.y_val), plain.y_val)


def test_unstandardised_inputs_pass_through() -> None:
    data = _data(standardize=False)
    assert float(data.x_train.abs().max()) > 9.0


def test_max_samples_takes_a_seeded_subset() -> None:
    data = _data(max_samples=100)
    assert len(data.x_train) + len(data.x_val) + len(data.x_test) == 100


def test_a_predefined_test_split_is_kept_and_validation_carved_from_train() -> None:
    rng = np.random.default_rng(0)
    raw = RawData(
        x=rng.normal(size=(50, 3)).astype(np.float32),
        y=(np.arange(50) % 3).astype(np.int64),
        task="multiclass",
        feature_names=("a", "b", "c"),
        classes=(0, 1, 2),
        x_test=rng.normal(size=(7, 3)).astype(np.float32),
        y_test=(np.arange(7) % 3).astype(np.int64),
    )
    spec = parse_spec({"study": {"name": "t"}, "data": {"source": "iris", "val_fraction": 0.2}})
    data = bundle(raw, spec.data)
    assert (len(data.x_train), len(data.x_val), len(data.x_test)) == (40, 10, 7)
    torch.testing.assert_close(data.x_scaling.invert(data.x_test), torch.as_tensor(raw.x_test))
    assert data.y_train.dtype == torch.int64 and data.n_outputs == 3
