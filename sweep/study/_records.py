"""What the coordinator writes on its trials: their start, their epochs, their end.

A pack starts, reports and ends together, so each of these takes a batch of trials.
On an RDB storage (while Optuna's private names are in place) a batch is one
transaction of a few statements (``_optuna_internals.write_batch``); elsewhere it
is Optuna's storage API, one call per value. Either way a batch that names a trial
already finished (another machine failed it as stale) writes nothing and raises.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from sweep.study import _optuna_internals as internals


@dataclass(frozen=True)
class TrialEnd:
    """A trial's end as the coordinator records it."""

    trial: FrozenTrial  # as the coordinator knows it, its intermediate values included
    state: TrialState  # COMPLETE, PRUNED or FAIL
    value: float | None  # the objective (the metric) of a complete trial
    attrs: dict[str, Any]  # user attributes: metrics, timings, reasons
    others: tuple[float, ...] = ()  # a study of several objectives: the values after the metric
    # Optuna's trial constraints (name -> value, at most 0: within): the study's limits
    constraints: dict[str, float] = field(default_factory=dict)

    def values(self) -> list[float] | None:
        """The values Optuna records: a complete trial's value (its metric, then the other
        objectives' values), a pruned trial's last intermediate value (as ``Study.tell``
        takes it; :func:`finish_trials` records none in a study of several objectives, as
        ``Study.tell`` does), none for a failed one.

        Raises:
            ValueError: a complete trial without a finite value.
        """
        if self.state == TrialState.COMPLETE:
            if self.value is None or not math.isfinite(self.value):
                raise ValueError(f"trial {self.trial.number} is complete without a finite value")
            return [float(self.value), *self.others]
        if self.state == TrialState.PRUNED and self.trial.last_step is not None:
            last = self.trial.intermediate_values[self.trial.last_step]
            return [float(last)] if math.isfinite(last) else None
        return None


def _check_running(storage: optuna.storages.BaseStorage, trial_ids: set[int]) -> None:
    for trial_id in trial_ids:
        if storage.get_trial(trial_id).state.is_finished():
            raise optuna.exceptions.UpdateFinishedTrialError(
                f"trial id {trial_id} has already finished and can not be updated"
            )


def start_trials(
    storage: optuna.storages.BaseStorage,
    user: dict[int, dict[str, Any]],
    system: dict[int, dict[str, Any]],
) -> None:
    """Set attributes of running trials (trial id -> key -> value) and record each
    trial's first heartbeat where the storage keeps them.

    Raises:
        optuna.exceptions.UpdateFinishedTrialError: one of the trials is finished.
    """
    ids = sorted({*user, *system})
    beats = getattr(storage, "get_heartbeat_interval", lambda: None)() is not None
    backend = internals.rdb(storage)
    if backend is not None:
        internals.write_batch(
            backend, user=user, system=system, first_heartbeat=ids if beats else ()
        )
        return
    _check_running(storage, set(ids))
    for trial_id, attrs in user.items():
        for key, value in attrs.items():
            storage.set_trial_user_attr(trial_id, key, value)
    for trial_id, attrs in system.items():
        for key, value in attrs.items():
            storage.set_trial_system_attr(trial_id, key, value)
    if beats:
        for trial_id in ids:
            storage.record_heartbeat(trial_id)  # type: ignore[attr-defined]


def write_intermediate(
    storage: optuna.storages.BaseStorage, values: dict[int, dict[int, float]]
) -> None:
    """Record intermediate values of running trials (trial id -> step -> value). Each
    step is written once per trial (the coordinator reports each epoch once).

    Raises:
        optuna.exceptions.UpdateFinishedTrialError: one of the trials is finished.
    """
    values = {trial_id: steps for trial_id, steps in values.items() if steps}
    if not values:
        return
    backend = internals.rdb(storage)
    if backend is not None:
        internals.write_batch(backend, steps=values)
        return
    _check_running(storage, set(values))
    for trial_id, steps in values.items():
        for step, value in steps.items():
            storage.set_trial_intermediate_value(trial_id, step, value)


def finish_trials(
    study: optuna.Study,
    ends: list[TrialEnd],
    steps: dict[int, dict[int, float]] | None = None,
) -> None:
    """Record the end of running trials as ``Study.tell`` records each: the sampler's
    ``after_trial`` first, then the state, the values and the user attributes; with
    ``steps`` (trial id -> step -> value), intermediate values not yet written, first.

    Raises:
        optuna.exceptions.UpdateFinishedTrialError: one of the trials is finished;
            nothing is written then.
        ValueError: a complete trial without a finite value; nothing is written then.
    """
    multi = len(study.directions) > 1
    values = [None if multi and e.state == TrialState.PRUNED else e.values() for e in ends]
    storage = internals.storage_of(study)
    ids = [internals.trial_id(study, end.trial) for end in ends]
    steps = {i: s for i, s in (steps or {}).items() if s}
    backend = internals.rdb(storage)
    if backend is None:
        _check_running(storage, set(ids))
        for trial_id, held in steps.items():
            for step, value in held.items():
                storage.set_trial_intermediate_value(trial_id, step, value)
        for end, trial_id, vals in zip(ends, ids, values):
            for key, value in end.attrs.items():
                storage.set_trial_user_attr(trial_id, key, value)
            trial = optuna.Trial(study, trial_id)
            for key, bound in end.constraints.items():
                trial.set_constraint(key, bound)
            # Study.tell takes a pruned trial's value from its last epoch itself.
            told = vals if end.state == TrialState.COMPLETE else None
            study.tell(end.trial.number, told, state=end.state)
        return
    internals.forget_cached_trials(study)
    try:
        for end, vals in zip(ends, values):
            filtered = internals.after_trial_study(study, end.trial)
            study.sampler.after_trial(filtered, end.trial, end.state, vals)
    finally:
        internals.write_batch(
            backend,
            steps=steps,
            user={i: end.attrs for i, end in zip(ids, ends) if end.attrs},
            system={
                i: internals.constraint_attrs(end.constraints)
                for i, end in zip(ids, ends)
                if end.constraints
            },
            ends=[(i, end.state, vals) for i, end, vals in zip(ids, ends, values)],
        )
