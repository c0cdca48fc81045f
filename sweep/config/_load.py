"""Reading study files: TOML -> StudySpec, once, at the edge."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from sweep._choices import DEFAULT_LOSS, LOSSES_FOR_TASK, Task
from sweep._fields import build, to_table
from sweep.config._known import check_known, grid_points
from sweep.config._space import (
    DIMENSIONS,
    Fixed,
    SpaceSpec,
    dim_values,
    parse_space,
    space_to_toml,
)
from sweep.config._spec import (
    Pinned,
    RunSpec,
    StudySection,
    StudySpec,
    TrainSpec,
    parse_duration,
)
from sweep.errors import ConfigError, SpecValueError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

_SECTIONS = ("study", "data", "train", "space", "run", "pinned", "enqueue")
_TRAIN_KEYS = ("epochs", "eval_every")  # [train] keys a [pinned.*] table may set

# [data] belongs to sweep.data (its sources, their options, DataSpec). It is
# imported where a spec is parsed or written, not with this module, so that
# ``import sweep.config`` stays light (no NumPy, no torch).


def load_spec(path: str | Path) -> StudySpec:
    """Read and validate a study file.

    Raises:
        ConfigError: the file is missing or unreadable, is not TOML, or any key
            or value in it is wrong (the message names the file and key).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(str(p), "", "no such study file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(str(p), "", f"cannot read: {e}") from None
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(str(p), "", f"malformed TOML: {e}") from None
    return parse_spec(table, source=str(p))


def parse_spec(table: dict[str, Any], *, source: str = "<spec>") -> StudySpec:
    """Validate a study given as a TOML-shaped dict (what ``load_spec`` reads).

    Raises:
        ConfigError: naming ``source`` and the bad key.
    """
    try:
        return _parse(table, source)
    except SpecValueError as e:
        raise e.to_config_error(source) from None


def _parse(table: dict[str, Any], source: str) -> StudySpec:
    for key in table:
        if key not in _SECTIONS:
            raise SpecValueError(key, "unknown section", _SECTIONS)
    for key in ("study", "data"):
        if key not in table:
            raise SpecValueError(key, "missing section")
    from sweep.data import SOURCES, parse_data

    raw_study = _table(table["study"], "study")
    if "timeout" in raw_study:  # a duration such as "30m" or seconds
        raw_study = {
            **raw_study,
            "timeout": _section("study", parse_duration, raw_study["timeout"]),
        }
    study = build(StudySection, raw_study, "study")
    data = parse_data(table["data"])
    train = build(TrainSpec, table.get("train", {}), "train")
    run = build(RunSpec, table.get("run", {}), "run")
    task = SOURCES[data.source].task
    space = _section("space", parse_space, _table(table.get("space", {}), "space"))
    if task is not None:
        space = _section("space", resolve_for_task, space, task)
        _check_direction(study, task)
    if study.sampler == "grid":
        _section("space", grid_points, space)  # every dimension must have grid points
    pinned = []
    raw_pinned = _table(table.get("pinned", {}), "pinned")
    for name, raw in raw_pinned.items():
        section = f"pinned.{name}"
        raw = _table(raw, section)
        # A pinned configuration may train for its own epochs (a tutorial's count).
        own = {k: raw[k] for k in _TRAIN_KEYS if k in raw}
        pinned_train = build(TrainSpec, {**to_table(train), **own}, section) if own else None
        pinned_space = _section(
            section, _pin, space, {k: v for k, v in raw.items() if k not in _TRAIN_KEYS}
        )
        if task is not None:
            pinned_space = _section(section, resolve_for_task, pinned_space, task)
        pinned.append(Pinned(name, pinned_space, pinned_train))
    enqueue = _enqueue(table.get("enqueue", []), space)
    return StudySpec(study, data, train, space, run, tuple(pinned), task, source, enqueue)


def _enqueue(raw: Any, space: SpaceSpec) -> tuple[dict[str, Any], ...]:
    """The ``[[enqueue]]`` tables: configurations tried first, checked against the space."""
    if not isinstance(raw, list):
        raise SpecValueError("enqueue", "expected [[enqueue]] tables (a list of tables)")
    out = []
    for i, params in enumerate(raw):
        where = f"enqueue[{i}]"
        out.append(_section(where, check_known, space, _table(params, where)))
    return tuple(out)


def _section(section: str, fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except SpecValueError as e:
        raise e.in_section(section) from None


def _table(raw: Any, key: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise SpecValueError(key, f"expected a table, got {raw!r}")
    return raw


def resolve_for_task(space: SpaceSpec, task: str) -> SpaceSpec:
    """Fill in the task's default loss and reject losses that cannot apply to it.

    Raises:
        SpecValueError: at ``loss`` naming the losses valid for ``task``.
    """
    valid = LOSSES_FOR_TASK[task]
    if space.loss is None:
        return dataclasses.replace(space, loss=Fixed(DEFAULT_LOSS[task]))
    for name in dim_values(space.loss) or ():
        if name not in valid:
            raise SpecValueError("loss", f"{name!r} does not apply to a {task} task", valid)
    return space


def _check_direction(study: StudySection, task: Task) -> None:
    natural = "minimize" if task == "regression" else "maximize"
    if study.direction not in ("auto", natural):
        metric = "validation MSE" if task == "regression" else "validation accuracy"
        raise SpecValueError(
            "study.direction", f"the objective is {metric}, which must {natural}", ("auto", natural)
        )


# A pinned table gives these dimensions through a per-layer list.
_GIVEN_BY = {"depth": "widths", "activation": "activations"}


def _pin(space: SpaceSpec, raw: dict[str, Any]) -> SpaceSpec:
    """A pinned configuration: its own values over the space's fixed ones; nothing searched."""
    pinned = parse_space(raw)
    merged: dict[str, Any] = {}
    for key in DIMENSIONS:
        if key in raw or _GIVEN_BY.get(key, key) in raw:
            merged[key] = getattr(pinned, key)
            continue
        dim = getattr(space, key)
        if key == "width" and "widths" in raw:
            continue
        if dim is not None and not isinstance(dim, Fixed):
            raise SpecValueError(
                key, "is searched in [space], so a pinned configuration must give it"
            )
        merged[key] = dim
    merged["activations"] = pinned.activations
    if "widths" in raw:
        merged["widths"] = pinned.widths
    elif space.widths is not None and "depth" not in raw and "width" not in raw:
        merged["widths"] = space.widths
    elif space.per_layer_width and "width" not in raw:
        raise SpecValueError("widths", "[space] samples a width per layer, so give widths = [...]")
    return SpaceSpec(**merged)


def spec_to_table(spec: StudySpec) -> dict[str, Any]:
    """The study file as a TOML-shaped dict; ``parse_spec`` reads it back to an equal spec."""
    from sweep.data import data_to_table

    out: dict[str, Any] = {
        "study": {k: v for k, v in to_table(spec.study).items() if v not in (None, [])},
        "data": data_to_table(spec.data),
        "train": to_table(spec.train),
        "space": space_to_toml(spec.space),
        "run": {k: v for k, v in to_table(spec.run).items() if v is not None},
    }
    if spec.pinned:
        out["pinned"] = {p.name: _pinned_table(p) for p in spec.pinned}
    if spec.enqueue:
        out["enqueue"] = [dict(params) for params in spec.enqueue]
    return out


def _pinned_table(pinned: Pinned) -> dict[str, Any]:
    out = space_to_toml(pinned.space)
    if pinned.train is not None:
        out.update({k: getattr(pinned.train, k) for k in _TRAIN_KEYS})
    return out


def fingerprint(spec: StudySpec) -> str:
    """A hash of what makes trials comparable: data, training and search space.

    Name, budget, sampler, pruner, seed and run settings are left out, so a rerun
    may change them; a change to data, epochs or space is a different study.
    """
    table = spec_to_table(spec)
    core = {k: table[k] for k in ("data", "train", "space")}
    text = json.dumps(core, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
