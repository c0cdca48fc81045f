"""The spec a run runs: the command line's overrides applied, the task filled in from the
data, and the stop settings checked against the metric."""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

from sweep.config import StudySpec, resolve_for_task
from sweep.config._choices import LOSSES_FOR_TASK
from sweep.config._space import Choice, Dim, Fixed
from sweep.config._spec import parse_duration
from sweep.errors import ConfigError, SpecValueError
from sweep.metrics import Objective
from sweep.model import Layout


def with_overrides(
    spec: StudySpec,
    *,
    n_trials: int | None = None,
    seed: int | None = None,
    devices: str | None = None,
    per_device: int | None = None,
    pack: int | str | None = None,
    pinned: str | None = None,
    timeout: float | str | None = None,
    target: float | None = None,
) -> StudySpec:
    """The spec with command-line overrides applied and validated.

    Raises:
        ConfigError: naming the flag and what is wrong with it.
    """
    study, run = spec.study, spec.run
    try:
        if n_trials is not None:
            study = dataclasses.replace(study, trials=n_trials)
        if seed is not None:
            study = dataclasses.replace(study, seed=seed)
        if devices is not None:
            run = dataclasses.replace(run, devices=devices)
        if per_device is not None:
            run = dataclasses.replace(run, per_device=per_device)
        if pack is not None:
            run = dataclasses.replace(run, pack=pack_value(pack))
        if timeout is not None:
            study = dataclasses.replace(study, timeout=parse_duration(timeout))
        if target is not None:
            study = dataclasses.replace(study, target=float(target))
    except SpecValueError as e:
        raise ConfigError(f"--{e.key.replace('_', '-')}", "", e.message) from None
    spec = dataclasses.replace(spec, study=study, run=run)
    if pinned is not None:
        try:
            chosen = spec.pinned_config(pinned)
        except SpecValueError as e:
            raise e.to_config_error(spec.path) from None
        study = dataclasses.replace(
            spec.study,
            name=f"{spec.study.name}.{pinned}",
            trials=n_trials if n_trials is not None else 1,
            pruner="none",
        )
        spec = dataclasses.replace(
            spec, study=study, space=chosen.space, train=chosen.train or spec.train, pinned=()
        )
    return spec


def pack_value(pack: int | str) -> int | Literal["auto"]:
    if pack == "auto":
        return "auto"
    try:
        value = int(pack)
    except (TypeError, ValueError):
        raise SpecValueError("pack", f"expected 'auto' or a number, got {pack!r}") from None
    if value < 1:
        raise SpecValueError("pack", f"must be 'auto' or at least 1, got {value}")
    return value


def resolve_task(spec: StudySpec, task: str) -> StudySpec:
    if spec.task is not None:
        return spec
    try:
        space = resolve_for_task(spec.space, task)
        pinned = tuple(
            dataclasses.replace(p, space=resolve_for_task(p.space, task)) for p in spec.pinned
        )
    except SpecValueError as e:
        raise ConfigError(
            spec.path, f"space.{e.key}", f"{e.message} (the data are {task})", LOSSES_FOR_TASK[task]
        ) from None
    return dataclasses.replace(spec, space=space, pinned=pinned, task=task)


def _lowest(dim: Dim) -> int:
    """The smallest integer a depth or width dimension takes."""
    if isinstance(dim, Fixed):
        return int(dim.value)  # type: ignore[arg-type]
    if isinstance(dim, Choice):
        return int(min(dim.values))  # type: ignore[type-var,arg-type]
    return int(dim.low)


def smallest_network(spec: StudySpec, n_inputs: int, n_outputs: int) -> Layout:
    """The network of the space with the fewest parameters: its fewest and narrowest
    layers (each layer adds parameters), or its pinned ``widths``."""
    space = spec.space
    if space.widths is not None:
        widths = tuple(space.widths)
    else:
        widths = (_lowest(space.width),) * _lowest(space.depth)
    return Layout(n_inputs, widths, n_outputs)


def check_limits(spec: StudySpec, n_inputs: int, n_outputs: int) -> None:
    """A ``study.max_params`` that some network of the space fits under.

    Raises:
        ConfigError: at ``study.max_params``, naming the smallest network and its size.
    """
    limit = spec.study.max_params
    if limit is None:
        return
    small = smallest_network(spec, n_inputs, n_outputs)
    if small.n_parameters > limit:
        shape = "-".join(str(w) for w in small.widths)
        raise ConfigError(
            spec.path,
            "study.max_params",
            f"{limit} is below every network of the space: the smallest, hidden widths "
            f"{shape} with {n_inputs} inputs and {n_outputs} outputs, has "
            f"{small.n_parameters} parameters",
        )


def check_target(spec: StudySpec, objective: Objective, flag: bool) -> None:
    """A target the study's metric can reach: an accuracy in [0, 1], an MSE from 0.

    Raises:
        ConfigError: at ``--target`` (``flag``) or the file's ``study.target``.
    """
    target = spec.study.target
    if target is None or objective.name not in ("accuracy", "mse"):
        return
    high = 1.0 if objective.name == "accuracy" else math.inf
    if not 0.0 <= target <= high:
        reach = "lies in [0, 1]" if objective.name == "accuracy" else "is at least 0"
        where = ("--target", "") if flag else (spec.path, "study.target")
        raise ConfigError(
            *where, f"{target:g} cannot be reached: the validation {objective.name} {reach}"
        )
