"""Synthetic workloads from the tutorials: non-linear binary classification,
linear and random regression, random data of a given shape and fitting a 1-D
function such as a sine curve."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from sweep.data._registry import RawData, Source, register
from sweep.errors import SpecValueError


def _positive(key: str, value: int) -> None:
    if value < 1:
        raise SpecValueError(key, f"must be at least 1, got {value}")


def _features(n_samples: int, n_features: int, n_informative: int) -> None:
    _positive("n_samples", n_samples)
    _positive("n_features", n_features)
    if not 1 <= n_informative <= n_features:
        raise SpecValueError("n_informative", f"must be between 1 and n_features ({n_features})")


def _noise(value: float) -> None:
    if value < 0:
        raise SpecValueError("noise", f"must be non-negative, got {value}")


@dataclass(frozen=True)
class MoonsOptions:
    """Two interleaving half circles (scikit-learn's ``make_moons``)."""

    n_samples: int = 1000  # points in all, before the split
    noise: float = 0.2  # standard deviation of Gaussian noise added to the points

    def __post_init__(self) -> None:
        _positive("n_samples", self.n_samples)
        _noise(self.noise)


@dataclass(frozen=True)
class CirclesOptions:
    """A small circle inside a large one (scikit-learn's ``make_circles``)."""

    n_samples: int = 1000
    noise: float = 0.1
    factor: float = 0.5  # inner radius over outer radius

    def __post_init__(self) -> None:
        _positive("n_samples", self.n_samples)
        _noise(self.noise)
        if not 0 < self.factor < 1:
            raise SpecValueError("factor", f"must be between 0 and 1, got {self.factor}")


@dataclass(frozen=True)
class ClassificationOptions:
    """Gaussian clusters on hypercube vertices, several per class, so that no
    linear boundary separates them (scikit-learn's ``make_classification``)."""

    n_samples: int = 1000
    n_features: int = 5
    n_informative: int = 5
    clusters_per_class: int = 2
    noise: float = 0.05  # fraction of labels flipped at random
    class_sep: float = 1.0

    def __post_init__(self) -> None:
        _features(self.n_samples, self.n_features, self.n_informative)
        _positive("clusters_per_class", self.clusters_per_class)
        if 2 * self.clusters_per_class > 2**self.n_informative:
            raise SpecValueError(
                "clusters_per_class", "too many clusters for the informative features"
            )
        if not 0 <= self.noise < 1:
            raise SpecValueError("noise", f"must be in [0, 1), got {self.noise}")


@dataclass(frozen=True)
class RandomRegressionOptions:
    """Inputs and targets drawn independently from N(0, 1), as in the tutorial
    that compares NumPy and torch: there is nothing to learn beyond memorising."""

    n_samples: int = 64
    d_in: int = 1000
    d_out: int = 10

    def __post_init__(self) -> None:
        _positive("n_samples", self.n_samples)
        _positive("d_in", self.d_in)
        _positive("d_out", self.d_out)


@dataclass(frozen=True)
class RegressionOptions:
    """A random linear model's targets plus Gaussian noise (scikit-learn's
    ``make_regression``): five features, all informative, by default."""

    n_samples: int = 1000
    n_features: int = 5
    n_informative: int = 5
    noise: float = 10.0  # standard deviation of the noise added to the targets

    def __post_init__(self) -> None:
        _features(self.n_samples, self.n_features, self.n_informative)
        _noise(self.noise)


@dataclass(frozen=True)
class RandomClassificationOptions:
    """Inputs drawn from N(0, 1) and class labels drawn uniformly, independently of
    them: a workload of a given shape with nothing to learn. The defaults are MNIST's
    shape (70,000 images of 784 pixels, 10 classes), for timing MNIST-sized networks
    where the images are not at hand."""

    n_samples: int = 70_000
    n_features: int = 784
    n_classes: int = 10

    def __post_init__(self) -> None:
        _positive("n_samples", self.n_samples)
        _positive("n_features", self.n_features)
        if self.n_classes < 2:
            raise SpecValueError("n_classes", f"must be at least 2, got {self.n_classes}")


@dataclass(frozen=True)
class FunctionOptions:
    """y = f(x) on evenly spaced x, e.g. a sine curve on [-10, 10]."""

    function: Literal["sin", "cos", "poly"] = "sin"
    n_samples: int = 1000
    low: float = -10.0
    high: float = 10.0
    noise: float = 0.0  # standard deviation of Gaussian noise added to y
    coefficients: tuple[float, ...] = (0.0, 0.0, 1.0)  # poly: c0 + c1 x + c2 x^2 + ...

    def __post_init__(self) -> None:
        _positive("n_samples", self.n_samples)
        _noise(self.noise)
        if self.low >= self.high:
            raise SpecValueError("low", f"must be below high ({self.low} >= {self.high})")
        if not self.coefficients:
            raise SpecValueError("coefficients", "empty list")


def _binary(x: np.ndarray, y: np.ndarray) -> RawData:
    names = tuple(f"x{i}" for i in range(x.shape[1]))
    return RawData(x.astype(np.float32), y.astype(np.int64), "binary", names, (0, 1))


def load_moons(options: MoonsOptions, seed: int) -> RawData:
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=options.n_samples, noise=options.noise, random_state=seed)
    return _binary(x, y)


def load_circles(options: CirclesOptions, seed: int) -> RawData:
    from sklearn.datasets import make_circles

    x, y = make_circles(
        n_samples=options.n_samples, noise=options.noise, factor=options.factor, random_state=seed
    )
    return _binary(x, y)


def load_classification(options: ClassificationOptions, seed: int) -> RawData:
    from sklearn.datasets import make_classification

    x, y = make_classification(
        n_samples=options.n_samples,
        n_features=options.n_features,
        n_informative=options.n_informative,
        n_redundant=0,
        n_repeated=0,
        n_classes=2,
        n_clusters_per_class=options.clusters_per_class,
        flip_y=options.noise,
        class_sep=options.class_sep,
        random_state=seed,
    )
    return _binary(x, y)


def load_random_regression(options: RandomRegressionOptions, seed: int) -> RawData:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((options.n_samples, options.d_in), dtype=np.float32)
    y = rng.standard_normal((options.n_samples, options.d_out), dtype=np.float32)
    return RawData(x, y, "regression", tuple(f"x{i}" for i in range(options.d_in)))


def load_regression(options: RegressionOptions, seed: int) -> RawData:
    from sklearn.datasets import make_regression

    x, y = make_regression(
        n_samples=options.n_samples,
        n_features=options.n_features,
        n_informative=options.n_informative,
        noise=options.noise,
        random_state=seed,
    )
    names = tuple(f"x{i}" for i in range(options.n_features))
    return RawData(x.astype(np.float32), y[:, None].astype(np.float32), "regression", names)


def load_random_classification(options: RandomClassificationOptions, seed: int) -> RawData:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((options.n_samples, options.n_features), dtype=np.float32)
    y = rng.integers(0, options.n_classes, size=options.n_samples, dtype=np.int64)
    names = tuple(f"x{i}" for i in range(options.n_features))
    return RawData(x, y, "multiclass", names, tuple(range(options.n_classes)))


def load_function(options: FunctionOptions, seed: int) -> RawData:
    x = np.linspace(options.low, options.high, options.n_samples, dtype=np.float64)
    if options.function == "sin":
        y = np.sin(x)
    elif options.function == "cos":
        y = np.cos(x)
    else:
        y = np.polynomial.polynomial.polyval(x, options.coefficients)
    if options.noise:
        y = y + np.random.default_rng(seed).normal(0.0, options.noise, size=y.shape)
    return RawData(
        x[:, None].astype(np.float32), y[:, None].astype(np.float32), "regression", ("x",)
    )


_HERE = __name__
register(
    Source("moons", MoonsOptions, "binary", f"{_HERE}:load_moons", "two interleaving half moons")
)
register(
    Source("circles", CirclesOptions, "binary", f"{_HERE}:load_circles", "a circle inside a circle")
)
register(
    Source(
        "classification",
        ClassificationOptions,
        "binary",
        f"{_HERE}:load_classification",
        "clusters on hypercube vertices, 5 informative features by default",
    )
)
register(
    Source(
        "random_regression",
        RandomRegressionOptions,
        "regression",
        f"{_HERE}:load_random_regression",
        "N(0, 1) inputs and targets (N=64, D_in=1000, D_out=10 by default)",
    )
)
register(
    Source(
        "regression",
        RegressionOptions,
        "regression",
        f"{_HERE}:load_regression",
        "a noisy random linear model's targets, 5 informative features by default",
    )
)
register(
    Source(
        "random_classification",
        RandomClassificationOptions,
        "multiclass",
        f"{_HERE}:load_random_classification",
        "N(0, 1) inputs, uniform random labels (MNIST's shape by default: 70000 x 784, 10 classes)",
    )
)
register(
    Source(
        "function",
        FunctionOptions,
        "regression",
        f"{_HERE}:load_function",
        "y = sin(x) (or cos, a polynomial) on evenly spaced x in [-10, 10]",
    )
)
