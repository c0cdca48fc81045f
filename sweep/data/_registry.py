"""The registry of data sources: name -> options dataclass, task, loader.

Importing this module is cheap (no torch, no scikit-learn); a source's loader
is imported only when its data are loaded.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from sweep._choices import Task


@dataclass(frozen=True)
class RawData:
    """What a loader returns: arrays in memory, before splitting and scaling.

    Attributes:
        x: Features, shape (N, D), float32.
        y: Targets: (N,) integer class ids for classification, (N, D_out) floats for regression.
        task: The task these data define.
        feature_names: One name per column of ``x``.
        classes: Class labels in id order, for classification.
        x_test: A predefined test split (as MNIST ships one), else None.
        y_test: Its targets.
    """

    x: np.ndarray
    y: np.ndarray
    task: Task
    feature_names: tuple[str, ...]
    classes: tuple[Any, ...] | None = None
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None


@dataclass(frozen=True)
class Source:
    """One data source.

    Attributes:
        name: The ``data.source`` value that picks it.
        options: Frozen dataclass of the source's own keys in ``[data]``.
        task: The task it always yields, or None when it depends on the data (a user's table).
        loader: ``"module:function"``; the function takes (options, seed) and returns RawData.
        summary: One line for ``sweep sources`` and the README.
    """

    name: str
    options: type
    task: Task | None
    loader: str
    summary: str

    def load(self, options: Any, seed: int) -> RawData:
        module, func = self.loader.split(":")
        fn: Callable[[Any, int], RawData] = getattr(importlib.import_module(module), func)
        return fn(options, seed)


SOURCES: dict[str, Source] = {}


def register(source: Source) -> Source:
    if source.name in SOURCES:
        raise ValueError(f"data source {source.name!r} registered twice")
    SOURCES[source.name] = source
    return source
