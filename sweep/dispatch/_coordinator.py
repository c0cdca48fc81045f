"""The coordinator: one per machine; it alone writes to the storage.

It asks the sampler for trials as slots free up (a pack at a time), sends them
to the slots, turns each worker's per-epoch report into Optuna's report and
prune decision, and records every result. Workers only compute, so several
workers never write to one SQLite file at once; a proposer (``sweep.ahead``),
where one samples ahead, only reads.

Faults: a worker that dies fails its trials with the reason and re-queues
their parameters (up to ``retries``) and a new worker takes its slot; trials
of a coordinator that died are failed and re-queued by the next one on the
same host at once, and by any machine once their heartbeat is stale.
"""

from __future__ import annotations

import copy
import logging
import math
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from sweep.ahead import Proposer
from sweep.checkpoint import ModelKeeper
from sweep.config import StudySpec
from sweep.data import DataBundle
from sweep.dispatch._devices import group_tasks
from sweep.dispatch._messages import Decision, Ended, EpochReport, Job, JobDone, JobFailed
from sweep.dispatch._slots import InProcessSlot, ProcessSlot, Slot, WorkerDied
from sweep.errors import SweepError
from sweep.progress import Display, describe_config
from sweep.space import TrialConfig, trial_seed
from sweep.study import (
    OWNER_KEY,
    PackView,
    Snapshot,
    TrialEnd,
    budget_lock,
    counts,
    fail_orphans,
    fail_stale,
    fail_trial,
    finish_trials,
    judges_from_values,
    owner_record,
    recover_abandoned,
    requeue,
    write_attrs,
    write_intermediate,
)
from sweep.train import TrainSettings, TrialResult, TrialTask

log = logging.getLogger("sweep")

# The coordinator records heartbeats itself (it uses ask/tell, not Study.optimize).
warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed to be used")


# Seconds epoch values and trials' ends may wait to be written with later ones (see
# _write_held).
_HOLD_STEPS = 0.25


class TooManyFailures(SweepError):
    """Trials keep failing: the sweep stops instead of burning its time."""


@dataclass
class _Running:
    trial: optuna.Trial
    task: TrialTask
    slot: Slot
    started: float = field(default_factory=time.monotonic)


class _Heartbeat(threading.Thread):
    """Records a heartbeat for every running trial each ``interval`` seconds."""

    def __init__(self, storage: optuna.storages.BaseStorage, interval: float) -> None:
        super().__init__(daemon=True, name="sweep-heartbeat")
        self.storage = storage
        self.interval = interval
        self.ids: set[int] = set()
        self.lock = threading.Lock()
        self.halt = threading.Event()

    def add(self, trial_id: int) -> None:
        with self.lock:
            self.ids.add(trial_id)

    def remove(self, trial_id: int) -> None:
        with self.lock:
            self.ids.discard(trial_id)

    def run(self) -> None:
        while not self.halt.wait(self.interval):
            with self.lock:
                ids = list(self.ids)
            for trial_id in ids:
                try:
                    self.storage.record_heartbeat(trial_id)  # type: ignore[attr-defined]
                except Exception as e:  # a missed beat is not fatal; the next one may land
                    log.warning("heartbeat for trial id %s failed: %s", trial_id, e)


@dataclass
class RunStats:
    started: int = 0
    complete: int = 0
    pruned: int = 0
    failed: int = 0
    retried: int = 0
    recovered: list[int] = field(default_factory=list)
    wall_seconds: float = 0.0
    coordinator_seconds: float = 0.0  # sampler, storage and dispatch work of the coordinator
    sampler_seconds: float = 0.0  # of which: asking the sampler for trials and their parameters
    ahead_seconds: float = 0.0  # sampling done ahead in the proposer process, meanwhile


class Coordinator:
    """Runs a study's trials on a set of slots until the budget is met."""

    def __init__(
        self,
        *,
        study: optuna.Study,
        spec: StudySpec,
        data: DataBundle,
        budget: int,
        slots: list[Slot],
        pack: int,
        display: Display,
        keeper: ModelKeeper | None,
        heartbeat: float,
        ahead: Proposer | None = None,
    ) -> None:
        assert spec.task is not None
        self.study = study
        self.spec = spec
        self.data = data
        self.budget = budget
        self.slots = slots
        self.pack = max(1, pack)
        self.display = display
        self.keeper = keeper
        self.heartbeat_interval = heartbeat
        self.settings = TrainSettings(
            task=spec.task,
            epochs=spec.train.epochs,
            eval_every=spec.train.eval_every,
            keep_weights=keeper is not None and spec.study.keep_models > 0,
        )
        self.running: dict[int, _Running] = {}
        self.stats = RunStats()
        self._job_ids = 0
        self._owner = owner_record()
        self._consecutive_failures = 0
        self._failure_limit = min(10, max(3, budget))
        self._last_failure = ""
        self._heartbeat = _Heartbeat(study._storage, heartbeat)
        self._view: Snapshot | None = None  # what the pruner sees; see _report
        self._distributions: dict[str, Any] = {}  # see PackView
        # Held back for one write (see _write_held): epoch values of running trials, and
        # ends (_finish) with their trials' epoch values, by trial id.
        self._steps: dict[int, dict[int, float]] = {}
        self._ends: list[tuple[_Running, TrialResult, TrialEnd]] = []
        self._end_steps: dict[int, dict[int, float]] = {}
        self._held_written = time.monotonic()
        self._hold_steps = judges_from_values(study.pruner)
        self._view_read = 0.0
        self._ahead = ahead  # samples the next pack while this one trains (sweep.ahead)
        self._left = budget  # trials the budget leaves after the last pack started

    # -- the loop ---------------------------------------------------------------------------
    def run(self) -> RunStats:
        start = time.perf_counter()
        retries = self.spec.run.retries
        self.stats.recovered = (
            recover_abandoned(self.study, retries)
            + fail_stale(self.study, retries)
            + fail_orphans(self.study, self.heartbeat_interval)
        )
        self._heartbeat.start()
        last_stale = time.monotonic()
        self.display.begin()
        try:
            while True:
                t0 = time.perf_counter()
                if self._held_due():
                    self._write_held()
                if time.monotonic() - last_stale > self.heartbeat_interval:
                    self.stats.recovered += fail_stale(self.study, retries)
                    self.stats.recovered += fail_orphans(self.study, self.heartbeat_interval)
                    last_stale = time.monotonic()
                for slot in self.slots:
                    if slot.job is None and not self._fill(slot):
                        break
                busy = [s for s in self.slots if s.job is not None]
                if not busy:
                    self._write_ends()
                self.stats.coordinator_seconds += time.perf_counter() - t0
                if not busy:
                    finished, running = counts(self.study)
                    if finished >= self.budget or running == 0:
                        break
                    # Other machines still run the last trials; if one of them dies,
                    # its trials come back (stale) and this coordinator runs them.
                    time.sleep(min(2.0, self.heartbeat_interval))
                    continue
                for slot in self._ready(busy):
                    self._service(slot)
        except KeyboardInterrupt:
            self._write_ends_anyway()
            self._fail_running(list(self.running), "interrupted (Ctrl-C)", retry=True)
            raise
        except BaseException as e:
            self._write_ends_anyway()
            self._fail_running(list(self.running), f"sweep stopped: {e}", retry=True)
            raise
        finally:
            self._heartbeat.halt.set()
            for slot in self.slots:
                slot.stop()
            if self._ahead is not None:
                self._ahead.stop()
                self.stats.ahead_seconds = self._ahead.seconds
            self.display.end()
            self.stats.wall_seconds = time.perf_counter() - start
        return self.stats

    def _ready(self, busy: list[Slot]) -> list[Slot]:
        inproc = [s for s in busy if not s.waitables()]
        if inproc:
            return inproc
        objects: dict[Any, Slot] = {}
        for slot in busy:
            for obj in slot.waitables():
                objects[obj] = slot
        ready = wait(list(objects), timeout=self.heartbeat_interval)
        out: list[Slot] = []
        for obj in ready:
            if objects[obj] not in out:
                out.append(objects[obj])
        return out

    def _service(self, slot: Slot) -> None:
        try:
            item = slot.receive()
        except WorkerDied as e:
            t0 = time.perf_counter()
            self._worker_died(slot, str(e))
            self.stats.coordinator_seconds += time.perf_counter() - t0
            return
        t0 = time.perf_counter()
        if isinstance(item, EpochReport):
            slot.reply(Decision(frozenset(self._report(item))))
            self._show_slot(slot, f"epoch {item.epoch}/{self.settings.epochs}")
        elif isinstance(item, Ended):
            self._finish(item.results)
        elif isinstance(item, JobDone):
            self._job_done(slot, "its job ended without a result")
        elif isinstance(item, JobFailed):
            self._job_done(slot, item.reason)
        self.stats.coordinator_seconds += time.perf_counter() - t0

    # -- starting trials --------------------------------------------------------------------
    def _fill(self, slot: Slot) -> bool:
        """Give ``slot`` a job; False when the budget leaves nothing to start."""
        asked: list[int] = []
        try:
            tasks = self._start(slot, asked)
        except BaseException:
            # Trials asked but not yet running here (Ctrl-C, an error while sampling) have
            # no owner to recover them later: fail them now. They never trained.
            started = {run.trial._trial_id for run in self.running.values()}
            for trial_id in asked:
                if trial_id not in started:
                    fail_trial(self.study, trial_id, "interrupted before it started")
            raise
        if not tasks:
            return False
        self._job_ids += 1
        groups = group_tasks(tasks, self.data.n_features, self.data.n_outputs, slot.device)
        slot.submit(Job(self._job_ids, tuple(groups), self.spec.data, self.settings))
        self.stats.started += len(tasks)
        ahead = self._ahead
        if ahead is not None and self._left > 0:  # the next pack, sampled while this trains
            t0 = time.perf_counter()
            handover = None if ahead.handed_off else self.study.sampler
            ahead.request(min(self.pack, self._left), self._running_ids(), handover)
            if ahead.failure:
                self._drop_ahead(ahead)
            self.stats.sampler_seconds += time.perf_counter() - t0
        numbers = [t.number for t in tasks]
        what = (
            f"trial {numbers[0]}"
            if len(numbers) == 1
            else f"{len(numbers)} trials {numbers[0]}..{numbers[-1]}"
        )
        self._show_slot(slot, f"{what} started")
        return True

    def _start(self, slot: Slot, asked: list[int]) -> list[TrialTask]:
        """Ask for the trials the budget leaves room for (their ids appended to ``asked``
        as each is created), sample them, record them and mark them running here."""
        storage = self.study._storage
        backend: Any = getattr(storage, "_backend", storage)
        self._write_ends()  # the sampler and the budget count read the trials' states
        t0 = time.perf_counter()
        proposed = self._proposed()  # before the lock: it may wait for the proposer
        with budget_lock(backend, self.study.study_name):
            finished, running = counts(self.study)
            room = min(self.pack, self.budget - finished - running)
            if room <= 0:
                return []
            view = PackView(self.study, self._distributions)
            view.ask(room, asked, None if proposed is None else len(proposed))
        self._left = self.budget - finished - running - len(asked)
        trials, configs = view.sample(self.spec.space, asked, proposed or ())
        view.flush()
        self.stats.sampler_seconds += time.perf_counter() - t0
        tasks = [
            TrialTask(trial.number, config, trial_seed(self.spec.study.seed, trial.number))
            for trial, config in zip(trials, configs)
        ]
        write_attrs(
            storage,
            {
                trial._trial_id: {
                    "config": config.to_dict(),
                    "seed": task.seed,
                    "device": slot.device,
                    "worker": slot.name,
                    "worker_pid": slot.pid,
                }
                for trial, config, task in zip(trials, configs, tasks)
            },
            {
                trial._trial_id: {**view.system.get(trial._trial_id, {}), OWNER_KEY: self._owner}
                for trial in trials
            },
            first_heartbeat=True,
        )
        for trial, config, task in zip(trials, configs, tasks):
            self._heartbeat.add(trial._trial_id)
            self.running[trial.number] = _Running(trial, task, slot)
            self.display.trial_started(trial.number, slot.name, config)
        return tasks

    def _proposed(self) -> list[dict[str, Any]] | None:
        """The parameters the proposer sampled for this pack's new trials (waiting for
        them), or None: sample here. Once it holds the sampler, it samples every pack."""
        ahead = self._ahead
        if ahead is None or not ahead.handed_off:
            return None
        if not ahead.pending:  # none asked for (the last pack seemed to use the budget up)
            finished, running = counts(self.study)
            room = min(self.pack, self.budget - finished - running)
            if room <= 0:
                # Should a trial elsewhere fail meanwhile and free some budget, the pack
                # is sampled here, from a reseeded sampler (see _drop_ahead).
                self.study.sampler.reseed_rng()
                return None
            ahead.request(room, self._running_ids(), None)
        proposed = ahead.take() if ahead.pending else None
        if proposed is None:
            self._drop_ahead(ahead)
        return proposed

    def _running_ids(self) -> list[int]:
        return [run.trial._trial_id for run in self.running.values()]

    def _drop_ahead(self, ahead: Proposer) -> None:
        """The proposer failed: sample here from now on, from a reseeded sampler if the
        proposer had it (the one here has the random state the proposer started from)."""
        log.warning("sampling ahead stopped (%s); the sweep samples in turn", ahead.failure)
        if ahead.handed_off:
            self.study.sampler.reseed_rng()
        ahead.stop()
        self._ahead = None
        self.stats.ahead_seconds = ahead.seconds

    def _show_slot(self, slot: Slot, status: str) -> None:
        job = slot.job
        if job is None:
            self.display.slot_busy(slot.name, "idle")
            return
        live = [n for n in job.numbers if n in self.running]
        packs = ", ".join(str(len(g)) for g in job.groups)
        self.display.slot_busy(slot.name, f"{len(live)} running (packs {packs}) - {status}")

    # -- reports and results ----------------------------------------------------------------
    def _report(self, report: EpochReport) -> set[int]:
        """Record one epoch of a job's trials and decide which of them stop."""
        runs = {n: self.running[n] for n in report.values if n in self.running}
        if not runs:
            return set()
        gone = self._record_step(report.epoch, runs, report.values)
        live = [n for n in runs if n not in gone]
        pruner = self.study.pruner
        if not live or isinstance(pruner, optuna.pruners.NopPruner):
            return gone
        # What Trial.should_prune does, judged against one view of the study for the whole
        # report. Value-only pruners judge each trial as this coordinator knows it; the view
        # is kept current with this coordinator's results and re-read for other machines'.
        if judges_from_values(pruner):
            view = self._pruning_view()
            judged = {n: runs[n].trial._cached_frozen_trial for n in live}
        else:
            view = Snapshot(self.study)
            judged = {n: view.by_number[n] for n in live if n in view.by_number}
        return gone | {n for n, trial in judged.items() if pruner.prune(view, trial)}

    def _record_step(
        self, epoch: int, runs: dict[int, _Running], values: dict[int, float]
    ) -> set[int]:
        """Note one epoch's values and write them, with any held back, in one transaction.
        Returns the trials that another machine finished meanwhile (failed as stale): they
        stop here and are dropped.

        When the pruner judges from values (median, percentile), the trials it judges are
        this coordinator's own objects, so the writes are held back (``_held_due``) and
        a trial's values are written at the latest with its end. Pruners that read the
        study afresh (successive halving, Hyperband) get every epoch written at once.
        """
        for n, run in runs.items():
            known = run.trial._cached_frozen_trial.intermediate_values
            if epoch not in known:  # as Trial.report: a step already recorded is kept
                known[epoch] = values[n]
                self._steps.setdefault(n, {})[epoch] = values[n]
        return self._write_held() if self._held_due() else set()

    def _held_due(self) -> bool:
        """Whether what is held back is to be written now: at once unless the pruner
        judges from values, else once ``_HOLD_STEPS`` seconds have passed since the last
        such write."""
        return not self._hold_steps or time.monotonic() - self._held_written >= _HOLD_STEPS

    def _write_held(self) -> set[int]:
        """Write the epoch values and the ends held back; returns the running trials that
        another machine finished meanwhile (see ``_write_steps``)."""
        self._held_written = time.monotonic()
        gone = self._write_steps(list(self._steps))
        self._write_ends()
        return gone

    def _write_steps(self, numbers: list[int]) -> set[int]:
        """Write the held-back values of trials ``numbers`` (one transaction, or one per
        trial when one of them was finished elsewhere); returns those finished elsewhere."""
        storage = self.study._storage
        held = {n: self._steps.pop(n) for n in numbers if n in self._steps}
        pending = {n: steps for n, steps in held.items() if n in self.running}
        if not pending:
            return set()
        ids = {n: self.running[n].trial._trial_id for n in pending}
        gone: set[int] = set()
        try:
            write_intermediate(storage, {ids[n]: steps for n, steps in pending.items()})
        except optuna.exceptions.UpdateFinishedTrialError:
            for n, steps in pending.items():
                try:
                    write_intermediate(storage, {ids[n]: steps})
                except optuna.exceptions.UpdateFinishedTrialError:
                    gone.add(n)
        for n in gone:
            del self.running[n]
            self._heartbeat.remove(ids[n])
            log.warning("trial %s was finished elsewhere; it stops here", n)
        return gone

    def _pruning_view(self) -> Snapshot:
        now = time.monotonic()
        if self._view is None or now - self._view_read > self.heartbeat_interval:
            self._write_ends()  # the view is read back from the storage
            self._view = Snapshot(self.study)
            self._view_read = now
        return self._view

    def _finish(self, results: Sequence[TrialResult]) -> None:
        """Note the results that came together (a pack's end): this coordinator's view, its
        counts and display at once. The storage, with their epoch values: held back (and
        their heartbeats kept going) with the epoch values of running trials, and written
        with them (see ``_held_due``, ``_write_held``), at the latest before trials are
        sampled, before the study is read back and when the sweep stops."""
        held = {r.number: self._steps.pop(r.number) for r in results if r.number in self._steps}
        ends: list[tuple[_Running, TrialResult, TrialEnd]] = []
        for result in results:
            run = self.running.pop(result.number, None)
            if run is None:
                continue
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
            if state == TrialState.COMPLETE and (value is None or not math.isfinite(value)):
                state, attrs["fail_reason"] = TrialState.FAIL, f"objective value {value}"
            ends.append((run, result, (run.trial._cached_frozen_trial, state, value, attrs)))
        if not ends:
            return
        self._keep_models(ends)
        for run, result, _end in ends:
            if result.number in held:
                self._end_steps[run.trial._trial_id] = held[result.number]
        self._ends.extend(ends)
        if self._held_due():
            self._write_held()
        for run, result, (_, state, value, attrs) in ends:
            if self._view is not None:
                self._view.record(_finished_copy(run.trial, state, value))
            outcome = _OUTCOMES.get(state, "failed")
            reason = attrs.get("fail_reason", result.reason)
            self.display.trial_ended(
                result.number,
                outcome,
                value if outcome == "complete" else result.value,
                describe_config(run.task.config) if outcome != "failed" else f"{reason}",
            )
            self._count(outcome, reason)

    def _write_ends(self) -> None:
        """Write the ends held back (``_finish``) in one transaction, with their epoch
        values; then the kept models are registered. Ends another machine finished
        meanwhile (failed as stale) are dropped here and taken off the counts."""
        ends, self._ends = self._ends, []
        steps, self._end_steps = self._end_steps, {}
        if not ends:
            return
        try:
            finish_trials(self.study, [end for _, _, end in ends], steps)
            done = ends
        except optuna.exceptions.UpdateFinishedTrialError:
            done = []  # one of them was finished elsewhere: the others one at a time
            for item in ends:
                trial_id = item[0].trial._trial_id
                try:
                    finish_trials(
                        self.study,
                        [item[2]],
                        {trial_id: steps[trial_id]} if trial_id in steps else None,
                    )
                    done.append(item)
                except optuna.exceptions.UpdateFinishedTrialError:
                    # Another machine judged it stale and failed it; its retry runs there.
                    log.warning(
                        "trial %s was finished elsewhere; its result here is dropped",
                        item[1].number,
                    )
                    outcome = _OUTCOMES.get(item[2][1], "failed")
                    setattr(self.stats, outcome, getattr(self.stats, outcome) - 1)
        for run, _, _ in ends:  # beating until written, so that no one judges them stale
            self._heartbeat.remove(run.trial._trial_id)
        if self.keeper is not None:
            saved: dict[int, str] = {}
            for _, result, (_, state, value, attrs) in done:
                if state == TrialState.COMPLETE and value is not None:
                    self.keeper.note(value, result.number)
                    if "model_artifact" in attrs:
                        saved[result.number] = attrs["model_artifact"]
            self.keeper.register(saved)

    def _write_ends_anyway(self) -> None:
        """``_write_ends`` on the way out, where the storage itself may be what failed."""
        try:
            self._write_ends()
        except Exception as e:
            log.warning("results held back were not written: %s", e)

    def _keep_models(self, ends: list[tuple[_Running, TrialResult, TrialEnd]]) -> None:
        """Save the weights of complete trials that rank among the models kept; the
        artifact's name goes into the trial's attributes."""
        if self.keeper is None:
            return
        for run, result, (_, state, value, attrs) in ends:
            if (
                state == TrialState.COMPLETE
                and result.weights is not None
                and value is not None
                and self.keeper.wants(value)
            ):
                attrs["model_artifact"] = self.keeper.save(
                    run.trial, run.task.config, result.weights
                )

    def _count(self, outcome: str, reason: str | None) -> None:
        if outcome == "failed":
            self.stats.failed += 1
            self._consecutive_failures += 1
            self._last_failure = reason or ""
            if self._consecutive_failures >= self._failure_limit:
                raise TooManyFailures(
                    f"{self._consecutive_failures} trials in a row failed; "
                    f"the last: {self._last_failure}"
                )
        else:
            self._consecutive_failures = 0
            setattr(self.stats, outcome, getattr(self.stats, outcome) + 1)

    def _fail_running(self, numbers: list[int], reason: str, *, retry: bool) -> None:
        try:  # what the trials reported goes into their history first
            self._write_steps(numbers)
        except Exception as e:  # the storage itself may be what failed
            log.warning("held-back epoch values were not written: %s", e)
        for number in numbers:
            run = self.running.pop(number, None)
            if run is None:
                continue
            self._heartbeat.remove(run.trial._trial_id)
            if fail_trial(self.study, run.trial._trial_id, reason):
                if retry and requeue(
                    self.study,
                    self.study._storage.get_trial(run.trial._trial_id),
                    self.spec.run.retries,
                ):
                    self.stats.retried += 1
                self.stats.failed += 1
                self.display.trial_ended(number, "failed", None, reason)

    def _job_done(self, slot: Slot, reason: str) -> None:
        job = slot.job
        slot.job = None
        if job is not None:
            left = [n for n in job.numbers if n in self.running]
            self._finish([TrialResult(number=n, outcome="failed", reason=reason) for n in left])
        self._show_slot(slot, "idle")

    def _worker_died(self, slot: Slot, reason: str) -> None:
        job = slot.job
        slot.job = None
        if job is not None:
            left = [n for n in job.numbers if n in self.running]
            self._fail_running(left, f"{reason} on {slot.name}", retry=True)
        assert isinstance(slot, ProcessSlot)
        slot.stop()
        slot.start()
        slot.wait_ready()
        self._show_slot(slot, "restarted")


_STATES = {"complete": TrialState.COMPLETE, "pruned": TrialState.PRUNED}
_OUTCOMES = {state: outcome for outcome, state in _STATES.items()}


def _finished_copy(trial: optuna.Trial, state: TrialState, value: float | None) -> FrozenTrial:
    """The trial as the storage now holds it, as far as pruners read it (state, value,
    intermediate values), built without reading the storage back."""
    frozen = copy.copy(trial._cached_frozen_trial)
    frozen.state = state
    frozen.value = value if state == TrialState.COMPLETE else None
    return frozen


def make_slots(plans: list[Any], data: DataBundle) -> list[Slot]:
    """One in-process slot when there is a single slot; worker processes otherwise."""
    from sweep.dispatch._slots import start_slots

    if len(plans) == 1:
        import torch

        if plans[0].device == "cpu":
            torch.set_num_threads(plans[0].threads)
        return [InProcessSlot(plans[0].name, plans[0].device, data)]
    slots = [ProcessSlot(p.name, p.device, p.threads) for p in plans]
    start_slots(slots)
    return list(slots)


__all__ = ["Coordinator", "RunStats", "TooManyFailures", "make_slots", "TrialConfig"]
