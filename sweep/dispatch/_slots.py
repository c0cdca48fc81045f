"""Slots: where jobs run. A slot is a worker process on a device, or - when a
sweep has a single slot - the coordinator's own process.

Both kinds speak one protocol: ``submit`` a Job, ``receive`` its items one at
a time (EpochReport, Ended, JobDone, JobFailed), ``reply`` to each report with
a Decision.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from multiprocessing.connection import Connection
from typing import Any

import torch

from sweep._process import exit_reason, expect
from sweep.data import DataBundle
from sweep.dispatch._calibrate import StepCosts, step_costs
from sweep.dispatch._execute import JobGen, run_job
from sweep.dispatch._memory import DeviceMemory, measure_memory
from sweep.dispatch._messages import Decision, Hello, Item, Job, JobDone, Shutdown


class WorkerDied(Exception):
    """The worker process of a slot ended while it had a job."""


class Slot:
    """Base of both slot kinds."""

    name: str
    device: str
    job: Job | None = None
    pid: int | None = None
    # The device's memory as the slot's process measured it when it started.
    memory: DeviceMemory | None = None
    # The device's step costs as the slot's process measured them (``step_costs``), set
    # once it has started; its jobs' trials are grouped by them.
    costs: StepCosts

    def submit(self, job: Job) -> None:
        raise NotImplementedError

    def receive(self) -> Item:
        raise NotImplementedError

    def reply(self, decision: Decision) -> None:
        raise NotImplementedError

    def waitables(self) -> list[Any]:
        """Objects for ``multiprocessing.connection.wait``; empty if always ready."""
        return []

    def stop(self) -> None:
        pass


class InProcessSlot(Slot):
    """Runs jobs inside the coordinator: no process to start, nothing to copy."""

    def __init__(self, name: str, device: str, data: DataBundle) -> None:
        self.name = name
        self.device = device
        # This process trains on the device, so it opens it: measured before the data
        # move there, as a worker measures it.
        self.memory = measure_memory(torch.device(device))
        self.costs = step_costs(torch.device(device))
        self.data = data.to(device)
        self.pid = os.getpid()
        self._gen: JobGen | None = None
        self._pending: Decision | None = None

    def submit(self, job: Job) -> None:
        self.job = job
        self._gen = run_job(job, self.data, torch.device(self.device))
        self._pending = None

    def receive(self) -> Item:
        if self._gen is None or self.job is None:
            raise RuntimeError(f"{self.name}: receive() without a job")
        pending, self._pending = self._pending, None
        try:
            return self._gen.send(pending)  # type: ignore[arg-type]
        except StopIteration:
            self._gen = None
            return JobDone(self.job.job_id)

    def reply(self, decision: Decision) -> None:
        self._pending = decision

    def stop(self) -> None:
        if self._gen is not None:
            self._gen.close()
            self._gen = None


class ProcessSlot(Slot):
    """A worker process on one device, with its own torch threads.

    The worker is a fresh interpreter (``python -m sweep.dispatch._worker``) joined
    to the coordinator by a socket pair: unlike multiprocessing's spawn, it never
    re-imports the user's main script, so ``run_study`` works from any script or
    notebook.
    """

    def __init__(self, name: str, device: str, threads: int) -> None:
        self.name = name
        self.device = device
        self.threads = threads
        self.conn: Connection | None = None
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        ours, theirs = socket.socketpair()
        env = dict(os.environ)
        env.setdefault("PYTHONUNBUFFERED", "1")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sweep.dispatch._worker",
                str(theirs.fileno()),
                self.device,
                str(self.threads),
            ],
            pass_fds=(theirs.fileno(),),
            env=env,
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self.conn = Connection(ours.detach())
        self.job = None

    def _conn(self) -> Connection:
        if self.conn is None:
            raise RuntimeError(f"{self.name}: the worker is not started")
        return self.conn

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Wait for the worker's Hello (it imports torch first: seconds)."""
        conn = self._conn()
        try:
            if not conn.poll(timeout):
                raise WorkerDied(f"{self.name}: the worker did not start within {timeout:.0f} s")
            hello = conn.recv()
        except (EOFError, OSError):
            raise WorkerDied(
                f"{self.name}: the worker ended while starting ({self.exit_reason()})"
            ) from None
        hello = expect(hello, Hello, f"{self.name}: the worker's first message")
        self.pid, self.memory, self.costs = hello.pid, hello.memory, hello.costs

    def submit(self, job: Job) -> None:
        conn = self._conn()
        self.job = job
        try:
            conn.send(job)
        except (BrokenPipeError, OSError):
            pass  # the worker died; receive() will say so

    def receive(self) -> Item:
        conn = self._conn()
        try:
            return conn.recv()
        except (EOFError, OSError):
            raise WorkerDied(f"worker died ({self.exit_reason()})") from None

    def reply(self, decision: Decision) -> None:
        conn = self._conn()
        try:
            conn.send(decision)
        except (BrokenPipeError, OSError):
            pass  # the worker died; receive() will say so

    def waitables(self) -> list[Any]:
        # A dead worker's end of the socket closes: the connection becomes readable (EOF).
        return [self.conn]

    def exit_reason(self) -> str:
        return exit_reason(self.process)

    def stop(self, timeout: float = 5.0) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                if self.job is None and self.conn is not None:
                    self.conn.send(Shutdown())
                    self.process.wait(timeout)
            except (BrokenPipeError, OSError, subprocess.TimeoutExpired):
                pass
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        if self.conn is not None:
            self.conn.close()
        self.process = None
        self.conn = None


def start_slots(slots: list[ProcessSlot]) -> None:
    """Start every worker, then wait for all: their start-ups overlap."""
    for slot in slots:
        slot.start()
    deadline = time.monotonic() + 180.0
    for slot in slots:
        slot.wait_ready(max(1.0, deadline - time.monotonic()))


def make_slots(plans: list[Any], data: DataBundle) -> list[Slot]:
    """One in-process slot when there is a single slot; worker processes otherwise."""
    if len(plans) == 1:
        if plans[0].device == "cpu":
            torch.set_num_threads(plans[0].threads)
        return [InProcessSlot(plans[0].name, plans[0].device, data)]
    slots = [ProcessSlot(p.name, p.device, p.threads) for p in plans]
    start_slots(slots)
    return list(slots)
