"""The synthetic workloads: shapes, dtypes, options and seeding."""

from __future__ import annotations

import numpy as np
import pytest

from sweep.config import parse_spec
from sweep.data import SOURCES
from sweep.errors import ConfigError


def _raw(source: str, seed: int = 0, **options):
    spec = parse_spec({"study": {"name": "t"}, "data": {"source": source, **options}})
    return SOURCES[source].load(spec.data.options, seed)


@pytest.mark.parametrize("source", ["moons", "circles", "classification"])
def test_binary_generators(source: str) -> None:
    raw = _raw(source, n_samples=120, noise=0.1)
    assert raw.task == "binary" and raw.classes == (0, 1)
    assert raw.x.dtype == np.float32 and raw.y.dtype == np.int64
    assert len(raw.x) == len(raw.y) == 120 and set(raw.y.tolist()) == {0, 1}
    again, other = _raw(source, n_samples=120, noise=0.1), _raw(source, 1, n_samples=120, noise=0.1)
    np.testing.assert_array_equal(raw.x, again.x)
    assert not np.array_equal(raw.x, other.x)


def test_classification_has_five_informative_features_by_default() -> None:
    spec = parse_spec({"study": {"name": "t"}, "data": {"source": "classification"}})
    assert spec.data.options.n_features == spec.data.options.n_informative == 5
    assert _raw("classification", n_samples=50).x.shape == (50, 5)


def test_regression_is_a_noisy_linear_model_of_five_features() -> None:
    raw = _raw("regression", n_samples=400, noise=0.0)
    assert raw.task == "regression" and raw.x.shape == (400, 5) and raw.y.shape == (400, 1)
    # Without noise the targets are exactly linear in the features (least squares fits).
    _, residual, *_ = np.linalg.lstsq(raw.x.astype(np.float64), raw.y[:, 0], rcond=None)
    assert residual[0] < 1e-6 * float((raw.y**2).sum())
    noisy = _raw("regression", n_samples=400, noise=10.0)
    _, residual, *_ = np.linalg.lstsq(noisy.x.astype(np.float64), noisy.y[:, 0], rcond=None)
    assert float(np.sqrt(residual[0] / 400)) == pytest.approx(10.0, rel=0.15)  # the noise


def test_noise_changes_the_points() -> None:
    clean, noisy = _raw("moons", n_samples=60, noise=0.0), _raw("moons", n_samples=60, noise=0.5)
    assert not np.allclose(clean.x, noisy.x)


def test_random_regression_defaults_follow_the_tutorial() -> None:
    raw = _raw("random_regression")
    assert raw.task == "regression"
    assert raw.x.shape == (64, 1000) and raw.y.shape == (64, 10)
    assert raw.x.dtype == raw.y.dtype == np.float32
    small = _raw("random_regression", n_samples=10, d_in=3, d_out=2)
    assert small.x.shape == (10, 3) and small.y.shape == (10, 2)


def test_random_classification_has_mnists_shape_by_default() -> None:
    spec = parse_spec({"study": {"name": "t"}, "data": {"source": "random_classification"}})
    options = spec.data.options
    assert (options.n_samples, options.n_features, options.n_classes) == (70_000, 784, 10)
    raw = _raw("random_classification", n_samples=500, n_features=7, n_classes=4)
    assert raw.task == "multiclass" and raw.classes == (0, 1, 2, 3)
    assert raw.x.shape == (500, 7) and raw.x.dtype == np.float32
    assert raw.y.shape == (500,) and raw.y.dtype == np.int64
    assert set(raw.y.tolist()) == {0, 1, 2, 3}
    assert abs(float(raw.x.mean())) < 0.1 and 0.9 < float(raw.x.std()) < 1.1
    again = _raw("random_classification", n_samples=500, n_features=7, n_classes=4)
    other = _raw("random_classification", 1, n_samples=500, n_features=7, n_classes=4)
    np.testing.assert_array_equal(raw.y, again.y)
    assert not np.array_equal(raw.x, other.x)


@pytest.mark.parametrize(
    ("function", "expected"),
    [("sin", np.sin), ("cos", np.cos), ("poly", lambda x: 1 - 2 * x + 0.5 * x**2)],
)
def test_function_fitting(function: str, expected) -> None:
    options = {"coefficients": [1.0, -2.0, 0.5]} if function == "poly" else {}
    raw = _raw("function", function=function, **options)
    assert raw.x.shape == (1000, 1) and raw.y.shape == (1000, 1)
    np.testing.assert_allclose(raw.x[:, 0], np.linspace(-10, 10, 1000), rtol=1e-6)
    np.testing.assert_allclose(raw.y[:, 0], expected(raw.x[:, 0].astype(np.float64)), atol=1e-4)


def test_function_noise_is_seeded() -> None:
    a, b = _raw("function", noise=0.1), _raw("function", noise=0.1)
    np.testing.assert_array_equal(a.y, b.y)
    assert 0.05 < float(np.std(a.y[:, 0] - np.sin(a.x[:, 0]))) < 0.15


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"source": "moons", "noise": -1}, "data.noise"),
        ({"source": "moons", "n_samples": 0}, "data.n_samples"),
        ({"source": "function", "low": 2, "high": 1}, "data.low"),
        ({"source": "function", "function": "tan"}, "data.function"),
        ({"source": "random_regression", "d_in": 0}, "data.d_in"),
        ({"source": "random_classification", "n_classes": 1}, "data.n_classes"),
        ({"source": "random_classification", "n_features": 0}, "data.n_features"),
    ],
)
def test_bad_options_name_the_key(data: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        parse_spec({"study": {"name": "t"}, "data": data})
