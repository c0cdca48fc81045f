"""The study's sampler and pruner, built from the study file's ``[study]`` section."""

from __future__ import annotations

import logging
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from sweep._choices import Sampler
from sweep.config import SpaceSpec, StudySection, grid_points
from sweep.study import _optuna_internals as internals

log = logging.getLogger(__name__)

# One line per sampler, as ``sweep samplers`` lists them.
SAMPLER_SUMMARIES: dict[Sampler, str] = {
    "tpe": "Optuna's TPE with the constant liar (the default): models good and bad trials",
    "random": "every parameter drawn at random",
    "qmc": "a scrambled Sobol sequence: even coverage of the space, no model",
    "gp": "Optuna's Gaussian-process sampler; no liar: a pack's members are sampled as if alone",
    "cmaes": "Optuna's CMA-ES on the numeric parameters, the others at random; no liar",
    "grid": "every combination of the lists and integer ranges, each once",
}


class GridSampler(optuna.samplers.GridSampler):
    """Optuna's grid sampler without its stop: it calls ``Study.stop``, which only works
    inside ``Study.optimize``; sweep's budget is capped at the grid's size instead."""

    def after_trial(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Any,
    ) -> None:
        return None


def grid_size(space: SpaceSpec) -> int:
    """The number of combinations a grid study runs."""
    size = 1
    for values in grid_points(space).values():
        size *= len(values)
    return size


def build_sampler(
    section: StudySection, space: SpaceSpec, *, offset: int = 0
) -> optuna.samplers.BaseSampler:
    """The study's sampler. ``offset`` (the trials already in the study) varies the seed on
    resume, so a rerun does not replay the first run's random start-up proposals."""
    seed = section.seed + offset * 7_919
    if section.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if section.sampler == "qmc":
        return optuna.samplers.QMCSampler(seed=section.seed, scramble=True)
    if section.sampler == "gp":
        return optuna.samplers.GPSampler(
            seed=seed, n_startup_trials=section.sampler_startup, warn_independent_sampling=False
        )
    if section.sampler == "cmaes":
        return optuna.samplers.CmaEsSampler(
            seed=seed, n_startup_trials=section.sampler_startup, warn_independent_sampling=False
        )
    if section.sampler == "grid":
        return GridSampler(grid_points(space), seed=seed)
    # constant_liar: trials still running count as (bad) observations, so parallel
    # workers and packs do not all explore the same point. sweep's TPE draws what Optuna's
    # does, keeping what it works out from each finished trial (see _optuna_internals).
    tpe = internals.TPESampler if internals.PRIVATE else optuna.samplers.TPESampler
    return tpe(seed=seed, n_startup_trials=section.sampler_startup, constant_liar=True)


def build_pruner(section: StudySection, epochs: int) -> optuna.pruners.BasePruner:
    """The study's pruner; a step is an epoch."""
    # sweep's median and percentile pruners decide as Optuna's do, faster against a view.
    private = internals.PRIVATE
    if section.multi_objective and section.sampler == "tpe" and not private:
        # Optuna's own TPE cannot rank pruned trials of a study of several objectives
        # (it asks for the one direction such a study lacks); sweep's ranks them by the
        # metric, and without it a study of several objectives does not prune.
        log.warning("pruning is off: Optuna %s %s", optuna.__version__, internals.MISSING)
        return optuna.pruners.NopPruner()
    if section.pruner == "median":
        median = internals.MedianPruner if private else optuna.pruners.MedianPruner
        return median(n_startup_trials=section.pruner_startup, n_warmup_steps=section.pruner_warmup)
    if section.pruner == "percentile":
        percentile = internals.PercentilePruner if private else optuna.pruners.PercentilePruner
        return percentile(
            section.percentile,
            n_startup_trials=section.pruner_startup,
            n_warmup_steps=section.pruner_warmup,
        )
    if section.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(epochs, 1))
    if section.pruner == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner()
    return optuna.pruners.NopPruner()


def judges_from_values(pruner: optuna.pruners.BasePruner) -> bool:
    """True for pruners that decide from intermediate values alone and keep no state on
    the trials (median, percentile, none): they may judge a pack's trials against one
    read of the study. Successive halving and Hyperband write their rungs into the
    trial's system attributes, so they must see each trial fresh."""
    return isinstance(pruner, optuna.pruners.PercentilePruner | optuna.pruners.NopPruner)
