"""Data sources: one registry; each source returns train/validation/test tensors.

The registry, every source's options and the ``[data]`` section's parsing
(``DataSpec``, ``parse_data``) are importable without torch; the tensor side
(``load_data``, ``DataBundle``) is imported on first use. Nothing here imports
``sweep.config``: config asks this package about sources, not the reverse.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# Importing a source module registers its sources; none imports torch or
# scikit-learn until its data are loaded.
from sweep.data import _bundled, _synthetic, _table, _vision  # noqa: F401
from sweep.data._registry import SOURCES, RawData, Source, register
from sweep.data._spec import COMMON_KEYS, DataSpec, data_to_table, parse_data

if TYPE_CHECKING:
    from sweep.data._bundle import DataBundle, Scaling, load_data

__all__ = [
    "COMMON_KEYS",
    "SOURCES",
    "DataBundle",
    "DataSpec",
    "RawData",
    "Scaling",
    "Source",
    "data_to_table",
    "load_data",
    "parse_data",
    "register",
]


def __getattr__(name: str) -> Any:
    if name in ("DataBundle", "Scaling", "load_data"):
        from sweep.data import _bundle

        return getattr(_bundle, name)
    raise AttributeError(name)
