"""A pack that runs out of device memory: split in halves and tried again, down to a trial
alone, which fails with the reason. The error is raised from a step on the CPU, as CUDA
raises it, so the splitting runs here."""

from __future__ import annotations

import torch

from sweep.config import parse_spec
from sweep.data import load_data
from sweep.dispatch._execute import run_job
from sweep.dispatch._messages import Job
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
