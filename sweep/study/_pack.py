"""Starting and sampling a pack of trials.

TPE with the constant liar reads the storage for every trial it samples, to count
the running trials as observations. A pack's members are sampled against one read
of the study through a :class:`PackView`, in which each member sees the members
sampled before it with their parameters, and the pack's parameters are written
together afterwards. Where Optuna's private names are not in place, the members are
asked one by one with ``Study.ask`` instead (see :func:`start_pack`).
"""

from __future__ import annotations

import copy
import datetime
import warnings
from collections.abc import Sequence
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from sweep.config import SpaceSpec
from sweep.space import TrialConfig, sample_config
from sweep.study import _optuna_internals as internals
from sweep.study._view import StudyView

_TPE_RELATIVE_PARAMS = "tpe:relative_params:"


class PackView(StudyView):
    """Stands in for the study's storage while a pack of trials is sampled.

    Reads: the study as read once when the pack's trials were started (:meth:`ask`) or
    imagined (:meth:`imagine`), with the pack's own trials as sampled so far. Writes:
    sampled parameters are collected and written together by :meth:`flush`; system
    attributes the sampler sets on the pack's trials are collected in :attr:`system`
    for the caller's one write of attributes. Other writes go to the storage.

    Use (as the coordinator does)::

        view = PackView(study, distributions)
        view.ask(k, asked)               # pop waiting trials, create the rest
        trials, configs = view.sample(space, asked)
        view.flush()
    """

    def __init__(self, study: optuna.Study, distributions: dict[str, Any]) -> None:
        self.study = study
        self.storage = internals.storage_of(study)
        super().__init__(
            internals.study_id(study), study.study_name, study.directions, study.user_attrs, ()
        )
        self.created: set[int] = set()  # ids of the trials ask() created (not taken waiting)
        self.partial = False  # the view holds only the new trials (see ask)
        self.params: list[tuple[int, str, float, Any]] = []
        self.system: dict[int, dict[str, Any]] = {}
        # The first distribution the study holds under each parameter name (Optuna checks
        # every new parameter against it); kept by the caller across packs.
        self.distributions = distributions

    # -- reads of other studies and writes go to the storage -----------------------------------
    def get_all_trials(
        self, study_id: int, deepcopy: bool = True, states: Any = None
    ) -> list[FrozenTrial]:
        if study_id != self.study_id:
            return self.storage.get_all_trials(study_id, deepcopy=deepcopy, states=states)
        out = super().get_all_trials(study_id, states=states)
        return copy.deepcopy(out) if deepcopy else out

    def get_trial(self, trial_id: int) -> FrozenTrial:
        trial = self.by_id.get(trial_id)
        return self.storage.get_trial(trial_id) if trial is None else copy.deepcopy(trial)

    # (StudyView refuses every write; a pack's view collects these two.)
    def set_trial_param(  # type: ignore[override]
        self, trial_id: int, param_name: str, param_value_internal: float, distribution: Any
    ) -> None:
        self.params.append((trial_id, param_name, param_value_internal, distribution))

    def set_trial_system_attr(self, trial_id: int, key: str, value: Any) -> None:  # type: ignore[override]
        if key.startswith(_TPE_RELATIVE_PARAMS):
            # TPE notes a trial's jointly sampled parameters for other processes to read
            # before the trial has suggested them all. A pack's parameters are written
            # together before anyone can see its trials, so the note says nothing new,
            # and TPE would parse it back for every trial at every later sample.
            return
        self.system.setdefault(trial_id, {})[key] = value
        held = self.by_id.get(trial_id)
        if held is not None:  # later members see it (the grid sampler's grid_id)
            held.system_attrs[key] = value

    # -- the pack -------------------------------------------------------------------------------
    def ask(self, k: int, asked: list[int], new: int | None = None) -> None:
        """Start ``k`` trials, appending their ids to ``asked`` as each is taken: waiting
        ones first (retries, enqueued trials), as ``Study.ask`` takes them, then new ones.
        With ``new`` (sampling ahead: the new trials will take parameters sampled
        elsewhere, no more than ``new`` of them), the sampler does not run here unless a
        waiting trial was taken, so only the new trials are read."""
        start = len(asked)
        storage = self.storage
        waiting = storage.get_all_trials(
            self.study_id, deepcopy=False, states=(TrialState.WAITING,)
        )
        for trial in waiting:
            if len(asked) - start >= k:
                break
            trial_id = internals.trial_id_of(trial)
            try:
                if storage.set_trial_state_values(trial_id, state=TrialState.RUNNING):
                    asked.append(trial_id)
            except optuna.exceptions.UpdateFinishedTrialError:
                continue
        taken_waiting = len(asked) > start
        more = k - (len(asked) - start)
        for _ in range(more if new is None else min(more, new)):
            trial_id = storage.create_new_trial(self.study_id)
            self.created.add(trial_id)
            asked.append(trial_id)
        held = None
        if new is not None and self.created and not taken_waiting:
            # The trials from the first new one on (another machine's may be among them).
            held = internals.read_new_trials(storage, self.study_id, min(self.created) - 1)
        self.partial = held is not None
        self.hold(held if held is not None else storage.get_all_trials(self.study_id, False))

    def imagine(self, k: int, running: Sequence[int]) -> list[int]:
        """Instead of :meth:`ask`, for sampling ahead: ``k`` new running trials that exist
        only in this view (ids below zero), after the study's trials as read now, except
        that the trials with ids in ``running`` are seen still running, as they were when
        the pack was requested, whatever they have become since (so what the sampler
        sees does not depend on when it reads). Returns the new trials' ids; nothing is
        written, and :meth:`flush` must not be called."""
        then = set(running)
        trials = []
        for t in self.storage.get_all_trials(self.study_id, deepcopy=False):
            if internals.trial_id_of(t) in then and t.state != TrialState.RUNNING:
                t = copy.copy(t)
                t.state, t.values, t.datetime_complete = TrialState.RUNNING, None, None
            trials.append(t)
        number = max((t.number for t in trials), default=-1) + 1
        now = datetime.datetime.now()
        for i in range(k):
            trials.append(
                FrozenTrial(
                    number=number + i,
                    state=TrialState.RUNNING,
                    value=None,
                    values=None,
                    datetime_start=now,
                    datetime_complete=None,
                    params={},
                    distributions={},
                    user_attrs={},
                    system_attrs={},
                    intermediate_values={},
                    trial_id=-1 - i,
                )
            )
        self.hold(trials)
        return [-1 - i for i in range(k)]

    def sample(
        self,
        space: SpaceSpec,
        trial_ids: list[int],
        proposed: Sequence[dict[str, Any]] = (),
    ) -> tuple[list[optuna.Trial], list[TrialConfig]]:
        """Sample the trials in order, each seeing the ones before it. The trials this
        view created take the parameters ``proposed`` (sampled ahead, in order) while
        they last, as fixed parameters instead of the sampler's.

        Raises:
            ValueError: after ``ask(new=...)``, a new trial without proposed parameters
                (the sampler would see the new trials alone).
        """
        trials, configs = [], []
        left = list(proposed)
        with (
            internals.sample_through(self.study, self),
            internals.sampling_a_pack(self.study, len(trial_ids)) as sampled,
        ):
            try:
                for trial_id in trial_ids:
                    fixed = left.pop(0) if left and trial_id in self.created else None
                    if fixed is None and self.partial:
                        raise ValueError("a trial without proposed parameters after ask(new=)")
                    trial = internals.sampled_trial(self.study, trial_id, fixed)
                    frozen = internals.frozen(self.study, trial)  # read after ask(): RUNNING
                    self.trials[frozen.number] = frozen  # filled in as it is sampled
                    self._changed()
                    trials.append(trial)
                    configs.append(sample_config(space, trial))
                    sampled(frozen)  # the members after it see it
            finally:
                internals.rebind(trials, self.storage)
        return trials, configs

    def flush(self) -> None:
        """Write the collected parameters, in one transaction on an RDB storage.

        Raises:
            ValueError: a parameter's distribution conflicts with the study's (Optuna's
                check); nothing is written then.
            optuna.exceptions.UpdateFinishedTrialError: a trial finished meanwhile.
        """
        params, self.params = self.params, []
        backend = internals.rdb(self.storage)
        if backend is None:
            for args in params:
                self.storage.set_trial_param(*args)
            return
        internals.write_params(backend, self.study_id, params, self.distributions)


def _passed_on(name: str) -> Any:
    def write(self: PackView, *args: Any, **kwargs: Any) -> Any:
        return getattr(self.storage, name)(*args, **kwargs)

    write.__name__ = name
    return write


# Every other write is the storage's (a sampler may keep notes on the study).
for _name in (
    "create_new_study",
    "delete_study",
    "set_study_user_attr",
    "set_study_system_attr",
    "create_new_trial",
    "set_trial_state_values",
    "set_trial_intermediate_value",
    "set_trial_user_attr",
):
    setattr(PackView, _name, _passed_on(_name))


class PackStart:
    """A pack's trials, started (under the budget lock) by :func:`start_pack` and then
    sampled (outside it) by :meth:`sample`."""

    def __init__(
        self,
        study: optuna.Study,
        view: PackView | None,
        trials: list[optuna.Trial],
        proposed: Sequence[dict[str, Any]],
    ) -> None:
        self.study, self.view, self.trials, self.proposed = study, view, trials, proposed

    def sample(
        self, space: SpaceSpec, asked: list[int]
    ) -> tuple[list[optuna.Trial], list[TrialConfig], dict[int, dict[str, Any]]]:
        """Sample the pack: its trials, their configurations, and the system attributes
        the sampler set on them (trial id -> key -> value) for the caller to write."""
        if self.view is None:  # the public path: each suggest samples and writes
            return self.trials, [sample_config(space, t) for t in self.trials], {}
        trials, configs = self.view.sample(space, asked, self.proposed)
        self.view.flush()
        return trials, configs, self.view.system


def start_pack(
    study: optuna.Study,
    k: int,
    asked: list[int],
    *,
    distributions: dict[str, Any],
    proposed: Sequence[dict[str, Any]] | None = None,
) -> PackStart:
    """Start ``k`` trials: waiting ones first, then new ones (which take the ``proposed``
    parameters while they last, sampled elsewhere), appending each trial's id to
    ``asked`` as it starts, so that a caller interrupted meanwhile can fail them.

    Through a :class:`PackView` where Optuna's private names are in place
    (``distributions``: see there); else each trial is asked with ``Study.ask``
    (proposed parameters enqueued first) and its parameters are written as sampled.
    """
    if internals.PRIVATE:
        view = PackView(study, distributions)
        view.ask(k, asked, None if proposed is None else len(proposed))
        return PackStart(study, view, [], proposed or ())
    for params in proposed or ():
        study.enqueue_trial(params, skip_if_exists=False)
    trials = []
    with warnings.catch_warnings():
        # sweep records heartbeats itself, outside Study.optimize, on purpose.
        warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")
        for _ in range(k):
            trial = study.ask()
            asked.append(internals.trial_id(study, trial))
            trials.append(trial)
    return PackStart(study, None, trials, ())
