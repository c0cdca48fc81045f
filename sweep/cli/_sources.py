"""``sweep sources``: the data sources a study file can name, and their ``[data]`` keys."""

from __future__ import annotations

import argparse
import dataclasses
import typing
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sources", help="the data sources and their [data] options")
    p.add_argument("name", nargs="?", metavar="SOURCE", help="show one source's options")
    p.set_defaults(func=sources)


def source_options(name: str) -> list[tuple[str, str, str]]:
    """(key, accepted values, default) for each of source ``name``'s own ``[data]`` keys."""
    from sweep._fields import describe
    from sweep.data import SOURCES

    cls = SOURCES[name].options
    hints = typing.get_type_hints(cls)
    rows = []
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            default = _toml(f.default)
        elif f.default_factory is not dataclasses.MISSING:
            default = _toml(f.default_factory())
        else:
            default = "(required)"
        rows.append((f.name, describe(hints[f.name]), default))
    return rows


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return str(value)


def sources(args: argparse.Namespace) -> int:
    from sweep.data import SOURCES
    from sweep.errors import ConfigError

    if args.name is None:
        width = max(len(n) for n in SOURCES)
        for name, src in sorted(SOURCES.items()):
            task = src.task or "inferred"
            print(f"{name:<{width}}  {task:<10}  {src.summary}")
        return 0
    if args.name not in SOURCES:
        raise ConfigError(
            "sweep sources", "", f"unknown data source {args.name!r}", sorted(SOURCES)
        )
    src = SOURCES[args.name]
    print(f"{src.name}: {src.summary} (task: {src.task or 'inferred from the data'})")
    rows = source_options(src.name)
    if not rows:
        print("  no options of its own; the common [data] keys apply")
    assignments = [f"{key} = {default}" for key, _, default in rows]
    width = max((len(a) for a in assignments), default=0)
    for assignment, (_, accepted, _) in zip(assignments, rows):
        print(f"  {assignment:<{width}}  # {accepted}")
    return 0
