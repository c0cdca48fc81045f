"""Every write the coordinator makes on its trials, and what happens when one fails.

A pack's trials start, report and end together, so each write takes a batch: one
transaction where the storage allows (``sweep.study``'s writers). A batch that names
a trial another machine has finished meanwhile (failed as stale, when this machine
seemed gone) writes nothing; the batch is then written one trial at a time, and the
trials finished elsewhere are dropped here: their retry runs elsewhere.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import optuna
from optuna.trial import FrozenTrial, TrialState

from sweep.checkpoint import ModelKeeper
from sweep.dispatch._heartbeat import Heartbeat
from sweep.dispatch._slots import Slot
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


@dataclass
class Running:
    """A trial this coordinator started and has not yet recorded the end of."""

    trial: optuna.Trial
    frozen: FrozenTrial  # as this coordinator knows it: what the pruner judges
    trial_id: int
    task: TrialTask
    slot: Slot
    started: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class Ending:
    """A trial's end on its way to the storage, with what it came from."""

    run: Running
    result: TrialResult
    end: TrialEnd


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
    ) -> None:
        self.study = study
        self.storage = storage
        self.heartbeat = heartbeat
        self.keeper = keeper
        self.retries = retries
        self._owner = owner_record()

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
        """Record one epoch's values of trials (by number). Returns the trials another
        machine finished meanwhile: they stop here."""
        new = []
        for n, run in runs.items():
            known = run.frozen.intermediate_values
            if epoch not in known:  # as Trial.report: a step already recorded is kept
                known[epoch] = values[n]
                new.append(n)

        def write(numbers: list[int]) -> None:
            write_intermediate(
                self.storage, {runs[n].trial_id: {epoch: values[n]} for n in numbers}
            )

        _, gone = batch_or_each(write, new)
        for n in gone:
            self.heartbeat.remove(runs[n].trial_id)
            log.warning("trial %s was finished elsewhere; it stops here", n)
        return set(gone)

    def finish(self, endings: list[Ending]) -> list[Ending]:
        """Record the ends (saving the weights of the complete trials that rank among
        the models kept first). Returns those finished elsewhere meanwhile, dropped."""
        self._save_models(endings)
        written, gone = batch_or_each(
            lambda batch: finish_trials(self.study, [e.end for e in batch]), endings
        )
        for e in endings:  # beating until written, so that no one judges them stale
            self.heartbeat.remove(e.run.trial_id)
        for e in gone:
            log.warning(
                "trial %s was finished elsewhere; its result here is dropped", e.run.task.number
            )
        if self.keeper is not None:
            saved: dict[int, str] = {}
            for e in written:
                if e.end.state == TrialState.COMPLETE and e.end.value is not None:
                    self.keeper.note(e.end.value, e.run.task.number)
                    if "model_artifact" in e.end.attrs:
                        saved[e.run.task.number] = e.end.attrs["model_artifact"]
            self.keeper.register(saved)
        return gone

    def _save_models(self, endings: list[Ending]) -> None:
        if self.keeper is None:
            return
        for e in endings:
            value = e.end.value
            if (
                e.end.state == TrialState.COMPLETE
                and e.result.weights is not None
                and value is not None
                and self.keeper.wants(value)
            ):
                e.end.attrs["model_artifact"] = self.keeper.save(
                    e.run.trial, e.run.task.config, e.result.weights
                )

    def fail(self, run: Running, reason: str, *, retry: bool) -> tuple[bool, bool]:
        """Fail a running trial with ``reason`` and, with ``retry``, queue its parameters
        again. Returns (failed here, re-queued); not failed if it had finished."""
        self.heartbeat.remove(run.trial_id)
        if not fail_trial(self.study, run.trial_id, reason):
            return False, False
        retried = retry and requeue(self.study, self.storage.get_trial(run.trial_id), self.retries)
        return True, bool(retried)
