"""Data sources: one registry; each source returns train/validation/test tensors.

The registry and every source's options are importable without torch; the
tensor side (``load_data``, ``DataBundle``) is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# Importing a source module registers its sources; none imports torch or
# scikit-learn until its data are loaded.
from sweep.data import _bundled, _synthetic, _table, _vision  # noqa: F401
from sweep.data._registry import SOURCES, RawData, Source, register

if TYPE_CHECKING:
    from sweep.data._bundle import DataBundle, Scaling, load_data

__all__ = ["SOURCES", "DataBundle", "RawData", "Scaling", "Source", "load_data", "register"]


def __getattr__(name: str) -> Any:
    if name in ("DataBundle", "Scaling", "load_data"):
        from sweep.data import _bundle

        return getattr(_bundle, name)
    raise AttributeError(name)
