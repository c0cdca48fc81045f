"""Running a Job on one device: its groups one after another, each a pack or a lone trial.

Shared by the in-process slot and the worker processes, so both train the
same way and speak the same protocol (see ``sweep.train._loop``).

A pack that runs out of device memory is split in two and each half tried again (its
trials start over; the epochs they had reported stand), down to a trial alone, which
then fails with the reason: one trial too large does not fail its pack partners, and
the coordinator counts one failure, not K. Any other device error (a device-side
assert, an illegal address) leaves the process's CUDA context unusable: the trials being
trained fail with it and ``DeviceBroken`` ends the job, so that a worker process exits and
the coordinator starts a new one in its slot (the job's other trials run again there).
"""

from __future__ import annotations

import gc
from collections.abc import Generator

import torch

from sweep._process import expect
from sweep.data import DataBundle
from sweep.dispatch._messages import Decision, Item, Job
from sweep.train import Ended, EpochReport, TrialResult, make_runner, train

JobGen = Generator[Item, "Decision | None", None]

# torch.cuda's name for it exists in every torch sweep admits (torch.OutOfMemoryError
# only in newer ones).
OutOfMemory: type[Exception] = torch.cuda.OutOfMemoryError


class DeviceBroken(Exception):
    """A device error after which this process cannot use the device again."""


def broken_device(e: BaseException) -> bool:
    """Whether ``e`` is a device error other than out of memory: torch's AcceleratorError
    where it has one, else a RuntimeError that CUDA raised."""
    if isinstance(e, OutOfMemory):
        return False
    accelerator = getattr(torch, "AcceleratorError", None)
    if accelerator is not None and isinstance(e, accelerator):
        return True
    return isinstance(e, RuntimeError) and "CUDA error" in str(e)


def describe(e: BaseException) -> str:
    """A one-line reason for a trial that raised."""
    if isinstance(e, OutOfMemory):
        first = str(e).strip().splitlines()[0] if str(e).strip() else ""
        return f"out of memory: {first}"[:500]
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text}"[:500] if text else type(e).__name__


def _free_memory(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def run_job(job: Job, data: DataBundle, device: torch.device) -> JobGen:
    """Train ``job`` on ``device``; yields EpochReports (send back a Decision) and Ended items."""
    pending = list(job.groups)
    while pending:
        group = pending.pop(0)
        live = {t.number for t in group}
        failure: str | None = None
        out_of_memory = broken = False
        try:
            runner = make_runner(group, data.n_features, data.n_outputs, job.settings, device)
            gen = train(runner, data, job.settings)
            reply: frozenset[int] | None = None
            while True:
                try:
                    item = gen.send(reply)  # type: ignore[arg-type]
                except StopIteration:
                    break
                reply = None
                if isinstance(item, Ended):
                    live -= {r.number for r in item.results}
                    yield item
                else:
                    decision = yield expect(item, EpochReport, "a step of training")
                    reply = decision.stop if decision is not None else None
        except Exception as e:  # a trial's own error fails its trials, not the worker
            failure, out_of_memory = describe(e), isinstance(e, OutOfMemory)
            broken = broken_device(e)
        finally:
            runner = gen = None  # type: ignore[assignment]
        if failure is not None and not broken:
            # After an error (CUDA out of memory above all) give the memory back before
            # the next group; on the normal path dropping the runner is enough. A broken
            # device is not touched again.
            _free_memory(device)
        if out_of_memory and len(live) > 1:  # the halves again, first
            rest = tuple(t for t in group if t.number in live)
            pending[:0] = [rest[: len(rest) // 2], rest[len(rest) // 2 :]]
            continue
        if failure is not None and live:
            yield Ended(
                tuple(
                    TrialResult(number=n, outcome="failed", reason=failure, pack_size=len(group))
                    for n in sorted(live)
                )
            )
        if broken:
            raise DeviceBroken(failure)
