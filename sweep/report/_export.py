"""CSV export: one row per trial, every parameter a typed column.

A CSV holds no types, so integers with gaps (``step_size`` where only some
trials use the step schedule) would read back as floats, and text that looks
numeric (``widths`` of one-layer networks: "16") as numbers. The columns sweep
writes have fixed types (``COLUMN_DTYPES``); :func:`read_trials_csv` applies
them, and so can ``pd.read_csv(path, dtype=COLUMN_DTYPES)``. Timestamps are
ISO 8601 text (``pd.to_datetime`` parses them).

``export_all`` writes every study of a database, one file per study named
after it: studies of different tasks have different metric columns, so one
combined file would be mostly empty cells.
"""

from __future__ import annotations

import re
from pathlib import Path

import optuna
import pandas as pd

from sweep._output import atomic_path, check_folder
from sweep.report._frame import COLUMN_DTYPES, trials_frame, typed


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a trials frame (``trials_frame``) to ``path``; parent folders are created.

    The file is written beside ``path`` and renamed onto it, so a failed write
    leaves no half-written file.

    Args:
        frame: The ranked trials.
        path: The CSV file.

    Returns:
        The path written.

    Raises:
        OutputError: ``path`` cannot be written (its folder is a file, read-only...).
    """
    with atomic_path(path) as temp:
        frame.to_csv(temp, index=False)
    return Path(path)


def read_trials_csv(path: str | Path) -> pd.DataFrame:
    """Read a CSV written by ``write_csv`` (or ``sweep report --csv``) with its column types.

    Args:
        path: The CSV file.

    Returns:
        The frame, equal to the one written, with the dtypes of ``COLUMN_DTYPES`` on
        sweep's columns (other columns as pandas infers them).
    """
    frame = pd.read_csv(path, dtype=COLUMN_DTYPES)
    return typed(frame)


def file_name(study_name: str) -> str:
    """A file name for a study: sweep's names are safe already; others get ``_`` for
    anything but letters, digits, ``_ . -``."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", study_name) or "_"


def export_all(storage: str, directory: str | Path) -> dict[str, Path]:
    """Write every study in ``storage`` as ``DIRECTORY/<study>.csv``.

    Args:
        storage: An SQLAlchemy URL or SQLite path.
        directory: Where the files go (created if needed).

    Returns:
        Study name -> the file written.

    Raises:
        OutputError: ``directory`` cannot be written (checked before anything is read).
        StorageError: the storage cannot be opened.
    """
    from sweep.storage import open_storage
    from sweep.study import study_names

    out_dir = check_folder(directory)
    rdb = open_storage(storage, create=False)
    written = {}
    for name in study_names(rdb):
        study = optuna.load_study(study_name=name, storage=rdb)
        written[name] = write_csv(trials_frame(study), out_dir / f"{file_name(name)}.csv")
    return written
