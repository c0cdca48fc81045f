"""The typed study definition: frozen dataclasses, validated where they are built."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from sweep._choices import OBJECTIVE_NAMES, ObjectiveName, Pruner, Sampler
from sweep.config._space import SpaceSpec
from sweep.errors import SpecValueError

if TYPE_CHECKING:
    from sweep.data import DataSpec

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*([smh]?)\s*$")
_UNIT_SECONDS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(raw: Any) -> float:
    """Seconds from a number of seconds or a string such as ``90s``, ``30m``, ``2h``.

    Raises:
        SpecValueError: at ``timeout``: not such a duration, or not above zero.
    """
    seconds: float | None = None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        seconds = float(raw)
    elif isinstance(raw, str) and (match := _DURATION.match(raw)):
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds is None or not seconds > 0:
        raise SpecValueError(
            "timeout", f"{raw!r} is not a duration above zero; give seconds or 90s, 30m, 2h"
        )
    return seconds


@dataclass(frozen=True)
class StudySection:
    """``[study]``: identity, budget, sampler and pruner."""

    name: str  # the study's name in the database; also names reports/<name>.csv
    trials: int = 50  # budget: finished (complete or pruned) trials in all
    direction: Literal["auto", "maximize", "minimize"] = "auto"  # auto: from the metric
    sampler: Sampler = "tpe"
    sampler_startup: int = 10  # random trials before TPE starts modelling
    pruner: Pruner = "median"
    pruner_startup: int = 5  # finished trials before the pruner prunes anything
    pruner_warmup: int = 2  # epochs a trial runs before it can be pruned
    percentile: float = 25.0  # pruner "percentile": keep trials in the top this-many percent
    seed: int = 0  # sampler seed; trial k's weights and batch order use seed + k
    keep_models: int = 3  # save the weights of this many best trials
    timeout: float | None = None  # seconds a `sweep run` may take; None: no limit
    target: float | None = None  # the study stops once a complete trial reaches this value
    patience: int | None = None  # ...or after this many finished trials without improving
    min_delta: float = 0.0  # what improving means for `patience`: by more than this
    # Several objectives: "metric" first, then "params" and/or "latency" (minimised);
    # empty: the metric alone.
    objectives: tuple[ObjectiveName, ...] = ()
    # Size limits: a network over max_params is never trained; one whose batch-of-1
    # latency is over max_latency_ms is recorded pruned (both: kept out by the sampler).
    max_params: int | None = None
    max_latency_ms: float | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise SpecValueError(
                "name", f"{self.name!r} is not a valid study name (letters, digits, _ . -)"
            )
        for key in ("trials", "sampler_startup", "pruner_startup", "pruner_warmup", "keep_models"):
            if getattr(self, key) < 0:
                raise SpecValueError(key, f"must be non-negative, got {getattr(self, key)}")
        if self.trials < 1:
            raise SpecValueError("trials", f"must be at least 1, got {self.trials}")
        if not 0 < self.percentile < 100:
            raise SpecValueError("percentile", f"must be in (0, 100), got {self.percentile}")
        if self.timeout is not None:
            parse_duration(self.timeout)  # above zero
        if self.target is not None and not math.isfinite(self.target):
            raise SpecValueError("target", f"must be a finite number, got {self.target}")
        if self.patience is not None and self.patience < 1:
            raise SpecValueError("patience", f"must be at least 1, got {self.patience}")
        if not self.min_delta >= 0:
            raise SpecValueError("min_delta", f"must be at least 0, got {self.min_delta}")
        if self.objectives:
            self._check_objectives()
        if self.max_params is not None and self.max_params < 1:
            raise SpecValueError("max_params", f"must be at least 1, got {self.max_params}")
        if self.max_latency_ms is not None and not (
            math.isfinite(self.max_latency_ms) and self.max_latency_ms > 0
        ):
            raise SpecValueError(
                "max_latency_ms", f"must be a number above 0, got {self.max_latency_ms}"
            )

    def _check_objectives(self) -> None:
        given = list(self.objectives)
        others = [o for o in OBJECTIVE_NAMES if o != "metric"]
        if len(given) == 1:
            raise SpecValueError(
                "objectives",
                f"{given} is one objective only: list 'metric' and one or two of "
                f"{others} (leave the key out to optimise the metric alone)",
            )
        if given[0] != "metric":
            raise SpecValueError("objectives", f"'metric' must come first, got {given}")
        if len(set(given)) != len(given):
            raise SpecValueError("objectives", f"{given} names an objective twice")
        if self.pruner in ("hyperband", "successive_halving"):
            raise SpecValueError(
                "pruner",
                f"{self.pruner!r} cannot judge a study of several objectives",
                ["median", "percentile", "none"],
            )
        if self.sampler == "cmaes":
            raise SpecValueError(
                "sampler",
                "'cmaes' optimises one objective only, and objectives lists several",
                ["tpe", "random", "qmc", "gp", "grid"],
            )

    @property
    def multi_objective(self) -> bool:
        return len(self.objectives) > 1


@dataclass(frozen=True)
class TrainSpec:
    """``[train]``: what every trial shares."""

    epochs: int = 20
    eval_every: int = 1  # epochs between validations (each is reported to the pruner)

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise SpecValueError("epochs", f"must be at least 1, got {self.epochs}")
        if self.eval_every < 1:
            raise SpecValueError("eval_every", f"must be at least 1, got {self.eval_every}")


@dataclass(frozen=True)
class RunSpec:
    """``[run]``: where and how trials execute. Not part of the study's identity."""

    devices: str = "auto"  # auto | cpu | cuda | cuda:0,cuda:1
    per_device: int = 1  # worker processes per device
    pack: int | Literal["auto"] = "auto"  # trials trained together in one process; 1 = alone
    retries: int = 2  # re-runs of a trial whose worker died
    heartbeat: int = 10  # seconds between heartbeats; a trial silent 3x this long is stale
    trial_timeout: float | None = None  # seconds; a trial running longer is stopped and failed

    def __post_init__(self) -> None:
        if self.per_device < 1:
            raise SpecValueError("per_device", f"must be at least 1, got {self.per_device}")
        if self.pack != "auto" and self.pack < 1:
            raise SpecValueError("pack", f"must be 'auto' or at least 1, got {self.pack}")
        if self.retries < 0:
            raise SpecValueError("retries", f"must be non-negative, got {self.retries}")
        if self.heartbeat < 1:
            raise SpecValueError("heartbeat", f"must be at least 1 second, got {self.heartbeat}")
        if self.trial_timeout is not None and self.trial_timeout <= 0:
            raise SpecValueError("trial_timeout", f"must be positive, got {self.trial_timeout}")


@dataclass(frozen=True)
class Pinned:
    """A named, fully fixed configuration (``[pinned.<name>]``), e.g. a tutorial's network,
    with the ``[train]`` settings it trains under where it sets its own epochs."""

    name: str
    space: SpaceSpec
    train: TrainSpec | None = None  # None: the study's [train]


@dataclass(frozen=True)
class StudySpec:
    """A whole study file, parsed and validated.

    Attributes:
        study, data, train, space, run: The file's sections (``data`` is
            :class:`sweep.data.DataSpec`: the data package owns that section).
        pinned: Named fixed configurations a user can run instead of searching.
        task: The data's task when known without loading them (None for a user's table).
        path: Where the spec came from, for error messages.
        enqueue: Configurations (full or partial) tried before the sampler's own, once per
            study; the dimensions they leave out are sampled.
    """

    study: StudySection
    data: DataSpec
    train: TrainSpec = field(default_factory=TrainSpec)
    space: SpaceSpec = field(default_factory=SpaceSpec)
    run: RunSpec = field(default_factory=RunSpec)
    pinned: tuple[Pinned, ...] = ()
    task: str | None = None
    path: str = "<spec>"
    enqueue: tuple[dict[str, Any], ...] = ()

    @property
    def name(self) -> str:
        return self.study.name

    def pinned_config(self, name: str) -> Pinned:
        for p in self.pinned:
            if p.name == name:
                return p
        raise SpecValueError(
            "pinned", f"no pinned configuration {name!r}", [p.name for p in self.pinned]
        )
