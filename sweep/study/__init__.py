"""The Optuna study behind a sweep, one concept a module.

- ``_factory``: the sampler and pruner a study file asks for;
- ``_open``: creating, joining and loading a study, and what sweep keeps on it;
- ``_budget``: counting trials, and the lock around "count, then start" across machines;
- ``_recovery``: failing and re-queuing trials whose coordinator is gone;
- ``_pack``: starting and sampling a pack of trials against one read;
- ``_records``: writing trials' starts, epochs and ends in batches;
- ``_view``: a study read once, for pruning, sampling and reports;
- ``_stop``: a target or plateau stop, recorded on the study, and how each run ended;
- ``_warm``: another study's best trials as this one's first configurations;
- ``_optuna_internals``: the one door to Optuna's private names, with its fallback.
"""

from sweep.study._budget import budget_lock, counts
from sweep.study._factory import (
    SAMPLER_SUMMARIES,
    build_pruner,
    build_sampler,
    grid_size,
    judges_from_values,
)
from sweep.study._keys import (
    DATA_KEY,
    FINGERPRINT_KEY,
    FINISHED,
    LAST_RUN_KEY,
    MODELS_KEY,
    OBJECTIVE_KEY,
    OBJECTIVES_KEY,
    OWNER_KEY,
    RETRIES_KEY,
    SPEC_KEY,
    STOPPED_KEY,
)
from sweep.study._open import (
    enqueue_known,
    load_study,
    objective_of,
    objectives_of,
    open_or_create,
    spec_of,
    study_names,
)
from sweep.study._pack import PackStart, PackView, start_pack
from sweep.study._records import TrialEnd, finish_trials, start_trials, write_intermediate
from sweep.study._recovery import (
    fail_orphans,
    fail_stale,
    fail_trial,
    owner_record,
    recover_abandoned,
    requeue,
)
from sweep.study._stop import (
    Stop,
    StopRule,
    clear_stop,
    record_run_end,
    record_stop,
    recorded_stop,
)
from sweep.study._view import StudyView, metric_only, read_once, view_of
from sweep.study._warm import parse_warm_start, warm_start_configs

__all__ = [
    "DATA_KEY",
    "FINGERPRINT_KEY",
    "FINISHED",
    "LAST_RUN_KEY",
    "MODELS_KEY",
    "OBJECTIVE_KEY",
    "OBJECTIVES_KEY",
    "OWNER_KEY",
    "PackStart",
    "PackView",
    "RETRIES_KEY",
    "SPEC_KEY",
    "STOPPED_KEY",
    "Stop",
    "StopRule",
    "StudyView",
    "TrialEnd",
    "budget_lock",
    "clear_stop",
    "build_pruner",
    "build_sampler",
    "grid_size",
    "SAMPLER_SUMMARIES",
    "counts",
    "fail_orphans",
    "fail_stale",
    "fail_trial",
    "finish_trials",
    "judges_from_values",
    "load_study",
    "objective_of",
    "objectives_of",
    "open_or_create",
    "enqueue_known",
    "owner_record",
    "metric_only",
    "read_once",
    "record_run_end",
    "record_stop",
    "recorded_stop",
    "recover_abandoned",
    "requeue",
    "spec_of",
    "start_pack",
    "start_trials",
    "study_names",
    "view_of",
    "parse_warm_start",
    "warm_start_configs",
    "write_intermediate",
]
