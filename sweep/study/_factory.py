"""The study's sampler and pruner, built from the study file's ``[study]`` section."""

from __future__ import annotations

import optuna

from sweep.config import StudySection
from sweep.study import _optuna_internals as internals


def build_sampler(section: StudySection, *, offset: int = 0) -> optuna.samplers.BaseSampler:
    """The study's sampler. ``offset`` (the trials already in the study) varies the seed on
    resume, so a rerun does not replay the first run's random start-up proposals."""
    seed = section.seed + offset * 7_919
    if section.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if section.sampler == "qmc":
        return optuna.samplers.QMCSampler(seed=section.seed, scramble=True)
    # constant_liar: trials still running count as (bad) observations, so parallel
    # workers and packs do not all explore the same point. sweep's TPE draws what Optuna's
    # does, keeping what it works out from each finished trial (see _optuna_internals).
    tpe = internals.TPESampler if internals.PRIVATE else optuna.samplers.TPESampler
    return tpe(seed=seed, n_startup_trials=section.sampler_startup, constant_liar=True)


def build_pruner(section: StudySection, epochs: int) -> optuna.pruners.BasePruner:
    """The study's pruner; a step is an epoch."""
    # sweep's median and percentile pruners decide as Optuna's do, faster against a view.
    private = internals.PRIVATE
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
