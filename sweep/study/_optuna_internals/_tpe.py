"""Optuna's TPE sampler, with what it derives from each finished trial kept between samples.

For every parameter it samples, Optuna's TPE loops in Python over every earlier trial
of the study twice: once to split the trials into the better ("below") and the rest
("above"), reading each trial's constraints and, for a pruned trial, its last
intermediate value; and once to turn each trial's parameters into their internal
representation. Over a study of a thousand trials that is most of the sampler's
time. A finished trial never changes, so :class:`TPESampler` works both out once
per finished trial and keeps them; running trials (the constant liar's) are read
afresh every time, as Optuna reads them. What it keeps is keyed by trial id, so an
instance serves one study (as every sampler sweep builds does).

While it samples, TPE's normal CDF and its log (for its truncated-normal kernels) are
SciPy's vectorised ``ndtr`` and ``log_ndtr`` instead of Optuna's element-by-element
Python loops (``math.erf`` per element for arrays of under 2000), the rest of TPE's
time; they agree with Optuna's to 4e-13 in absolute terms.

Given the same normal CDF it draws exactly what Optuna's TPE draws for the same seed and
study (``tests/test_tpe.py`` runs both side by side). It overrides three of Optuna's
private methods (``_get_internal_repr``, ``_sample`` and the split it calls) and
replaces two private functions while it samples; ``_check`` makes sure at import that
they are there, and the tests run it beside Optuna's TPE and fail if the draws diverge.
Only used where :data:`PRIVATE` is true.

A pack (:func:`sampling_a_pack`) is sampled at once, its estimators fitted once for all its
members (``_tpe_pack``); that reads Optuna's estimators' kernels, where ``_check`` found
them (:data:`PACKED`), and otherwise each member is sampled alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from operator import attrgetter, itemgetter
from typing import Any, ClassVar

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.study import Study, StudyDirection
from optuna.trial import FrozenTrial, TrialState
from scipy.special import log_ndtr, ndtr

from sweep.study._optuna_internals._check import PACKED
from sweep.study._optuna_internals._check import tpe_module as _optuna_tpe
from sweep.study._optuna_internals._check import truncnorm_module as _truncnorm
from sweep.study._optuna_internals._tpe_pack import PackSampling

_COMPLETE, _PRUNED, _INFEASIBLE = 0, 1, 2
_by_number = attrgetter("number")
_by_key = itemgetter(0)
_UNSEEN: Any = object()


class TPESampler(optuna.samplers.TPESampler):
    """:class:`optuna.samplers.TPESampler` (same arguments, same draws) that keeps, per
    finished trial, its parameters' internal representation and its place in the split,
    and samples a pack at once (:meth:`pack`)."""

    # False: a pack's members are sampled one by one, as Optuna's TPE samples them (the
    # benchmarks compare the two ways).
    pack_at_once: ClassVar[bool] = True

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # parameter names -> trial id -> the internal representation of the trial's
        # values of them (None where it lacks one), finished trials only
        self._rows: dict[tuple[str, ...], dict[int, tuple[Any, ...] | None]] = {}
        # trial id -> (kind, sort key) in the split, finished trials only
        self._marks: dict[int, tuple[int, Any]] = {}
        self._packing: PackSampling | None = None  # the pack being sampled (see pack())

    # -- the internal representation ----------------------------------------------------------
    def _get_internal_repr(
        self, trials: list[FrozenTrial], search_space: dict[str, BaseDistribution], study: Study
    ) -> dict[str, np.ndarray]:
        names = tuple(search_space)
        # trial id -> the trial's row for these parameters (None: it lacks one of them)
        table = self._rows.setdefault(names, {})
        rows: list[tuple[Any, ...]] = []
        for trial in trials:
            row = table.get(trial._trial_id, _UNSEEN)
            if row is _UNSEEN:
                if not trial.state.is_finished():  # running: read afresh, as Optuna does
                    params = self._get_params(trial, study)
                    if search_space.keys() <= params.keys():
                        rows.append(
                            tuple(search_space[n].to_internal_repr(params[n]) for n in names)
                        )
                    continue
                # Compatible distributions (Optuna checks every trial's against the study's)
                # give a parameter value the same internal representation.
                params, dists = trial.params, trial.distributions
                row = table[trial._trial_id] = (
                    tuple(dists[n].to_internal_repr(params[n]) for n in names)
                    if search_space.keys() <= params.keys()
                    else None
                )
            if row is not None:
                rows.append(row)
        columns = list(zip(*rows)) if rows else [() for _ in names]
        return {name: np.asarray(column) for name, column in zip(names, columns)}

    # -- the split ----------------------------------------------------------------------------
    def _mark(self, trial: FrozenTrial, study: Study) -> tuple[int, Any]:
        """Where a finished trial goes in Optuna's ``_split_trials``, and its sort key."""
        infeasible = _optuna_tpe._get_infeasible_trial_score(trial)
        if infeasible > 0:
            return _INFEASIBLE, infeasible
        if trial.state == TrialState.COMPLETE:
            return _COMPLETE, trial.value
        if trial.state == TrialState.PRUNED:
            return _PRUNED, _optuna_tpe._get_pruned_trial_score(trial, study)
        raise ValueError(f"trial {trial.number} is {trial.state.name}, not finished")

    def _split(
        self, study: Study, trials: list[FrozenTrial], n_below: int
    ) -> tuple[list[FrozenTrial], list[FrozenTrial]]:
        """Optuna's ``_split_trials``, from the kept marks (single objective)."""
        if study._is_multi_objective():
            return _split_multi(study, trials, n_below)
        groups: tuple[list[Any], list[Any], list[Any]] = ([], [], [])
        running = []
        marks = self._marks
        for trial in trials:
            mark = marks.get(trial._trial_id)
            if mark is None:
                if trial.state == TrialState.RUNNING:
                    running.append(trial)
                    continue
                mark = marks[trial._trial_id] = self._mark(trial, study)
            groups[mark[0]].append((mark[1], trial))
        maximize = study.direction == StudyDirection.MAXIMIZE
        below: list[FrozenTrial] = []
        above: list[FrozenTrial] = running
        for kind, group in enumerate(groups):
            # Python's sort is stable, with reverse=True too, as Optuna's sorts are.
            ordered = sorted(group, key=_by_key, reverse=maximize and kind == _COMPLETE)
            k = min(n_below, len(ordered))
            below.extend(t for _, t in ordered[:k])
            above.extend(t for _, t in ordered[k:])
            n_below = max(0, n_below - k)
        below.sort(key=_by_number)
        above.sort(key=_by_number)
        return below, above

    # -- sampling -----------------------------------------------------------------------------
    def _sample(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        with vectorised_normal_cdf():
            if self._packing is not None:
                return self._packing.sample(study, trial, search_space)
            return self._sample_kept(study, trial, search_space)

    def _below_above(
        self, study: Study, trial: FrozenTrial
    ) -> tuple[list[FrozenTrial], list[FrozenTrial]]:
        """The trials ``trial`` is sampled against, split as Optuna's ``_sample`` splits them."""
        if self._constant_liar:
            states = [TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING]
        else:
            states = [TrialState.COMPLETE, TrialState.PRUNED]
        use_cache = not self._constant_liar
        trials = study._get_trials(deepcopy=False, states=states, use_cache=use_cache)
        if self._constant_liar:
            trials = [t for t in trials if trial.number != t.number]
        if self._gamma is None:
            if len(study.directions) <= 1:
                self._gamma = _optuna_tpe.default_gamma
            else:
                self._gamma = _optuna_tpe.default_gamma_multiobjective
        n = sum(t.state != TrialState.RUNNING for t in trials)
        return self._split(study, trials, self._gamma(n))

    def _sample_kept(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        # Optuna's TPESampler._sample, with the split above.
        below_trials, above_trials = self._below_above(study, trial)
        mpe_below = self._build_parzen_estimator(
            study, search_space, below_trials, handle_below=True
        )
        mpe_above = self._build_parzen_estimator(
            study, search_space, above_trials, handle_below=False
        )
        samples_below = mpe_below.sample(self._rng.rng, self._n_ei_candidates)
        acq_func_vals = self._compute_acquisition_func(samples_below, mpe_below, mpe_above)
        ret = optuna.samplers.TPESampler._compare(samples_below, acq_func_vals)
        for param_name, dist in search_space.items():
            ret[param_name] = dist.to_external_repr(ret[param_name])
        return ret

    # -- a pack at once -----------------------------------------------------------------------
    @contextmanager
    def pack(self, study: Study, k: int) -> Iterator[PackSampling | None]:
        """Within: the ``k`` trials sampled next are one pack, sampled at once (see
        ``_tpe_pack``); the caller tells the :class:`PackSampling` it yields of each
        member once its parameters are in. None (each member sampled alone, as Optuna's
        TPE samples it) where the pack path does not apply: :attr:`pack_at_once` off, no
        constant liar, several objectives, or Optuna's estimators not as expected."""
        if not (
            self.pack_at_once and PACKED and self._constant_liar and not study._is_multi_objective()
        ):
            yield None
            return
        self._packing = PackSampling(self, k)
        try:
            yield self._packing
        finally:
            self._packing = None

    # Within a pack the study's finished trials do not change: neither do whether TPE is
    # past its start-up trials (Optuna's two checks below count them for every sample)
    # nor the relative search space, so both are worked out once per pack.
    def _sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if self._packing is None:
            return super()._sample_relative(study, trial, search_space)
        if search_space == {} or self._starting(study):
            return {}
        return self._sample(study, trial, search_space)

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        if self._packing is None or self._warn_independent_sampling:
            return super().sample_independent(study, trial, param_name, param_distribution)
        if self._starting(study):
            return self._random_sampler.sample_independent(
                study, trial, param_name, param_distribution
            )
        return self._sample(study, trial, {param_name: param_distribution})[param_name]

    def _starting(self, study: Study) -> bool:
        """Fewer finished trials than the start-up ones (counted once per pack)."""
        assert self._packing is not None
        if self._packing.finished is None:
            states = (TrialState.COMPLETE, TrialState.PRUNED)
            self._packing.finished = len(study._get_trials(deepcopy=False, states=states))
        return self._packing.finished < self._n_startup_trials

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        # The intersection of the finished trials' spaces: the same for a whole pack.
        if self._packing is None:
            return super().infer_relative_search_space(study, trial)
        if self._packing.relative is None:
            self._packing.relative = super().infer_relative_search_space(study, trial)
        return dict(self._packing.relative)


@contextmanager
def vectorised_normal_cdf() -> Iterator[None]:
    """Within: Optuna's TPE takes the normal CDF and its log from SciPy's vectorised
    ``ndtr`` and ``log_ndtr`` instead of its own element-by-element Python loops.
    Afterwards, and where any of them is missing, Optuna's own are in place."""
    originals = {name: getattr(_truncnorm, name) for name in ("_ndtr", "_log_ndtr")}
    _truncnorm._ndtr = lambda a: ndtr(np.asarray(a, dtype=float))
    _truncnorm._log_ndtr = lambda a: log_ndtr(np.asarray(a, dtype=float))
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(_truncnorm, name, original)


def _ignore(trial: FrozenTrial) -> None:
    return None


@contextmanager
def sampling_a_pack(study: Study, k: int) -> Iterator[Callable[[FrozenTrial], None]]:
    """Within: the study's next ``k`` trials are one pack. Yields what to call with each
    member once its parameters are in. With sweep's TPE the pack is sampled at once (see
    :meth:`TPESampler.pack`); any other sampler samples each member alone."""
    sampler = study.sampler
    if not isinstance(sampler, TPESampler):
        yield _ignore
        return
    with sampler.pack(study, k) as packing:
        if packing is None:
            yield _ignore
            return

        def observe(trial: FrozenTrial) -> None:
            with vectorised_normal_cdf():
                packing.observe(trial)

        yield observe


def _split_multi(
    study: Study, trials: list[FrozenTrial], n_below: int
) -> tuple[list[FrozenTrial], list[FrozenTrial]]:
    """Optuna's ``_split_trials`` for a study of several objectives whose pruned trials
    have intermediate values (sweep prunes on the metric): Optuna ranks pruned trials by
    ``study.direction``, which a study of several objectives does not have; here they rank
    by the first direction, the metric's, as a study of the metric alone ranks them."""
    running = [t for t in trials if t.state == TrialState.RUNNING]
    finished = [t for t in trials if t.state != TrialState.RUNNING]
    infeasible = [t for t in finished if _optuna_tpe._get_infeasible_trial_score(t) > 0]
    feasible = [t for t in finished if _optuna_tpe._get_infeasible_trial_score(t) <= 0]
    complete = [t for t in feasible if t.state == TrialState.COMPLETE]
    pruned = [t for t in feasible if t.state == TrialState.PRUNED]
    below, above = _optuna_tpe._split_complete_trials(complete, study, n_below)
    n_below = max(0, n_below - len(below))
    sign = -1.0 if study.directions[0] == StudyDirection.MAXIMIZE else 1.0
    pruned.sort(key=lambda t: _pruned_score(t, sign))
    k = min(n_below, len(pruned))
    below, above = below + pruned[:k], above + pruned[k:]
    n_below = max(0, n_below - k)
    low, high = _optuna_tpe._split_infeasible_trials(infeasible, n_below)
    return sorted(below + low, key=_by_number), sorted(above + high + running, key=_by_number)


def _pruned_score(trial: FrozenTrial, sign: float) -> tuple[float, float]:
    """Optuna's ``_get_pruned_trial_score`` with the metric's sign (1: minimised)."""
    if not trial.intermediate_values:
        return 1, 0.0
    step, value = max(trial.intermediate_values.items())
    return (-step, float("inf")) if np.isnan(value) else (-step, sign * value)
