"""The parameters a space searches: a grid study's points, and known configurations
(``[[enqueue]]``, ``--warm-start``) checked against the space or moved into it."""

from __future__ import annotations

from typing import Any

from sweep.config._space import Choice, Dim, Fixed, FloatRange, IntRange, SpaceSpec
from sweep.errors import SpecValueError


def grid_points(space: SpaceSpec) -> dict[str, list[Any]]:
    """The grid of a grid study: per searched parameter, as ``sample_config`` names it,
    every value it may take (a list's values, an integer range's every ``step``). A
    per-layer width is one parameter per layer of the deepest network.

    Raises:
        SpecValueError: a float range (it has no grid points), naming its key.
    """
    return {name: _grid_values(name, dim) for name, dim in searched(space).items()}


def searched(space: SpaceSpec) -> dict[str, Dim]:
    """The parameters a trial of ``space`` may suggest, as ``sample_config`` names them, and
    their dimensions: every dimension that is not fixed, a per-layer width as one parameter
    per layer of the deepest network."""
    out: dict[str, Dim] = {}
    for key, dim in space.dims().items():
        if isinstance(dim, Fixed) or (key == "width" and space.widths is not None):
            continue
        if key == "width" and space.per_layer_width:
            for i in range(max(int(d) for d in _grid_values("depth", space.depth))):
                out[f"width_{i}"] = dim
            continue
        out[key] = dim
    return out


def check_known(space: SpaceSpec, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` (a full or partial configuration) if each key is a searched parameter of
    ``space`` and each value lies in its dimension.

    Raises:
        SpecValueError: naming the key and the valid keys or the dimension's range.
    """
    dims = searched(space)
    for key, value in params.items():
        dim = dims.get(key)
        if dim is None:
            raise SpecValueError(key, "not a searched dimension of [space]", list(dims))
        if not _within(dim, value):
            raise SpecValueError(key, f"{value!r} is outside the space's {_describe(dim)}")
    return dict(params)


def clip_known(space: SpaceSpec, params: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``params`` moved into ``space``: a number into its range (an integer onto the
    range's step), a value outside a list of choices left out (to be sampled), a key the
    space does not search left out. Returns (the parameters, each change in words)."""
    dims = searched(space)
    out: dict[str, Any] = {}
    changed: list[str] = []
    for key, value in params.items():
        dim = dims.get(key)
        if dim is None:
            continue
        moved = value if _within(dim, value) else _clip(dim, value)
        if moved is None:
            changed.append(f"{key} = {value!r} is outside the space's {_describe(dim)}: sampled")
            continue
        if moved != value:
            changed.append(f"{key} = {value!r} clipped to {moved!r}")
        out[key] = moved
    return out, changed


def _clip(dim: Dim, value: Any) -> Any:
    """The value of ``dim`` nearest ``value``; None where there is none (a choice)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(dim, IntRange):
        steps = round((min(max(value, dim.low), dim.high) - dim.low) / dim.step)
        return min(dim.low + steps * dim.step, dim.high - (dim.high - dim.low) % dim.step)
    if isinstance(dim, FloatRange):
        return min(max(float(value), dim.low), dim.high)
    return None


def _within(dim: Dim, value: Any) -> bool:
    if isinstance(dim, Choice):
        return any(type(v) is type(value) and v == value for v in dim.values)
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(dim, IntRange):
        return (
            number
            and float(value).is_integer()
            and dim.low <= value <= dim.high
            and (int(value) - dim.low) % dim.step == 0
        )
    if isinstance(dim, FloatRange):
        return number and dim.low <= value <= dim.high
    return False


def _describe(dim: Dim) -> str:
    if isinstance(dim, Choice):
        return "choices " + ", ".join(map(repr, dim.values))
    if isinstance(dim, IntRange):
        step = f" in steps of {dim.step}" if dim.step != 1 else ""
        return f"integer range {dim.low}..{dim.high}{step}"
    if isinstance(dim, FloatRange):
        return f"range {dim.low}..{dim.high}"
    return "fixed value"


def _grid_values(key: str, dim: Dim) -> list[Any]:
    if isinstance(dim, Choice):
        return list(dim.values)
    if isinstance(dim, IntRange):
        return list(range(dim.low, dim.high + 1, dim.step))
    if isinstance(dim, FloatRange):
        raise SpecValueError(
            key,
            "a grid study takes a list of values or an integer range; a float range has no "
            f"grid points (give a list, e.g. {key} = [{dim.low}, {dim.high}])",
        )
    return [dim.value]
