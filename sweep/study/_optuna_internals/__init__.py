"""The one door to Optuna's private names.

Everywhere else sweep uses Optuna's public API. Where a measured gain needs one of
Optuna's private names, it is used in this package, and only here:

- the handles that a study and its trials keep private: the study's storage and id, a
  trial's id and its cached frozen trial (``_handles``, each with a public fallback
  where Optuna offers one);
- sampling a pack against one read of the study: the sampler reads a stand-in storage
  (``sample_through``), and a member with parameters sampled elsewhere takes them as
  an enqueued trial does (``sampled_trial``);
- writing a batch of trials' attributes (their constraints, as ``Trial.set_constraint``
  names them, among them), epoch values, first heartbeats and ends, or a
  pack's sampled parameters, in one transaction into Optuna's own tables; counting a
  study's trials by state in one query; the trials whose heartbeat stopped (``_rdb``:
  RDB storages only, and only while the database's schema revision is
  :data:`SCHEMA_REVISION`);
- sweep's TPE (``_tpe``), which keeps per finished trial what Optuna's TPE works out
  again for every sample, and takes the normal CDF from SciPy; it samples a pack at
  once (``_tpe_pack``), reading the kernels of Optuna's Parzen estimators (where they
  are not as expected, :data:`PACKED` is False and each member is sampled alone);
  in a study of several objectives it ranks pruned trials by the metric, which Optuna's
  TPE cannot (without it such a study does not prune);
- sweep's median and percentile pruners (``_pruners``), which decide as Optuna's do but
  work the percentile at a step out once per state of the view they judge against.

At import ``_check`` makes sure that each private name exists with the shape used.
Where one does not, or where ``SWEEP_OPTUNA_PUBLIC=1`` is set, :data:`PRIVATE` is
False and every caller takes Optuna's public path: the stock ``TPESampler``,
``Study.ask`` and ``Study.tell``, the storage API one call at a time, and no
sampling ahead. One warning line names the Optuna version and what was missing.
``constraints.txt`` pins the Optuna the tests ran on.
"""

from sweep.study._optuna_internals._check import MISSING, PACKED, PRIVATE, SCHEMA_REVISION
from sweep.study._optuna_internals._handles import (
    after_trial_study,
    backend_of,
    constraint_attrs,
    forget_cached_trials,
    frozen,
    frozen_study,
    read_new_trials,
    rebind,
    sample_through,
    sampled_trial,
    storage_of,
    study_id,
    trial_id,
    trial_id_of,
)
from sweep.study._optuna_internals._pruners import MedianPruner, PercentilePruner
from sweep.study._optuna_internals._rdb import (
    count_by_state,
    rdb,
    rdb_tables,
    stale_trial_ids,
    write_batch,
    write_params,
)
from sweep.study._optuna_internals._tpe import (
    TPESampler,
    sampling_a_pack,
    vectorised_normal_cdf,
)

__all__ = [
    "MISSING",
    "MedianPruner",
    "PACKED",
    "TPESampler",
    "PRIVATE",
    "PercentilePruner",
    "SCHEMA_REVISION",
    "after_trial_study",
    "backend_of",
    "constraint_attrs",
    "count_by_state",
    "forget_cached_trials",
    "frozen",
    "frozen_study",
    "rdb",
    "rdb_tables",
    "read_new_trials",
    "rebind",
    "sample_through",
    "sampled_trial",
    "sampling_a_pack",
    "stale_trial_ids",
    "storage_of",
    "study_id",
    "trial_id",
    "trial_id_of",
    "vectorised_normal_cdf",
    "write_batch",
    "write_params",
]
