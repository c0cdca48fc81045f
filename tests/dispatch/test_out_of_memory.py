"""Device errors in a job. Out of memory: the pack is split in halves and tried again,
down to a trial alone, which fails with the reason. Any other device error: the trials
fail and the worker exits, to be replaced. The errors are raised from a step on the CPU,
as CUDA raises them, so the handling runs here."""

from __future__ import annotations

import multiprocessing

import pytest
import torch

from sweep.config import parse_spec
from sweep.data import load_data
from sweep.dispatch._execute import DeviceBroken, run_job
from sweep.dispatch._messages import Hello, Job
from sweep.dispatch._worker import DEVICE_BROKEN_EXIT, worker_main
from sweep.space import TrialConfig
from sweep.train import Ended, TrainSettings, TrialResult, TrialTask
from sweep.train._stacked import StackedRunner

STEP = StackedRunner.step


def _job(n: int) -> tuple[Job, object]:
    spec = parse_spec({"study": {"name": "x"}, "data": {"source": "moons", "n_samples": 100}})
    config = TrialConfig(
        widths=(4,), activation="relu", loss="bce", optimizer="adam", lr=0.01, batch_size=16
    )
    tasks = tuple(TrialTask(i, config, i) for i in range(n))
    return Job(1, (tasks,), spec.data, TrainSettings("binary", 2)), load_data(spec.data)


def _ended(job: Job, data) -> dict[int, TrialResult]:
    out: dict[int, TrialResult] = {}
    for item in run_job(job, data, torch.device("cpu")):
        if isinstance(item, Ended):
            out.update({r.number: r for r in item.results})
    return out


def _raise(self: StackedRunner) -> None:
    raise torch.cuda.OutOfMemoryError(
        f"CUDA out of memory. Tried to allocate 2.00 GiB (a pack of {len(self.numbers)})"
    )


def test_a_pack_too_large_for_the_device_is_split_until_it_fits(monkeypatch) -> None:
    def step(self, x, y):
        if len(self.numbers) > 2:
            _raise(self)
        return STEP(self, x, y)

    monkeypatch.setattr(StackedRunner, "step", step)
    ended = _ended(*_job(7))  # 7 -> 3 + 4 -> 1 + 2 + 2 + 2
    assert sorted(ended) == list(range(7))
    assert all(r.outcome == "complete" for r in ended.values())
    assert sorted(r.pack_size for r in ended.values()) == [1, 2, 2, 2, 2, 2, 2]


def test_a_trial_too_large_alone_fails_alone(monkeypatch) -> None:
    def step(self, x, y):
        if 3 in self.numbers:
            _raise(self)
        return STEP(self, x, y)

    monkeypatch.setattr(StackedRunner, "step", step)
    ended = _ended(*_job(6))
    failed = {n: r for n, r in ended.items() if r.outcome == "failed"}
    assert list(failed) == [3]
    assert failed[3].reason.startswith("out of memory: CUDA out of memory. Tried to allocate")
    assert all(ended[n].outcome == "complete" for n in (0, 1, 2, 4, 5))


def test_other_errors_fail_the_pack_without_splitting(monkeypatch) -> None:
    calls: list[int] = []

    def step(self, x, y):
        calls.append(len(self.numbers))
        raise ValueError("not a memory error")

    monkeypatch.setattr(StackedRunner, "step", step)
    ended = _ended(*_job(4))
    assert calls == [4]
    assert all(r.outcome == "failed" and "ValueError" in r.reason for r in ended.values())


def test_one_trial_out_of_memory_fails_with_the_reason(monkeypatch) -> None:
    monkeypatch.setattr(StackedRunner, "step", lambda self, x, y: _raise(self))
    ended = _ended(*_job(1))
    assert ended[0].outcome == "failed" and ended[0].reason.startswith("out of memory")


def _illegal_address(self, x, y):
    if 0 in self.numbers:
        raise RuntimeError("CUDA error: an illegal memory access was encountered")
    return STEP(self, x, y)


def _two_groups() -> tuple[Job, object]:
    job, data = _job(3)
    (tasks,) = job.groups
    return Job(1, (tasks[:2], tasks[2:]), job.data, job.settings), data


def test_a_broken_device_fails_its_trials_and_ends_the_job(monkeypatch) -> None:
    monkeypatch.setattr(StackedRunner, "step", _illegal_address)
    job, data = _two_groups()
    ended: dict[int, TrialResult] = {}
    with pytest.raises(DeviceBroken):
        for item in run_job(job, data, torch.device("cpu")):
            if isinstance(item, Ended):
                ended.update({r.number: r for r in item.results})
    assert sorted(ended) == [0, 1]  # trial 2, in the next group, never ran here
    assert all("CUDA error: an illegal memory access" in r.reason for r in ended.values())


def test_a_worker_whose_device_broke_exits_for_a_new_one(monkeypatch) -> None:
    # The real worker loop, in a forked process that inherits the injected error.
    monkeypatch.setattr(StackedRunner, "step", _illegal_address)
    job, _ = _two_groups()
    ours, theirs = multiprocessing.Pipe()
    worker = multiprocessing.get_context("fork").Process(
        target=worker_main, args=(theirs, "cpu", 1), daemon=True
    )
    worker.start()
    try:
        assert isinstance(ours.recv(), Hello)
        ours.send(job)
        first = ours.recv()
        assert isinstance(first, Ended) and sorted(r.number for r in first.results) == [0, 1]
        worker.join(timeout=60)
        assert worker.exitcode == DEVICE_BROKEN_EXIT
    finally:
        if worker.is_alive():
            worker.kill()
