"""Study definitions: TOML files parsed once into typed, frozen dataclasses.

``DataSpec`` (the ``[data]`` section) is defined in :mod:`sweep.data`, which
parses each source's options; it is re-exported here, imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sweep._choices import (
    ACTIVATIONS,
    LOSSES,
    LOSSES_FOR_TASK,
    OPTIMIZERS,
    PACKABLE_OPTIMIZERS,
    SCHEDULERS,
    Task,
)
from sweep.config._known import grid_points
from sweep.config._load import fingerprint, load_spec, parse_spec, resolve_for_task, spec_to_table
from sweep.config._space import Choice, Dim, Fixed, FloatRange, IntRange, SpaceSpec
from sweep.config._spec import Pinned, RunSpec, StudySection, StudySpec, TrainSpec

if TYPE_CHECKING:
    from sweep.data import DataSpec

__all__ = [
    "grid_points",
    "ACTIVATIONS",
    "LOSSES",
    "LOSSES_FOR_TASK",
    "OPTIMIZERS",
    "PACKABLE_OPTIMIZERS",
    "SCHEDULERS",
    "Choice",
    "DataSpec",
    "Dim",
    "FloatRange",
    "Fixed",
    "IntRange",
    "Pinned",
    "RunSpec",
    "SpaceSpec",
    "StudySection",
    "StudySpec",
    "Task",
    "TrainSpec",
    "fingerprint",
    "load_spec",
    "parse_spec",
    "resolve_for_task",
    "spec_to_table",
]


def __getattr__(name: str) -> Any:
    if name == "DataSpec":
        from sweep.data import DataSpec

        return DataSpec
    raise AttributeError(f"module 'sweep.config' has no attribute {name!r}")
