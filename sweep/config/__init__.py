"""Study definitions: TOML files parsed once into typed, frozen dataclasses."""

from sweep.config._choices import (
    ACTIVATIONS,
    LOSSES,
    LOSSES_FOR_TASK,
    OPTIMIZERS,
    PACKABLE_OPTIMIZERS,
    SCHEDULERS,
    Task,
)
from sweep.config._load import fingerprint, load_spec, parse_spec, resolve_for_task, spec_to_table
from sweep.config._space import Choice, Dim, Fixed, FloatRange, IntRange, SpaceSpec
from sweep.config._spec import DataSpec, Pinned, RunSpec, StudySection, StudySpec, TrainSpec

__all__ = [
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
