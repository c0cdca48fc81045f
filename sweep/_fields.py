"""Typed construction of frozen dataclasses from TOML tables.

One generic routine checks keys and types against a dataclass's fields, so
every section of a study file gets the same strict treatment: unknown keys
and wrong types are rejected with the key named and the valid choices listed.
A leaf module: ``sweep.config`` builds its sections with it and ``sweep.data``
each source's options.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, get_args, get_origin

from sweep.errors import SpecValueError

T = TypeVar("T")

_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def describe(tp: Any) -> str:
    """The values an annotation accepts, in words: ``one of 'a', 'b'``, ``an integer``..."""
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe(a) for a in get_args(tp) if a is not type(None))
    if origin is tuple:
        return f"a list of {describe(get_args(tp)[0]).removeprefix('a ').removeprefix('an ')}s"
    return _TYPE_NAMES.get(tp, getattr(tp, "__name__", str(tp)))


def _convert(tp: Any, value: Any) -> tuple[bool, Any]:
    """Return (ok, converted) for one value against one annotation."""
    origin = get_origin(tp)
    if tp is Any:
        return True, value
    if origin is Literal:
        return (value in get_args(tp) and type(value) is not bool), value
    if origin in (typing.Union, types.UnionType):
        for arg in get_args(tp):
            if arg is type(None):
                if value is None:
                    return True, None
                continue
            ok, converted = _convert(arg, value)
            if ok:
                return True, converted
        return False, value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            return False, value
        inner = get_args(tp)[0]
        out = []
        for item in value:
            ok, converted = _convert(inner, item)
            if not ok:
                return False, value
            out.append(converted)
        return True, tuple(out)
    if tp is bool:
        return isinstance(value, bool), value
    if tp is int:
        return (isinstance(value, int) and not isinstance(value, bool)), value
    if tp is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return ok, float(value) if ok else value
    if tp is str:
        return isinstance(value, str), value
    return isinstance(value, tp), value


def check_value(tp: Any, value: Any, key: str) -> Any:
    """Check ``value`` against annotation ``tp``; return it converted (ints to floats...)."""
    ok, converted = _convert(tp, value)
    if not ok:
        literal = get_origin(tp) is Literal
        if literal:
            raise SpecValueError(key, f"unknown value {value!r}", get_args(tp))
        raise SpecValueError(key, f"expected {describe(tp)}, got {value!r}")
    return converted


def build(cls: type[T], table: Mapping[str, Any], section: str = "") -> T:
    """Build dataclass ``cls`` from a TOML table, checking keys and types.

    Raises:
        SpecValueError: naming ``section.key`` for an unknown key, a wrong type,
            or a value the dataclass's own validation rejects.
    """
    if not isinstance(table, Mapping):
        raise SpecValueError(section, f"expected a table, got {table!r}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for key, value in table.items():
        if key not in fields:
            raise SpecValueError(_join(section, key), "unknown key", sorted(fields))
        kwargs[key] = check_value(hints[key], value, _join(section, key))
    missing = [
        name
        for name, f in fields.items()
        if name not in kwargs
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
    if missing:
        raise SpecValueError(_join(section, missing[0]), "missing required key")
    try:
        return cls(**kwargs)
    except SpecValueError as e:
        raise e.in_section(section) from None


def _join(section: str, key: str) -> str:
    return f"{section}.{key}" if section else key


def to_table(obj: Any) -> Any:
    """The inverse of :func:`build` for storing a spec: dataclasses to plain JSON data."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_table(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, tuple | list):
        return [to_table(v) for v in obj]
    if isinstance(obj, Mapping):
        return {k: to_table(v) for k, v in obj.items()}
    return obj
