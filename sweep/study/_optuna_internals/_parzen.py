"""The kernels of Optuna's Parzen estimators, evaluated at many points at once.

Optuna's ``_MixtureOfProductDistribution.log_pdf`` works out, for every point and
kernel, a sum of log terms over the dimensions and then a log-sum-exp over the kernels.
:class:`Kernels` works out the same densities at a pack's candidates against every
trial's kernel, where the number of points times kernels is large, with as few passes
over that matrix as it can: a categorical dimension's factor takes one value per choice,
a discrete one's one per distinct value, so the factors of several such dimensions are
combined into one table per combination of values and looked up once; the numeric
dimensions' Gaussian terms are summed and exponentiated in place.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import torch
from scipy.special import ndtr

from sweep.study._optuna_internals._check import pdist_module as _pdist
from sweep.study._optuna_internals._check import truncnorm_module as _truncnorm

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)
# The most value combinations of categorical or discrete dimensions one table of the
# kernels' factors holds.
_COMBINATIONS = 1024
# Exponents below this are raised to it: single precision's exponential of anything
# lower is subnormal, slow to work out, and far below the prior kernel's density.
_FLOOR = -80.0


class Dim(NamedTuple):
    """One dimension of N product kernels, in the internal representation: a categorical
    one (``logw``: N x choices) or a numeric one (``mu``, ``sigma``: N, in the estimator's
    coordinates, the log of the value for a log range; ``low``, ``high``: the range there,
    widened by half a step for a discrete one)."""

    logw: np.ndarray | None
    mu: np.ndarray
    sigma: np.ndarray
    low: float
    high: float
    step: float
    is_log: bool


def kernels_of(mpe: Any) -> tuple[list[Dim], np.ndarray]:
    """The kernels of an Optuna Parzen estimator, one :class:`Dim` per parameter, and
    their mixture weights."""
    mixture = mpe._mixture_distribution
    dims = []
    for d in mixture.distributions:
        if isinstance(d, _pdist._BatchedCategoricalDistributions):
            empty = np.empty(0)
            dims.append(Dim(np.log(d.weights), empty, empty, 0.0, 0.0, 0.0, False))
        else:
            dims.append(Dim(None, d.mu, d.sigma, d.adapted_low, d.adapted_high, d.step, d.is_log))
    return dims, np.asarray(mixture.weights)


class Kernels:
    """N product kernels, ready to be evaluated at many points (:meth:`densities`).

    The matrix of points x kernels is worked out with torch's CPU operations, whose
    exponential is several times NumPy's. With ``dtype`` float32 (a pack's candidates
    against every trial's kernel) it is single precision: relative errors of about 1e-6
    in a mixture's density, and a kernel's factor below about 1e-35 (far below the prior
    kernel's share of any density) is taken as that.
    """

    def __init__(self, dims: list[Dim], dtype: torch.dtype = torch.float64) -> None:
        self.dims, self.dtype = dims, dtype
        first = dims[0]
        self.n = len(first.mu) if first.logw is None else len(first.logw)
        # Per numeric dimension, the log of each kernel's mass within the range.
        self.log_mass = {
            j: _truncnorm._log_gauss_mass((d.low - d.mu) / d.sigma, (d.high - d.mu) / d.sigma)
            for j, d in enumerate(dims)
            if d.logw is None
        }
        bias = np.zeros(self.n)  # the continuous dimensions' normalising terms
        self.continuous = []
        for j, d in enumerate(dims):
            if d.logw is None and d.step == 0.0:
                # In coordinates scaled to [0, 1] across the range, -z^2 / 2 is
                # -(u a - b)^2 with a = 1 / (s sqrt 2), b = m a.
                width = d.high - d.low
                m, s = (d.mu - d.low) / width, d.sigma / width
                a = 1.0 / (s * math.sqrt(2.0))
                self.continuous.append((j, width, self._tensor(a), self._tensor(m * a)))
                bias -= np.log(s) + math.log(width) + HALF_LOG_2PI + self.log_mass[j]
        self.bias = self._tensor(bias)
        # The categorical dimensions' factors do not depend on the points: tabled once.
        self.categorical = [
            (self._tensor(table), dims_, sizes)
            for table, dims_, sizes in _tables(
                [(j, np.exp(d.logw).T) for j, d in enumerate(dims) if d.logw is not None]
            )
        ]

    def _tensor(self, a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a)).to(self.dtype)

    def densities(
        self, x: np.ndarray, out: torch.Tensor | None = None, scratch: torch.Tensor | None = None
    ) -> np.ndarray:
        """Each kernel's density at each of M points (M x dims, internal representation):
        M x N. ``out`` and ``scratch`` (M x N of the dtype, reused between calls: a fresh
        matrix this size costs its page faults) hold the result and the lookups.

        On one thread: these passes are too short for torch's threads to pay for their
        start, and on a busy machine they wait for each other."""
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return self._densities(x, out, scratch)
        finally:
            torch.set_num_threads(threads)

    def _densities(
        self, x: np.ndarray, out: torch.Tensor | None, scratch: torch.Tensor | None
    ) -> np.ndarray:
        shape = (len(x), self.n)
        out = torch.empty(shape, dtype=self.dtype) if out is None else out
        scratch = torch.empty(shape, dtype=self.dtype) if scratch is None else scratch
        out[:] = self.bias
        for j, width, a, b in self.continuous:
            d, col = self.dims[j], x[:, j]
            u = ((np.log(col) if d.is_log else col) - d.low) / width
            torch.outer(torch.from_numpy(u).to(self.dtype), a, out=scratch)
            scratch.sub_(b)
            scratch.square_()
            out.sub_(scratch)
        out.clamp_(min=_FLOOR)
        out.exp_()
        tables = [(table, _index(x, dims, sizes)) for table, dims, sizes in self.categorical]
        tables += [(self._tensor(table), index) for table, index in self._discrete(x)]
        for table, index in tables:
            torch.index_select(table, 0, torch.from_numpy(index), out=scratch)
            out.mul_(scratch)
        return out.numpy()

    def _discrete(self, x: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Tables of the discrete dimensions' factors at the distinct values among ``x``,
        with each point's row in them."""
        factors, indices = [], {}
        for j, d in enumerate(self.dims):
            if d.logw is not None or d.step == 0.0:
                continue
            values, indices[j] = np.unique(x[:, j], return_inverse=True)
            left, right = values - d.step / 2, values + d.step / 2
            if d.is_log:
                left, right = np.log(left), np.log(right)
            # Neighbouring values share an edge: the CDF once per edge. A difference of
            # CDFs near 1 loses mass to rounding only where it is below 1e-16, which a
            # density that holds the prior kernel's share cannot tell.
            edges, at = np.unique(np.concatenate([left, right]), return_inverse=True)
            cdf = ndtr((edges[:, None] - d.mu) / d.sigma)
            factor = np.maximum(cdf[at[len(values) :]] - cdf[at[: len(values)]], 0.0)
            factors.append((j, factor / np.exp(self.log_mass[j])))
        return [(table, _index(x, dims, sizes, indices)) for table, dims, sizes in _tables(factors)]


def _tables(
    factors: list[tuple[int, np.ndarray]],
) -> list[tuple[np.ndarray, list[int], list[int]]]:
    """Dimensions' factors (values x N each) combined into tables of at most
    ``_COMBINATIONS`` rows: (table, its dimensions, their numbers of values)."""
    out: list[tuple[np.ndarray, list[int], list[int]]] = []
    for j, factor in factors:
        if out and len(out[-1][0]) * len(factor) <= _COMBINATIONS:
            table, dims, sizes = out.pop()
            table = (table[:, None, :] * factor[None, :, :]).reshape(-1, factor.shape[1])
            out.append((table, [*dims, j], [*sizes, len(factor)]))
        else:
            out.append((factor, [j], [len(factor)]))
    return out


def _index(
    x: np.ndarray, dims: list[int], sizes: list[int], rows: dict[int, np.ndarray] | None = None
) -> np.ndarray:
    """Each point's row in a table of ``dims`` (a categorical dimension's value is its
    row; a discrete one's is in ``rows``)."""
    index = np.zeros(len(x), dtype=np.int64)
    for j, size in zip(dims, sizes):
        index *= size
        index += x[:, j].astype(np.int64) if rows is None else rows[j]
    return index


def log_mixture(kernels: Kernels, weights: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The mixture's log density at each point (Optuna's ``log_pdf``)."""
    return np.log(kernels.densities(x) @ weights)
