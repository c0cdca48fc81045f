"""The coordinator: one per machine; it alone writes to the storage.

It starts trials as slots free up (a pack at a time, from its trial source), sends
them to the slots, turns each worker's per-epoch report into Optuna's report and
prune decision, and records every result (through its recorder). Workers only
compute, so several workers never write to one SQLite file at once; a proposer
(``sweep.ahead``), where one samples ahead, only reads.

Faults: a worker that dies fails its trials with the reason and re-queues their
parameters (up to ``retries``) and a new worker takes its slot; trials of a
coordinator that died are failed and re-queued by the next one on the same host at
once, and by any machine once their heartbeat is stale.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import wait
from typing import Any

import optuna
from optuna.trial import TrialState

from sweep.checkpoint import ModelKeeper
from sweep.config import StudySpec
from sweep.data import DataBundle
from sweep.dispatch._devices import group_tasks
from sweep.dispatch._heartbeat import Heartbeat
from sweep.dispatch._messages import Decision, Ended, EpochReport, Job, JobDone, JobFailed
from sweep.dispatch._pruning import Judge
from sweep.dispatch._recorder import Ending, Recorder, Running, over_max_params
from sweep.dispatch._slots import ProcessSlot, Slot, WorkerDied
from sweep.dispatch._source import InTurn, TrialSource
from sweep.dispatch._stops import Stops
from sweep.errors import TooManyFailures
from sweep.model import Layout
from sweep.progress import Display, describe_config, describe_trials
from sweep.space import trial_seed
from sweep.study import (
    StopRule,
    budget_lock,
    counts,
    fail_orphans,
    fail_stale,
    fail_trial,
    recover_abandoned,
)
from sweep.study import _optuna_internals as internals
from sweep.train import TrainSettings, TrialResult, TrialTask

_OUTCOMES = {TrialState.COMPLETE: "complete", TrialState.PRUNED: "pruned"}


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
    # Why the run ended: "budget met", "time limit", "target reached" or "plateau"
    # (Ctrl-C and too many failures raise), and what decided it.
    stopped: str = "budget met"
    stop_detail: str = ""


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
        source: TrialSource | None = None,
        deadline: float | None = None,
        rule: StopRule | None = None,
    ) -> None:
        if spec.task is None:
            raise ValueError("the coordinator needs a spec whose task is resolved")
        self.study = study
        self.storage = internals.storage_of(study)
        self.spec = spec
        self.data = data
        self.budget = budget
        self.slots = slots
        self.pack = max(1, pack)
        self.display = display
        self.heartbeat_interval = heartbeat
        self.settings = TrainSettings(
            task=spec.task,
            epochs=spec.train.epochs,
            eval_every=spec.train.eval_every,
            keep_weights=keeper is not None and spec.study.keep_models > 0,
        )
        self.running: dict[int, Running] = {}
        self.stats = RunStats()
        self.source = source or InTurn(study)
        self.stops = Stops(study, heartbeat, deadline, rule)
        self._heartbeat = Heartbeat(self.storage, heartbeat)
        self.judge = Judge(study, self.storage, heartbeat)
        self.recorder = Recorder(
            study, self.storage, self._heartbeat, keeper, spec.run.retries, self.judge.from_values
        )
        self._gone: set[int] = set()  # finished elsewhere; their job is told to stop them
        self._job_ids = 0
        self._consecutive_failures = 0
        self._failure_limit = min(10, max(3, budget))
        self._last_failure = ""

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
            # The study's trials may already call for its stop: then nothing starts.
            stopped_before = self.stops.at_start()
            while not stopped_before:
                t0 = time.perf_counter()
                if time.monotonic() - last_stale > self.heartbeat_interval:
                    self.stats.recovered += fail_stale(self.study, retries)
                    self.stats.recovered += fail_orphans(self.study, self.heartbeat_interval)
                    last_stale = time.monotonic()
                for slot in self.slots:
                    if slot.job is None and (self.stops.reason() or not self._fill(slot)):
                        break
                busy = [s for s in self.slots if s.job is not None]
                self.stats.coordinator_seconds += time.perf_counter() - t0
                if not busy:
                    finished, running = counts(self.study)
                    if finished >= self.budget or running == 0 or self.stops.reason():
                        break
                    # Other machines still run the last trials; if one of them dies,
                    # its trials come back (stale) and this coordinator runs them.
                    time.sleep(min(2.0, self.heartbeat_interval))
                    continue
                for slot in self._ready(busy):
                    self._service(slot)
        except KeyboardInterrupt:
            self._fail_running(list(self.running), "interrupted (Ctrl-C)", retry=True)
            raise
        except BaseException as e:
            self._fail_running(list(self.running), f"sweep stopped: {e}", retry=True)
            raise
        finally:
            self._heartbeat.stop()
            for slot in self.slots:
                slot.stop()
            self.source.stop()
            self.stats.ahead_seconds = self.source.seconds
            self.display.end()
        return self._ended(start)

    def _ended(self, start: float) -> RunStats:
        self.stats.wall_seconds = time.perf_counter() - start
        self.stats.stopped, self.stats.stop_detail = self.stops.why, self.stops.detail
        return self.stats

    def _ready(self, busy: list[Slot]) -> list[Slot]:
        inproc = [s for s in busy if not s.waitables()]
        if inproc:
            return inproc
        objects: dict[Any, Slot] = {}
        for slot in busy:
            for obj in slot.waitables():
                objects[obj] = slot
        ready = wait(list(objects), timeout=self.heartbeat_interval / 2)
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
        tasks: list[TrialTask] = []
        while not tasks:  # until a trial within the size limit starts, or none can
            asked: list[int] = []
            try:
                started = self._start(slot, asked)
            except BaseException:
                # Trials asked but not yet running here (Ctrl-C, an error while sampling)
                # have no owner to recover them later: fail them now. They never trained.
                running = {run.trial_id for run in self.running.values()}
                for trial_id in asked:
                    if trial_id not in running:
                        fail_trial(self.study, trial_id, "interrupted before it started")
                raise
            if not started:
                return False
            over = over_max_params(started, self.spec.study.max_params, self._n_params)
            self._finish(over)  # never trained: pruned, with their size and the reason
            tasks = [t for t in started if t.number not in {r.number for r in over}]
            if not tasks and self.stops.reason():
                return False
        self._job_ids += 1
        groups = group_tasks(tasks, slot.costs, self.data.n_features, self.data.n_outputs)
        slot.submit(Job(self._job_ids, tuple(groups), self.spec.data, self.settings))
        self.stats.started += len(tasks)
        self._show_slot(slot, f"{describe_trials([t.number for t in tasks])} started")
        return True

    def _room(self) -> int:
        finished, running = counts(self.study)
        return self.budget - finished - running

    def _start(self, slot: Slot, asked: list[int]) -> list[TrialTask]:
        """Start the trials the budget leaves room for (their ids appended to ``asked``
        as each is created), sample them, record them and mark them running here."""
        t0 = time.perf_counter()
        running_ids = [run.trial_id for run in self.running.values()]
        # Before the lock: it may wait for parameters sampled elsewhere.
        proposed = self.source.proposals(self._room, running_ids)
        with budget_lock(self.storage, self.study.study_name):
            room = self._room()
            if room <= 0:
                return []
            pack = self.source.start(min(self.pack, room), asked, proposed)
        left = room - len(asked)
        trials, configs, system = pack.sample(self.spec.space, asked)
        self.stats.sampler_seconds += time.perf_counter() - t0
        runs = [
            Running(
                trial,
                internals.frozen(self.study, trial),
                internals.trial_id(self.study, trial),
                TrialTask(trial.number, config, trial_seed(self.spec.study.seed, trial.number)),
                slot,
            )
            for trial, config in zip(trials, configs)
        ]
        self.recorder.start(runs, system)
        for run in runs:
            self.running[run.task.number] = run
            self.display.trial_started(run.task.number, slot.name, run.task.config)
        t1 = time.perf_counter()
        self.source.started(left, [run.trial_id for run in self.running.values()])
        self.stats.sampler_seconds += time.perf_counter() - t1
        return [run.task for run in runs]

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
        if reason := self.stops.reason():  # every trial of the report stops, to run again later
            self._fail_running(list(runs), f"stopped: {reason}", retry=True)
            return set(report.values)
        limit = self.spec.run.trial_timeout
        late = {n for n, r in runs.items() if limit and time.monotonic() - r.started > limit}
        if late:  # a retry would run as long: failed for good, and counted as failures
            why = f"trial time limit ({limit:g} s) passed"
            for n in sorted(late):
                run = self.running.pop(n)
                if self.recorder.fail(run, why, retry=False)[0]:
                    self.display.trial_ended(n, "failed", None, why)
                    self._count("failed", why)
            runs = {n: r for n, r in runs.items() if n not in late}
        if runs:
            # Held-back values of other jobs' trials may be written here too: those of
            # them finished elsewhere are told to stop at their own job's next report.
            for n in self.recorder.step(report.epoch, runs, report.values):
                self.running.pop(n, None)
                self._gone.add(n)
        gone = self._gone & set(report.values)
        self._gone -= gone
        live = {n: (r.trial_id, r.frozen) for n, r in runs.items() if n not in gone}
        # Several objectives: each is judged against the trials of similar size.
        sizes = {n: self._n_params(runs[n].task) for n in live} if self.judge.multi else None
        return late | gone | self.judge.stopped(live, sizes)

    def _n_params(self, task: TrialTask) -> int:
        return Layout.of(task.config, self.data.n_features, self.data.n_outputs).n_parameters

    def _finish(self, results: Sequence[TrialResult]) -> None:
        """Record the results that came together (a pack's end)."""
        endings: list[Ending] = []
        for result in results:
            self._gone.discard(result.number)
            run = self.running.pop(result.number, None)
            if run is None:
                continue
            endings.append(Ending.of(run, result, self.spec.study))
        dropped = {id(e) for e in self.recorder.finish(endings)}
        for e in endings:
            if id(e) in dropped:
                continue  # another machine judged it stale and failed it; it runs there
            self.judge.ended(e.end)
            self.stops.ended(e.result.number, e.end.state, e.end.value)
            outcome = _OUTCOMES.get(e.end.state, "failed")
            reason = e.end.attrs.get("fail_reason", e.result.reason)
            self.display.trial_ended(
                e.result.number,
                outcome,
                e.end.value if outcome == "complete" else e.result.value,
                describe_config(e.run.task.config) if outcome != "failed" else f"{reason}",
            )
            self._count(outcome, reason)

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
        for number in numbers:
            run = self.running.pop(number, None)
            if run is None:
                continue
            failed, retried = self.recorder.fail(run, reason, retry=retry)
            if failed:
                self.stats.retried += retried
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
        if not isinstance(slot, ProcessSlot):
            raise TypeError(f"slot {slot.name} has no worker process to restart")
        slot.stop()
        slot.start()
        slot.wait_ready()
        self._show_slot(slot, "restarted")


__all__ = ["Coordinator", "RunStats"]
