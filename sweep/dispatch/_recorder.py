"""Every write the coordinator makes on its trials, and what happens when one fails.

A pack's trials start, report and end together, so each write takes a batch: one
transaction where the storage allows (``sweep.study``'s writers). A batch that names
a trial another machine has finished meanwhile (failed as stale, when this machine
seemed gone) writes nothing; the batch is then written one trial at a time, and the
trials finished elsewhere are dropped here: their retry runs elsewhere.

Epoch values are held back for up to ``HOLD_SECONDS`` and written together (one
transaction for every epoch of every trial reported meanwhile, a trial's last ones
with its end) when the pruner judges the coordinator's own trials as it knows them
(median, percentile, none): nothing reads them from the storage meanwhile but
reports and other machines, which read the study once per heartbeat interval anyway.
Pruners that read each trial afresh (successive halving, Hyperband) get every epoch
written at once.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import optuna
from optuna.trial import FrozenTrial, TrialState

from sweep.checkpoint import ModelKeeper
from sweep.config import StudySection
from sweep.dispatch._heartbeat import Heartbeat
from sweep.dispatch._slots import Slot
from sweep.objectives import trial_values
from sweep.study import (
    OWNER_KEY,
    TrialEnd,
    fail_trial,
    finish_trials,
    owner_record,
    requeue,
    start_trials,
    write_intermediate,
)
from sweep.train import TrialResult, TrialTask

log = logging.getLogger("sweep")

T = TypeVar("T")

# Seconds epoch values may wait to be written with later ones (see the module's doc).
HOLD_SECONDS = 0.25


@dataclass
class Running:
    """A trial this coordinator started and has not yet recorded the end of."""

    trial: optuna.Trial
    frozen: FrozenTrial  # as this coordinator knows it: what the pruner judges
    trial_id: int
    task: TrialTask
    slot: Slot
    started: float = field(default_factory=time.monotonic)


_STATES = {"complete": TrialState.COMPLETE, "pruned": TrialState.PRUNED}


@dataclass(frozen=True)
class Ending:
    """A trial's end on its way to the storage, with what it came from."""

    run: Running
    result: TrialResult
    end: TrialEnd

    @classmethod
    def of(cls, run: Running, result: TrialResult, study: StudySection | None = None) -> Ending:
        """The end a worker's result records: its state, its value (and, in a study of
        several objectives, the values after the metric) and its attributes. A complete
        trial without a finite value, or without a value for one of the objectives, fails;
        one slower than the ``study``'s ``max_latency_ms`` is pruned, with the reason."""
        attrs: dict[str, Any] = {
            "epochs_run": result.epochs_run,
            "train_seconds": round(result.train_seconds, 4),
            "n_params": result.n_params,
            "pack_size": result.pack_size,
            **{k: v for k, v in result.metrics.items()},
        }
        if result.reason and result.outcome != "complete":
            key = "fail_reason" if result.outcome == "failed" else "prune_reason"
            attrs[key] = result.reason
        state = _STATES.get(result.outcome, TrialState.FAIL)
        value = result.value if state == TrialState.COMPLETE else None
        others: tuple[float, ...] = ()
        objectives = study.objectives if study is not None else ()
        slow = _over_latency(attrs, study.max_latency_ms if study is not None else None)
        if state == TrialState.COMPLETE and (value is None or not math.isfinite(value)):
            state, attrs["fail_reason"] = TrialState.FAIL, f"objective value {value}"
        elif state == TrialState.COMPLETE and slow:
            state, value, attrs["prune_reason"] = TrialState.PRUNED, None, slow
        elif state == TrialState.COMPLETE and objectives:
            try:
                others = tuple(trial_values(value, attrs, objectives)[1:])  # type: ignore[arg-type]
            except ValueError as e:
                state, attrs["fail_reason"] = TrialState.FAIL, str(e)
        constraints = _constraints(attrs, study) if state != TrialState.FAIL else {}
        return cls(run, result, TrialEnd(run.frozen, state, value, attrs, others, constraints))


def _constraints(attrs: dict[str, Any], study: StudySection | None) -> dict[str, float]:
    """The study's limits as Optuna's trial constraints (how far over each the trial is;
    at most 0: within), which TPE and the GP sampler keep their samples within."""
    if study is None:
        return {}
    out = {}
    for key, limit, attr in (
        ("max_params", study.max_params, "n_params"),
        ("max_latency_ms", study.max_latency_ms, "latency_ms"),
    ):
        if limit is not None and attrs.get(attr) is not None:
            out[key] = float(attrs[attr]) - float(limit)
    return out


def over_max_params(
    tasks: Sequence[TrialTask], limit: int | None, n_params: Callable[[TrialTask], int]
) -> list[TrialResult]:
    """The results of the ``tasks`` whose networks are over ``study.max_params``: pruned,
    untrained, with their size and the reason (a network's size follows from its
    configuration, so none of them need train)."""
    if limit is None:
        return []
    out = []
    for task in tasks:
        size = n_params(task)
        if size > limit:
            why = f"{size} parameters, over study.max_params {limit}"
            out.append(TrialResult(task.number, "pruned", reason=why, n_params=size))
    return out


def _over_latency(attrs: dict[str, Any], limit: float | None) -> str | None:
    """Why a trial with ``attrs`` is over the latency ``limit``, or None."""
    latency = attrs.get("latency_ms")
    if limit is None or latency is None or latency <= limit:
        return None
    return f"latency {latency:g} ms, over study.max_latency_ms {limit:g}"


def batch_or_each(write: Callable[[list[T]], None], items: list[T]) -> tuple[list[T], list[T]]:
    """``write(items)`` at once; if one of them was finished elsewhere, each alone.
    Returns (written, finished elsewhere)."""
    if not items:
        return [], []
    try:
        write(items)
        return items, []
    except optuna.exceptions.UpdateFinishedTrialError:
        written, gone = [], []
        for item in items:
            try:
                write([item])
                written.append(item)
            except optuna.exceptions.UpdateFinishedTrialError:
                gone.append(item)
        return written, gone


class Recorder:
    """Writes the starts, epoch values and ends of the coordinator's trials, keeps their
    heartbeat going until their end is written, and keeps the best models."""

    def __init__(
        self,
        study: optuna.Study,
        storage: optuna.storages.BaseStorage,
        heartbeat: Heartbeat,
        keeper: ModelKeeper | None,
        retries: int,
        hold: bool,
    ) -> None:
        self.study = study
        self.storage = storage
        self.heartbeat = heartbeat
        self.keeper = keeper
        self.retries = retries
        self.hold = hold
        self._owner = owner_record()
        # Epoch values not yet written: trial id -> step -> value, and whose they are.
        self._held: dict[int, dict[int, float]] = {}
        self._held_runs: dict[int, Running] = {}
        self._written = time.monotonic()

    def start(self, runs: Sequence[Running], system: dict[int, dict[str, Any]]) -> None:
        """Record a pack's trials as started here (their configuration, device, owner and
        first heartbeat), ``system``: attributes the sampler set on them."""
        start_trials(
            self.storage,
            {
                r.trial_id: {
                    "config": r.task.config.to_dict(),
                    "seed": r.task.seed,
                    "device": r.slot.device,
                    "worker": r.slot.name,
                    "worker_pid": r.slot.pid,
                }
                for r in runs
            },
            {r.trial_id: {**system.get(r.trial_id, {}), OWNER_KEY: self._owner} for r in runs},
        )
        for r in runs:
            self.heartbeat.add(r.trial_id)

    def step(self, epoch: int, runs: dict[int, Running], values: dict[int, float]) -> set[int]:
        """Note one epoch's values of trials (by number), and write them with any held back
        once that is due. Returns the trials another machine finished meanwhile (of this
        report or an earlier one): they stop here."""
        for n, run in runs.items():
            known = run.frozen.intermediate_values
            if epoch not in known:  # as Trial.report: a step already recorded is kept
                known[epoch] = values[n]
                self._held.setdefault(run.trial_id, {})[epoch] = values[n]
                self._held_runs[run.trial_id] = run
        if self.hold and time.monotonic() - self._written < HOLD_SECONDS:
            return set()
        return self.flush()

    def flush(self) -> set[int]:
        """Write every epoch value held back; returns the trials (by number) another
        machine finished meanwhile, which stop here."""
        self._written = time.monotonic()
        held, runs = self._held, self._held_runs
        self._held, self._held_runs = {}, {}
        _, gone = batch_or_each(
            lambda ids: write_intermediate(self.storage, {i: held[i] for i in ids}), list(held)
        )
        numbers = {runs[i].task.number for i in gone}
        for trial_id in gone:
            self.heartbeat.remove(trial_id)
        for n in sorted(numbers):
            log.warning("trial %s was finished elsewhere; it stops here", n)
        return numbers

    def finish(self, endings: list[Ending]) -> list[Ending]:
        """Record the ends (saving the weights of the complete trials that rank among
        the models kept first). Returns those finished elsewhere meanwhile, dropped."""
        self._save_models(endings)
        held = {e.run.trial_id: self._held.pop(e.run.trial_id, {}) for e in endings}
        for e in endings:
            self._held_runs.pop(e.run.trial_id, None)

        def write(batch: list[Ending]) -> None:
            steps = {e.run.trial_id: held[e.run.trial_id] for e in batch}
            finish_trials(self.study, [e.end for e in batch], steps)

        written, gone = batch_or_each(write, endings)
        for e in endings:  # beating until written, so that no one judges them stale
            self.heartbeat.remove(e.run.trial_id)
        for e in gone:
            log.warning(
                "trial %s was finished elsewhere; its result here is dropped", e.run.task.number
            )
        if self.keeper is not None:
            saved: dict[int, str] = {}
            for e in written:
                values = e.end.values() if e.end.state == TrialState.COMPLETE else None
                if values:
                    self.keeper.note(values, e.run.task.number)
                    if "model_artifact" in e.end.attrs:
                        saved[e.run.task.number] = e.end.attrs["model_artifact"]
            self.keeper.register(saved)
        return gone

    def _save_models(self, endings: list[Ending]) -> None:
        if self.keeper is None:
            return
        for e in endings:
            values = e.end.values() if e.end.state == TrialState.COMPLETE else None
            if e.result.weights is not None and values and self.keeper.wants(values):
                e.end.attrs["model_artifact"] = self.keeper.save(
                    e.run.trial, e.run.task.config, e.result.weights
                )

    def fail(self, run: Running, reason: str, *, retry: bool) -> tuple[bool, bool]:
        """Fail a running trial with ``reason`` and, with ``retry``, queue its parameters
        again. Returns (failed here, re-queued); not failed if it had finished."""
        self.heartbeat.remove(run.trial_id)
        held = self._held.pop(run.trial_id, None)
        self._held_runs.pop(run.trial_id, None)
        if held:  # its epochs so far, for the record
            try:
                write_intermediate(self.storage, {run.trial_id: held})
            except optuna.exceptions.UpdateFinishedTrialError:
                pass  # finished elsewhere: fail_trial below finds it so
        if not fail_trial(self.study, run.trial_id, reason):
            return False, False
        retried = retry and requeue(self.study, self.storage.get_trial(run.trial_id), self.retries)
        return True, bool(retried)
