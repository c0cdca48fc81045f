"""``[data]``: a source, its own options, and how to split and scale the data.

Data own this section: :func:`parse_data` checks the common keys against
:class:`DataSpec` and the rest against the source's options dataclass (from
the registry), and :func:`data_to_table` writes it back. Nothing here imports
torch, so ``sweep.config`` can check a study file without it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from sweep._fields import build, to_table
from sweep.data._registry import SOURCES
from sweep.errors import SpecValueError


@dataclass(frozen=True)
class DataSpec:
    """``[data]``: a source and its options, and how to split and scale it."""

    source: str
    options: Any  # the source's own options dataclass
    val_fraction: float = 0.2
    test_fraction: float = 0.2  # ignored by sources that ship a test split (MNIST)
    seed: int = 0  # fixes the split (and synthetic generation); independent of the study seed
    standardize: bool = True  # inputs: (x - mean) / std with train-split statistics
    scale_targets: bool = False  # regression: standardise targets too (metric in scaled units)
    max_samples: int | None = None  # random subset of at most this many samples (per split file)

    def __post_init__(self) -> None:
        for key in ("val_fraction", "test_fraction"):
            v = getattr(self, key)
            if not 0 <= v < 1:
                raise SpecValueError(key, f"must be in [0, 1), got {v}")
        if self.val_fraction == 0:
            raise SpecValueError("val_fraction", "must be above 0: trials are selected on it")
        if self.val_fraction + self.test_fraction >= 1:
            raise SpecValueError("val_fraction", "val_fraction + test_fraction must be below 1")
        if self.max_samples is not None and self.max_samples < 3:
            raise SpecValueError("max_samples", f"must be at least 3, got {self.max_samples}")


# The keys every source takes; the others in [data] are the source's own options.
COMMON_KEYS = tuple(
    f.name for f in dataclasses.fields(DataSpec) if f.name not in ("source", "options")
)


def parse_data(raw: Any) -> DataSpec:
    """Validate the ``[data]`` table: its source, the common keys and the source's own.

    Raises:
        SpecValueError: naming ``data.<key>``, with the valid sources or keys.
    """
    if not isinstance(raw, dict):
        raise SpecValueError("data", f"expected a table, got {raw!r}")
    source = raw.get("source")
    if source is None:
        raise SpecValueError("data.source", "missing required key", sorted(SOURCES))
    if source not in SOURCES:
        raise SpecValueError("data.source", f"unknown data source {source!r}", sorted(SOURCES))
    options_cls = SOURCES[source].options
    own = {f.name for f in dataclasses.fields(options_cls)}
    common = {k: v for k, v in raw.items() if k in COMMON_KEYS}
    specific = {k: v for k, v in raw.items() if k not in COMMON_KEYS and k != "source"}
    for key in specific:
        if key not in own:
            raise SpecValueError(
                f"data.{key}", f"unknown key for source {source!r}", sorted([*own, *COMMON_KEYS])
            )
    options: Any = build(options_cls, specific, "data")
    return build(DataSpec, {**common, "source": source, "options": options}, "data")


def data_to_table(spec: DataSpec) -> dict[str, Any]:
    """The ``[data]`` table of ``spec``; :func:`parse_data` reads it back to an equal spec."""
    data = {"source": spec.source, **to_table(spec.options)}
    for key in COMMON_KEYS:
        value = getattr(spec, key)
        if value is not None:
            data[key] = value
    return data
