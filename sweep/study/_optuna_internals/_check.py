"""Whether Optuna's private names that sweep uses are all in place (checked at import).

See the package's docstring for what each is used for.
"""

from __future__ import annotations

import inspect
import logging
import os
from typing import Any

import optuna

# The schema revision of Optuna's RDB tables that the raw writes were written for.
SCHEMA_REVISION = "v3.2.0.a"


# Every private Optuna module sweep uses, imported here alone (None where one is missing).
try:
    from optuna.pruners import _percentile as percentile_module
    from optuna.samplers._tpe import _truncnorm as truncnorm_module
    from optuna.samplers._tpe import parzen_estimator as parzen_module
    from optuna.samplers._tpe import probability_distributions as pdist_module
    from optuna.samplers._tpe import sampler as tpe_module
    from optuna.storages._rdb import models
    from optuna.storages._rdb.storage import _create_scoped_session as create_scoped_session
    from optuna.study._constrained_optimization import _CONSTRAINTS_KEY as CONSTRAINTS_KEY
    from optuna.study._frozen import FrozenStudy
except ImportError as _missing:  # pragma: no cover - another Optuna
    percentile_module = truncnorm_module = tpe_module = models = None  # type: ignore[assignment]
    CONSTRAINTS_KEY = None  # type: ignore[assignment]
    parzen_module = pdist_module = None  # type: ignore[assignment]
    create_scoped_session = FrozenStudy = None  # type: ignore[assignment,misc]
    _IMPORT_ERROR: ImportError | None = _missing
else:
    _IMPORT_ERROR = None
filter_study: Any = getattr(optuna.pruners, "_filter_study", None)


def _check() -> str | None:
    """None when every private name used here is in place, else what is missing or
    changed (as the end of a sentence that starts with "Optuna X.Y")."""
    if os.environ.get("SWEEP_OPTUNA_PUBLIC") == "1":
        return "is not used for its private names (SWEEP_OPTUNA_PUBLIC=1)"
    if _IMPORT_ERROR is not None:
        return f"lacks {_IMPORT_ERROR.name}"
    _percentile, _truncnorm, tpe = percentile_module, truncnorm_module, tpe_module
    needs: list[tuple[object, str]] = [
        (models, "TrialModel"),
        (models, "TrialParamModel"),
        (models, "TrialValueModel"),
        (models, "TrialUserAttributeModel"),
        (models, "TrialSystemAttributeModel"),
        (models, "TrialIntermediateValueModel"),
        (models, "TrialHeartbeatModel"),
        (models.TrialValueModel, "value_to_stored_repr"),
        (models.TrialIntermediateValueModel, "intermediate_value_to_stored_repr"),
        (optuna.storages.RDBStorage, "_get_stale_trial_ids"),
        (optuna.storages.RDBStorage, "_get_trials"),
        (optuna.samplers.TPESampler, "_sample"),
        (optuna.samplers.TPESampler, "_get_internal_repr"),
        (optuna.samplers.TPESampler, "_build_parzen_estimator"),
        (optuna.samplers.TPESampler, "_compute_acquisition_func"),
        (optuna.samplers.TPESampler, "_compare"),
        (optuna.samplers.TPESampler, "_get_params"),
        (tpe, "_split_trials"),
        (tpe, "_split_complete_trials"),
        (tpe, "_split_infeasible_trials"),
        (tpe, "_get_infeasible_trial_score"),
        (tpe, "_get_pruned_trial_score"),
        (tpe, "default_gamma"),
        (_truncnorm, "_ndtr"),
        (_truncnorm, "_log_ndtr"),
        (optuna.Study, "_get_trials"),
        (optuna.Study, "_is_multi_objective"),
        (optuna.pruners, "_filter_study"),
        (FrozenStudy, "__init__"),
        (_percentile, "_is_first_in_interval_step"),
        (_percentile, "_get_best_intermediate_result_over_steps"),
        (_percentile, "_get_percentile_intermediate_result_over_trials"),
        (optuna.pruners.PercentilePruner, "prune"),
    ]
    for owner, name in needs:
        if not hasattr(owner, name):
            return f"lacks {getattr(owner, '__name__', owner)}.{name}"
    # Attributes that Optuna's objects set on themselves when they are made.
    instance = {
        optuna.Study: ("self._storage", "self._study_id", "self._thread_local"),
        optuna.Trial: ("self._trial_id", "self._cached_frozen_trial", "self._fixed_params"),
        optuna.pruners.PercentilePruner: (
            "self._percentile",
            "self._n_startup_trials",
            "self._n_warmup_steps",
            "self._interval_steps",
            "self._n_min_trials",
        ),
        optuna.samplers.TPESampler: (
            "self._rng",
            "self._gamma",
            "self._constant_liar",
            "self._n_ei_candidates",
        ),
    }
    for cls, names in instance.items():
        source = inspect.getsource(cls)
        for name in names:
            if f"{name} =" not in source:
                return f"lacks {cls.__name__}.{name.removeprefix('self.')}"
    shapes: dict[Any, list[str]] = {
        optuna.samplers.TPESampler._sample: ["self", "study", "trial", "search_space"],
        optuna.Study._get_trials: ["self", "deepcopy", "states", "use_cache"],
        optuna.storages.RDBStorage._get_trials: [
            "self",
            "study_id",
            "states",
            "included_trial_ids",
            "trial_id_greater_than",
        ],
    }
    for function, parameters in shapes.items():
        if list(inspect.signature(function).parameters) != parameters:
            return f"has {function.__qualname__}{inspect.signature(function)}"
    columns = {c.name for c in models.TrialModel.__table__.columns}
    if not {"trial_id", "number", "study_id", "state", "datetime_complete"} <= columns:
        return "lacks columns of TrialModel"
    trial = optuna.Trial.__init__
    if list(inspect.signature(trial).parameters) != ["self", "study", "trial_id"]:
        return f"has Trial{inspect.signature(trial)}"
    return None


def _check_pack() -> str | None:
    """None when what sampling a pack at once reads of Optuna's Parzen estimators is in
    place (the kernels' fields and the estimator's parameters), else what is not."""
    pdist = pdist_module
    for name in (
        "_BatchedCategoricalDistributions",
        "_BatchedTruncNormDistributions",
        "_BatchedTruncLogNormDistributions",
        "_BatchedDiscreteTruncNormDistributions",
        "_BatchedDiscreteTruncLogNormDistributions",
        "_MixtureOfProductDistribution",
    ):
        if not hasattr(pdist, name):
            return f"lacks {name}"
    fields = {
        "_MixtureOfProductDistribution": ("weights", "distributions"),
        "_BatchedCategoricalDistributions": ("weights",),
        "_BatchedTruncNormDistributions": ("mu", "sigma", "low", "high"),
        "_BatchedTruncLogNormDistributions": ("mu", "sigma", "low", "high"),
        "_BatchedDiscreteTruncNormDistributions": ("mu", "sigma", "low", "high", "step"),
        "_BatchedDiscreteTruncLogNormDistributions": ("mu", "sigma", "low", "high", "step"),
    }
    for name, needed in fields.items():
        cls = getattr(pdist, name)
        if tuple(getattr(cls, "_fields", ())) != needed:
            return f"has {name} fields {getattr(cls, '_fields', None)}"
        if name.startswith("_BatchedTrunc") or name.startswith("_BatchedDiscrete"):
            if not all(hasattr(cls, a) for a in ("adapted_low", "adapted_high", "is_log", "step")):
                return f"lacks {name}.adapted_low"
    if not hasattr(truncnorm_module, "_log_gauss_mass"):
        return "lacks _truncnorm._log_gauss_mass"
    if "self._mixture_distribution =" not in inspect.getsource(parzen_module._ParzenEstimator):
        return "lacks _ParzenEstimator._mixture_distribution"
    params = getattr(parzen_module, "_ParzenEstimatorParameters", None)
    wanted = {"prior_weight", "consider_magic_clip", "consider_endpoints", "weights"}
    if params is None or not wanted <= set(getattr(params, "_fields", ())):
        return "lacks _ParzenEstimatorParameters"
    source = inspect.getsource(optuna.samplers.TPESampler)
    for name in (
        "self._parzen_estimator_parameters =",
        "self._parzen_estimator_cls = _ParzenEstimator",
    ):
        if name not in source:
            return f"lacks TPESampler.{name.split()[0].removeprefix('self.')}"
    return None


MISSING = _check()
PRIVATE = MISSING is None
PACK_MISSING = _check_pack() if PRIVATE else MISSING
# A pack is sampled at once by sweep's TPE (else each member alone).
PACKED = PACK_MISSING is None
if MISSING is not None and "SWEEP_OPTUNA_PUBLIC" not in MISSING:
    logging.getLogger("sweep").warning(
        "sweep: Optuna %s %s; sweep uses Optuna's public API instead (Optuna's TPE "
        "sampler, one write per call, packs sampled trial by trial, no sampling ahead)",
        optuna.__version__,
        MISSING,
    )
elif PACK_MISSING is not None:
    logging.getLogger("sweep").warning(
        "sweep: Optuna %s %s; sweep's TPE samples a pack's trials one by one",
        optuna.__version__,
        PACK_MISSING,
    )
