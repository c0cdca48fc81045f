"""Messages between the coordinator and its workers (picklable, sent over pipes)."""

from __future__ import annotations

from dataclasses import dataclass

from sweep.config import DataSpec
from sweep.dispatch._calibrate import StepCosts
from sweep.dispatch._memory import DeviceMemory
from sweep.train import Ended, EpochReport, TrainSettings, TrialTask


@dataclass(frozen=True)
class Job:
    """Trials for one slot: groups run one after another; a group of several is a pack."""

    job_id: int
    groups: tuple[tuple[TrialTask, ...], ...]
    data: DataSpec
    settings: TrainSettings

    @property
    def numbers(self) -> list[int]:
        return [t.number for g in self.groups for t in g]


@dataclass(frozen=True)
class Decision:
    """The coordinator's answer to an EpochReport: trial numbers to stop (pruned)."""

    stop: frozenset[int]


@dataclass(frozen=True)
class JobDone:
    job_id: int


@dataclass(frozen=True)
class JobFailed:
    """The job could not start or broke outside any trial (e.g. its data failed to load)."""

    job_id: int
    reason: str


@dataclass(frozen=True)
class Hello:
    """A worker is up on its device: its memory as the worker measured it, after opening
    the device and before loading any data (the coordinator sizes packs from it), and
    the device's step costs (the coordinator groups the slot's trials by them)."""

    pid: int
    device: str
    memory: DeviceMemory
    costs: StepCosts


@dataclass(frozen=True)
class Shutdown:
    pass


Item = EpochReport | Ended | JobDone | JobFailed
__all__ = [
    "Decision",
    "Ended",
    "EpochReport",
    "Hello",
    "Item",
    "Job",
    "JobDone",
    "JobFailed",
    "Shutdown",
]
