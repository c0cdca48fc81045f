"""A pack sampled by TPE at once: the Parzen estimators fitted once, the candidates scored
in batches.

With the constant liar, Optuna's TPE samples member i of a pack against every finished
trial and the members before it, which count, running, among the worse ("above") trials.
Within a pack the finished trials do not change, so the split, the "below" estimator and
the "above" estimator of the trials before the pack are the same for every member; only
the members differ. :class:`PackSampling` fits the two estimators once per search space
(the relative one, and each conditional parameter sampled on its own), draws the
candidates of many members at once from "below", and scores them against every trial's
kernel in one pass (``_parzen``). Each member still takes the best of its own
``n_ei_candidates``, and once sampled joins "above" for the members after it, as the liar
adds it: its kernel is the one Optuna's estimator gives it on refitting (its bandwidth
from its neighbours among the trials and the members before it), and the trials' and
members' weights are Optuna's for the grown list (the members are the newest). What a
refit would also do and this does not: narrow the bandwidths of the member's neighbours,
and re-smooth the trials' categorical kernels for one more kernel. The members' kernels
are therefore at most as narrow as the liar's: later members are kept at least as far
from them.
"""

from __future__ import annotations

import bisect
import math
from typing import Any

import numpy as np
import torch
from optuna.distributions import BaseDistribution
from optuna.study import Study
from optuna.trial import FrozenTrial
from scipy.special import ndtr

from sweep.study._optuna_internals._parzen import (
    HALF_LOG_2PI,
    Dim,
    Kernels,
    kernels_of,
    log_mixture,
)

# The most kernel values (candidates x kernels) held at once per search space.
_MATRIX_CAP = 1 << 21
# A discrete dimension of at most this many values has each member kernel's mass in every
# bin worked out once, when the member joins (see _Members.add), and looked up after.
_GRID_CAP = 1024


class _Members:
    """The kernels the members of a pack add to "above" in one search space (at most
    ``capacity``), held per kind of dimension as arrays (member x dimension), so that
    their log densities at a member's candidates are a few operations whatever the
    dimensions: a categorical kernel's log weight of its own choice and of the others, a
    numeric one's centre and bandwidth; the terms that do not depend on the point are
    summed into ``bias``."""

    def __init__(
        self, dims: list[Dim], capacity: int, params: Any, grids: dict[int, np.ndarray]
    ) -> None:
        self.dims, self.params, self.count = dims, params, 0
        self.cat = [j for j, d in enumerate(dims) if d.logw is not None]
        self.num = [j for j, d in enumerate(dims) if d.logw is None]
        self.choices = np.array([len(dims[j].logw.T) for j in self.cat], dtype=np.float64)  # type: ignore[union-attr]
        self.low = np.array([dims[j].low for j in self.num])
        self.high = np.array([dims[j].high for j in self.num])
        self.continuous = np.array([dims[j].step == 0.0 for j in self.num], dtype=bool)
        self.bias = np.zeros(capacity)
        self.chosen = np.empty((capacity, len(self.cat)))  # each categorical choice
        self.log_own = np.empty((capacity, len(self.cat)))  # its log weight
        self.log_other = np.empty((capacity, len(self.cat)))  # the other choices'
        self.mu = np.empty((capacity, len(self.num)))
        self.sigma = np.empty((capacity, len(self.num)))
        # per numeric dimension, the sorted centres of the trials' and the members' kernels
        self.centres = [sorted(dims[j].mu[:-1]) for j in self.num]
        # Per discrete numeric dimension with a small grid (position among the numeric
        # ones -> its values' bin edges in the kernels' coordinates), each member kernel's
        # log mass in every bin (members x values).
        self.edges = {k: grids[j] for k, j in enumerate(self.num) if j in grids}
        self.binned = {k: np.empty((capacity, len(e) - 1)) for k, e in self.edges.items()}
        self.direct = [
            k for k, j in enumerate(self.num) if self.dims[j].step and k not in self.edges
        ]
        self.gauss = [k for k, j in enumerate(self.num) if not self.dims[j].step]

    def add(self, values: list[float], n_kernels: int) -> None:
        """A member's kernel, at ``values`` (internal representation), the estimator then
        having ``n_kernels`` kernels, the prior's among them: as Optuna's estimator
        builds a kernel (``_calculate_*_distributions``)."""
        i = self.count
        if self.cat:
            share = self.params.prior_weight / n_kernels
            total = np.log(self.choices * share + 1.0)
            self.chosen[i] = [values[j] for j in self.cat]
            self.log_own[i] = math.log(share + 1.0) - total
            self.log_other[i] = math.log(share) - total
        for k, j in enumerate(self.num):
            d, value = self.dims[j], values[j]
            mu = math.log(value) if d.is_log else float(value)
            centres = self.centres[k]
            # Among equal centres (a discrete value seen before), in the middle, as
            # likely a place as any in Optuna's sort: its bandwidth is then the floor.
            at = (bisect.bisect_left(centres, mu) + bisect.bisect_right(centres, mu)) // 2
            centres.insert(at, mu)
            self.mu[i, k], self.sigma[i, k] = mu, self._bandwidth(centres, at, d, n_kernels)
        if self.num:
            mu, sigma = self.mu[i], self.sigma[i]
            # Its mass within the range (the truncation), and a Gaussian's normaliser.
            mass = ndtr((self.high - mu) / sigma) - ndtr((self.low - mu) / sigma)
            norm = np.where(self.continuous, np.log(sigma) + HALF_LOG_2PI, 0.0)
            self.bias[i] = -float(np.sum(np.log(mass) + norm))
            for k, edges in self.edges.items():
                cdf = ndtr((edges - mu[k]) / sigma[k])
                with np.errstate(divide="ignore"):
                    self.binned[k][i] = np.log(np.maximum(np.diff(cdf), 0.0))
        self.count += 1

    def log_density(self, batch: _Batch, rows: slice) -> np.ndarray:
        """Each member kernel's log density at ``batch``'s candidates ``rows``: rows x members."""
        n = self.count
        out = np.broadcast_to(self.bias[:n], (rows.stop - rows.start, n)).copy()
        if self.cat:
            match = batch.chosen[rows, None, :] == self.chosen[None, :n]
            out += np.where(match, self.log_own[None, :n], self.log_other[None, :n]).sum(axis=2)
        if self.gauss:
            g = self.gauss
            z = (batch.coords[rows, None, g] - self.mu[None, :n, g]) / self.sigma[None, :n, g]
            out -= 0.5 * (z * z).sum(axis=2)
        for k, table in self.binned.items():  # looked up: the point's bin
            out += table[:n, batch.bins[k][rows]].T
        if self.direct:
            out += self.binned_at(batch, rows, self.direct)
        return out

    def binned_at(self, batch: _Batch, rows: slice, dims: list[int]) -> np.ndarray:
        """The members' log masses in the bins of ``batch``'s candidates ``rows``, summed
        over the discrete numeric dimensions ``dims`` (positions among the numeric ones):
        rows x members. Zero mass far away: -inf."""
        n = self.count
        mu, sigma = self.mu[None, :n, dims], self.sigma[None, :n, dims]
        left = ndtr((batch.left[rows][:, None, dims] - mu) / sigma)
        right = ndtr((batch.right[rows][:, None, dims] - mu) / sigma)
        with np.errstate(divide="ignore"):
            return np.log(np.maximum(right - left, 0.0)).sum(axis=2)

    def _bandwidth(self, centres: list[float], at: int, d: Dim, n: int) -> float:
        """The bandwidth Optuna's estimator gives the kernel at ``centres[at]`` (``n``
        kernels in all, the prior's among them)."""
        mu, last = centres[at], len(centres) - 1
        left = mu - (centres[at - 1] if at > 0 else d.low)
        right = (centres[at + 1] if at < last else d.high) - mu
        sigma = max(left, right)
        if not self.params.consider_endpoints and last >= 1:
            sigma = right if at == 0 else left if at == last else sigma
        width = d.high - d.low
        floor = width / min(100.0, 1.0 + n) if self.params.consider_magic_clip else 1e-12
        return min(max(sigma, floor), width)


class _Batch:
    """Candidates drawn from "below" for a run of members, scored against "below" and
    against the trials' kernels in "above", and where the members' kernels are
    evaluated at them (each numeric dimension's coordinate, a discrete one's bin)."""

    def __init__(self, space: _Space, size: int) -> None:
        drawn = space.below.sample(space.sampler._rng.rng, size)
        x = np.stack([drawn[name] for name in space.names], axis=1)
        self.x, self.rows = x, 0
        self.log_below = log_mixture(space.below_kernels, space.below_weights, x)
        self.above = space.above.densities(x, space.buffer[:size], space.scratch[:size])
        members = space.members
        self.chosen = x[:, members.cat]
        coords = x[:, members.num]
        step = np.array([members.dims[j].step for j in members.num])
        left, right = coords - step / 2, coords + step / 2
        logs = np.array([members.dims[j].is_log for j in members.num], dtype=bool)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.coords, self.left, self.right = (
                np.where(logs, np.log(a), a) for a in (coords, left, right)
            )
        # Per tabled discrete dimension, each candidate's bin: its value's place on the grid.
        self.bins = {
            k: np.searchsorted(edges, self.coords[:, k]) - 1 for k, edges in members.edges.items()
        }


class _Space:
    """One search space within a pack: its estimators, fitted once, the batch of
    candidates being used, and the members sampled in it."""

    def __init__(
        self,
        sampler: Any,
        study: Study,
        trial: FrozenTrial,
        search_space: dict[str, BaseDistribution],
        left: int,
    ) -> None:
        self.sampler, self.names = sampler, list(search_space)
        self.distributions = search_space
        self.params = sampler._parzen_estimator_parameters
        below, above = sampler._below_above(study, trial)
        self.below = sampler._build_parzen_estimator(study, search_space, below, True)
        below_dims, self.below_weights = kernels_of(self.below)
        self.below_kernels = Kernels(below_dims)
        above_mpe = sampler._build_parzen_estimator(study, search_space, above, False)
        above_dims, _ = kernels_of(above_mpe)
        self.above = Kernels(above_dims, torch.float32)
        self.n_trials = self.above.n - 1
        self.members = _Members(above_dims, left, self.params, _grids(search_space, above_dims))
        n_ei = sampler._n_ei_candidates
        # Members per batch of candidates at most, and the batches' matrices (reused).
        self.cap = max(1, min(left, _MATRIX_CAP // (n_ei * self.above.n)))
        self.buffer = torch.empty((self.cap * n_ei, self.above.n), dtype=torch.float32)
        self.scratch = torch.empty_like(self.buffer)
        self.chunk = 0  # members per batch of candidates: doubles, from 8
        self.batch: _Batch | None = None

    def sample(self, left: int) -> dict[str, Any]:
        """The next member's parameters (``left``: the members still to sample, it too)."""
        n_ei = self.sampler._n_ei_candidates
        batch = self.batch
        if batch is None or batch.rows >= len(batch.x):
            self.chunk = min(left, self.cap, max(8, 2 * self.chunk))
            batch = self.batch = _Batch(self, self.chunk * n_ei)
        rows = slice(batch.rows, batch.rows + n_ei)
        batch.rows += n_ei
        # Optuna's weights for the trials, then the members (the newest), then the prior;
        # not normalised: that shifts every candidate's density alike.
        n = self.n_trials + self.members.count
        weights = np.asarray(self.params.weights(n), dtype=float)[:n]
        on_trials = np.append(weights[: self.n_trials], self.params.prior_weight)
        log_above = np.log(batch.above[rows] @ on_trials.astype(np.float32))
        if self.members.count:
            mine = self.members.log_density(batch, rows) + np.log(weights[self.n_trials : n])
            log_above = np.logaddexp(log_above, _logsumexp(mine))
        best = rows.start + int(np.argmax(batch.log_below[rows] - log_above))
        return {
            name: dist.to_external_repr(batch.x[best, j].item())
            for j, (name, dist) in enumerate(self.distributions.items())
        }

    def add(self, params: dict[str, Any]) -> None:
        """A member sampled: its kernel joins "above" for the members after it."""
        values = [self.distributions[n].to_internal_repr(params[n]) for n in self.names]
        self.members.add(values, self.n_trials + self.members.count + 2)


def _grids(space: dict[str, BaseDistribution], dims: list[Dim]) -> dict[int, np.ndarray]:
    """Per discrete numeric dimension of at most ``_GRID_CAP`` values (its index): its
    values' bin edges, half a step either side of each, in the kernels' coordinates (the
    log for a log range), as ``_Batch`` computes a candidate's bin."""
    out = {}
    for j, dist in enumerate(space.values()):
        d = dims[j]
        step = getattr(dist, "step", None)
        if d.logw is not None or not d.step or step is None:
            continue
        count = int(round((dist.high - dist.low) / step)) + 1  # type: ignore[attr-defined]
        if count > _GRID_CAP:
            continue
        raw = dist.low + step * (np.arange(count + 1) - 0.5)  # type: ignore[attr-defined]
        with np.errstate(divide="ignore", invalid="ignore"):
            out[j] = np.log(raw) if d.is_log else raw
    return out


def _logsumexp(a: np.ndarray) -> np.ndarray:
    top = a.max(axis=1)
    top[np.isneginf(top)] = 0.0  # a row of zero densities stays -inf, not nan
    with np.errstate(divide="ignore"):
        return np.log(np.exp(a - top[:, None]).sum(axis=1)) + top


class PackSampling:
    """A pack of ``k`` trials being sampled by sweep's TPE (see the module's docstring):
    the sampler answers each member's ``_sample`` from here, and :meth:`observe` is told
    of each member once all its parameters are in."""

    def __init__(self, sampler: Any, k: int) -> None:
        self.sampler, self.k = sampler, k
        self.done = 0
        self.spaces: dict[tuple[tuple[str, BaseDistribution], ...], _Space] = {}
        self.relative: dict[str, BaseDistribution] | None = None
        self.finished: int | None = None  # the study's finished trials (the same all along)

    def sample(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        key = tuple(search_space.items())
        left = max(1, self.k - self.done)
        space = self.spaces.get(key)
        if space is None:
            space = self.spaces[key] = _Space(self.sampler, study, trial, search_space, left)
        return space.sample(left)

    def observe(self, trial: FrozenTrial) -> None:
        """Member ``trial`` is sampled: the members after it see it running."""
        self.done += 1
        params, distributions = trial.params, trial.distributions
        for space in self.spaces.values():
            # Only a member with the space's parameters, from its distributions, counts.
            if all(distributions.get(n) == d for n, d in space.distributions.items()):
                space.add(params)
