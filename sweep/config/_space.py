"""Search dimensions and the search space of a study.

A dimension is a fixed value, a list of choices, or a range. Which forms a
key accepts, and which values are legal, is declared once in ``DIMENSIONS``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sweep._choices import ACTIVATIONS, INITS, LOSSES, OPTIMIZERS, REDUCTIONS, SCHEDULERS
from sweep.errors import SpecValueError

Scalar = int | float | str


@dataclass(frozen=True)
class Fixed:
    """One value, never sampled."""

    value: Scalar


@dataclass(frozen=True)
class Choice:
    """A categorical choice among distinct values."""

    values: tuple[Scalar, ...]


@dataclass(frozen=True)
class IntRange:
    """An integer range, inclusive at both ends."""

    low: int
    high: int
    log: bool = False
    step: int = 1


@dataclass(frozen=True)
class FloatRange:
    """A real range; ``log`` samples uniformly in log space."""

    low: float
    high: float
    log: bool = False


Dim = Fixed | Choice | IntRange | FloatRange


@dataclass(frozen=True)
class DimKind:
    """What one space key accepts."""

    kind: Literal["int", "float", "name"]
    check: Callable[[Any], bool] = lambda v: True
    rule: str = ""
    names: tuple[str, ...] = ()


DIMENSIONS: dict[str, DimKind] = {
    "depth": DimKind("int", lambda v: v >= 1, "at least 1"),
    "width": DimKind("int", lambda v: v >= 1, "at least 1"),
    "activation": DimKind("name", names=ACTIVATIONS),
    "split_fraction": DimKind("float", lambda v: 0 < v < 1, "between 0 and 1 (exclusive)"),
    "loss": DimKind("name", names=LOSSES),
    "optimizer": DimKind("name", names=OPTIMIZERS),
    "lr": DimKind("float", lambda v: v > 0, "positive"),
    "momentum": DimKind("float", lambda v: 0 <= v < 1, "in [0, 1)"),
    "weight_decay": DimKind("float", lambda v: v >= 0, "non-negative"),
    "dropout": DimKind("float", lambda v: 0 <= v < 1, "in [0, 1)"),
    "batch_size": DimKind("int", lambda v: v >= 1, "at least 1"),
    "scheduler": DimKind("name", names=SCHEDULERS),
    "step_size": DimKind("int", lambda v: v >= 1, "at least 1 (epochs)"),
    "gamma": DimKind("float", lambda v: 0 < v <= 1, "in (0, 1]"),
    "reduction": DimKind("name", names=REDUCTIONS),
    "init": DimKind("name", names=INITS),
}
# Keys a study file written before they existed leaves out: ``space_to_toml`` leaves
# them out at these values too, so such a study's fingerprint stays what it was.
_LATER_KEYS = {"reduction": "mean", "init": "default"}


def _check_scalar(key: str, spec: DimKind, value: Any) -> Scalar:
    if spec.kind == "name":
        if not isinstance(value, str) or value not in spec.names:
            raise SpecValueError(key, f"unknown name {value!r}", spec.names)
        return value
    return _check_number(key, spec, value)


def _check_number(key: str, spec: DimKind, value: Any) -> int | float:
    """One value of an "int" or "float" key, checked against the key's rule."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SpecValueError(
            key, f"expected a number, a list or a {{low, high}} range, got {value!r}"
        )
    if spec.kind == "int":
        if isinstance(value, float):
            raise SpecValueError(key, f"expected an integer, got {value!r}")
    else:
        value = float(value)
        if not math.isfinite(value):
            raise SpecValueError(key, f"must be finite, got {value!r}")
    if not spec.check(value):
        raise SpecValueError(key, f"must be {spec.rule}, got {value!r}")
    return value


def parse_dim(key: str, raw: Any) -> Dim:
    """Turn one TOML value into a dimension: scalar -> Fixed, list -> Choice, table -> range."""
    spec = DIMENSIONS[key]
    if isinstance(raw, list):
        if not raw:
            raise SpecValueError(key, "empty list of choices")
        values = tuple(_check_scalar(key, spec, v) for v in raw)
        if len(set(values)) != len(values):
            raise SpecValueError(key, f"repeated choices in {list(raw)!r}")
        return Fixed(values[0]) if len(values) == 1 else Choice(values)
    if isinstance(raw, dict):
        return _parse_range(key, spec, raw)
    return Fixed(_check_scalar(key, spec, raw))


def _parse_range(key: str, spec: DimKind, raw: dict[str, Any]) -> Dim:
    if spec.kind == "name":
        raise SpecValueError(key, "a range is not valid here; give a name or a list", spec.names)
    allowed = ("low", "high", "log", "step") if spec.kind == "int" else ("low", "high", "log")
    for k in raw:
        if k not in allowed:
            raise SpecValueError(f"{key}.{k}", "unknown key", allowed)
    for k in ("low", "high"):
        if k not in raw:
            raise SpecValueError(f"{key}.{k}", "missing in range")
    log = raw.get("log", False)
    if not isinstance(log, bool):
        raise SpecValueError(f"{key}.log", f"expected true or false, got {log!r}")
    low = _check_number(f"{key}.low", spec, raw["low"])
    high = _check_number(f"{key}.high", spec, raw["high"])
    if low > high:
        raise SpecValueError(key, f"empty range: low {low} > high {high}")
    if log and low <= 0:
        raise SpecValueError(f"{key}.low", f"a log range needs low > 0, got {low}")
    if spec.kind == "int":
        step = raw.get("step", 1)
        if isinstance(step, bool) or not isinstance(step, int) or step < 1:
            raise SpecValueError(f"{key}.step", f"expected an integer >= 1, got {step!r}")
        if log and step != 1:
            raise SpecValueError(f"{key}.step", "a log range cannot have a step")
        if low == high:
            return Fixed(low)
        return IntRange(int(low), int(high), log, step)
    if low == high:
        return Fixed(low)
    return FloatRange(float(low), float(high), log)


def dim_to_toml(dim: Dim) -> Any:
    """The TOML form of a dimension (``parse_dim`` reads it back to an equal value)."""
    if isinstance(dim, Fixed):
        return dim.value
    if isinstance(dim, Choice):
        return list(dim.values)
    out: dict[str, Any] = {"low": dim.low, "high": dim.high}
    if dim.log:
        out["log"] = True
    if isinstance(dim, IntRange) and dim.step != 1:
        out["step"] = dim.step
    return out


def dim_values(dim: Dim) -> tuple[Scalar, ...] | None:
    """The finite set of values a dimension can take, or None for a range."""
    if isinstance(dim, Fixed):
        return (dim.value,)
    if isinstance(dim, Choice):
        return dim.values
    return None


@dataclass(frozen=True)
class SpaceSpec:
    """The search space. Every field is a dimension; see the README for each key.

    ``loss`` left as None means the task's natural loss (BCE, cross-entropy or MSE).
    ``widths`` pins one width per hidden layer (depth follows from its length);
    ``per_layer_width`` samples a width per layer from the ``width`` dimension;
    ``activations`` pins one activation per hidden layer (in place of ``activation``).
    """

    depth: Dim = Fixed(2)
    width: Dim = Fixed(32)
    per_layer_width: bool = False
    widths: tuple[int, ...] | None = None
    activation: Dim = Fixed("relu")
    split_fraction: Dim = Fixed(0.5)
    loss: Dim | None = None
    optimizer: Dim = Fixed("adam")
    lr: Dim = Fixed(1e-3)
    momentum: Dim = Fixed(0.9)
    weight_decay: Dim = Fixed(0.0)
    dropout: Dim = Fixed(0.0)
    batch_size: Dim = Fixed(64)
    scheduler: Dim = Fixed("none")
    step_size: Dim = Fixed(10)
    gamma: Dim = Fixed(0.9)
    reduction: Dim = Fixed("mean")
    init: Dim = Fixed("default")
    activations: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.activations is not None:
            if not isinstance(self.depth, Fixed) or self.depth.value != len(self.activations):
                raise SpecValueError(
                    "activations",
                    f"gives {len(self.activations)} layers; the depth must be fixed at as "
                    "many (give widths = [...] of the same length)",
                )
            # ``activation`` stands for the first layer's (it is not sampled).
            object.__setattr__(self, "activation", Fixed(self.activations[0]))
        if self.widths is not None:
            if not self.widths:
                raise SpecValueError("widths", "empty list of widths")
            if any(w < 1 for w in self.widths):
                raise SpecValueError(
                    "widths", f"each width must be at least 1, got {list(self.widths)}"
                )
            if self.depth != Fixed(len(self.widths)):
                raise SpecValueError(
                    "depth",
                    f"conflicts with widths (a list of {len(self.widths)} layers); give one",
                )
            if self.per_layer_width:
                raise SpecValueError(
                    "per_layer_width", "cannot be combined with a pinned widths list"
                )

    def dims(self) -> dict[str, Dim]:
        """Every dimension by key (``loss`` only once resolved for a task)."""
        out = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in DIMENSIONS and value is not None:
                out[f.name] = value
        return out

    def is_fixed(self) -> bool:
        return all(isinstance(d, Fixed) for d in self.dims().values())


def parse_space(table: dict[str, Any]) -> SpaceSpec:
    """Parse the ``[space]`` table (or a ``[pinned.*]`` table) into a SpaceSpec."""
    kwargs: dict[str, Any] = {}
    for key, raw in table.items():
        if key == "per_layer_width":
            if not isinstance(raw, bool):
                raise SpecValueError(key, f"expected true or false, got {raw!r}")
            kwargs[key] = raw
        elif key == "widths":
            if not isinstance(raw, list) or not all(
                isinstance(w, int) and not isinstance(w, bool) for w in raw
            ):
                raise SpecValueError(key, f"expected a list of integers, got {raw!r}")
            kwargs[key] = tuple(raw)
        elif key == "activations":
            kwargs[key] = _layer_activations(table)
        elif key in DIMENSIONS:
            kwargs[key] = parse_dim(key, raw)
        else:
            raise SpecValueError(key, "unknown key", sorted([*DIMENSIONS, *_LIST_KEYS]))
    if "widths" in kwargs and "depth" not in kwargs:
        kwargs["depth"] = Fixed(len(kwargs["widths"]))
    return SpaceSpec(**kwargs)


_LIST_KEYS = ("per_layer_width", "widths", "activations")


def _layer_activations(table: dict[str, Any]) -> tuple[str, ...]:
    """``activations = ["sum", "relu"]``: one activation per hidden layer."""
    raw = table["activations"]
    if "activation" in table:
        raise SpecValueError("activations", "cannot be combined with activation; give one")
    if not isinstance(raw, list) or not raw:
        raise SpecValueError("activations", f"expected a list of names, got {raw!r}")
    for name in raw:
        if name not in ACTIVATIONS:
            raise SpecValueError("activations", f"unknown name {name!r}", ACTIVATIONS)
    return tuple(raw)


def space_to_toml(space: SpaceSpec) -> dict[str, Any]:
    out: dict[str, Any] = {
        key: dim_to_toml(dim)
        for key, dim in space.dims().items()
        if key not in _LATER_KEYS or dim != Fixed(_LATER_KEYS[key])
    }
    if space.per_layer_width:
        out["per_layer_width"] = True
    if space.widths is not None:
        out["widths"] = list(space.widths)
    if space.activations is not None:
        out["activations"] = list(space.activations)
        del out["activation"]
    return out
