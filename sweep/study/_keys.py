"""The names under which sweep keeps its facts in a study's and a trial's attributes.

Facts about a study live in its user attributes (the study file, the data summary,
the objective); facts about a trial in the trial's user attributes (``config``,
metrics, timings, device, ``fail_reason``). Optuna's own tables stay the one source
of truth, so Optuna's CLI and optuna-dashboard read every sweep study.
"""

from __future__ import annotations

from optuna.trial import TrialState

SPEC_KEY = "sweep.spec"
FINGERPRINT_KEY = "sweep.fingerprint"
DATA_KEY = "sweep.data"
OBJECTIVE_KEY = "sweep.objective"
OBJECTIVES_KEY = "sweep.objectives"  # a study of several objectives: their names, in order
MODELS_KEY = "sweep.models"  # trial number -> artifact id of the kept weights
OWNER_KEY = "sweep.owner"  # system attr: which coordinator runs the trial
RETRIES_KEY = "sweep.retries"  # system attr: how often this trial's parameters were retried
ENQUEUED_KEY = "sweep.enqueued"  # the study file's [[enqueue]] configurations queued so far
STOPPED_KEY = "sweep.stopped"  # a target or plateau stop: reason, setting, time (or None)
LAST_RUN_KEY = "sweep.last_run"  # how the latest run ended: why, when, trials it ran

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
