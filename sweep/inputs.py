"""Checking prediction input against what a model takes, without loading torch.

What does not fit is one ``ModelError`` line that says what was expected: the
column count, the missing column names, the first non-numeric or missing
value. Rows count from 1, a CSV header not included. The command line checks
a file here before it loads torch and the network, so a wrong file fails at
once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sweep.errors import ModelError

__all__ = ["expects", "input_matrix"]


def _names(names: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(str(n) for n in names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def expects(feature_names: Sequence[str], trial: int) -> str:
    """The end of every input error: what the model of ``trial`` takes."""
    return f"the model of trial {trial} takes {len(feature_names)} ({_names(feature_names)})"


def _from_frame(frame: pd.DataFrame, names: list[str], trial: int) -> np.ndarray:
    columns = [str(c) for c in frame.columns]
    if all(name in columns for name in names):
        # By name: extra columns (an id, the target) are ignored, order does not matter.
        frame = frame.set_axis(columns, axis=1)[names]
    elif list(frame.columns) == list(range(frame.shape[1])):
        # No names (an array made into a frame, a CSV read without header): by position.
        if frame.shape[1] != len(names):
            raise ModelError(f"input has {frame.shape[1]} columns; {expects(names, trial)}")
    else:
        missing = [n for n in names if n not in columns]
        raise ModelError(f"input is missing columns {_names(missing)}; {expects(names, trial)}")
    out = np.empty(frame.shape, dtype=np.float32)
    for j in range(frame.shape[1]):
        column = frame.iloc[:, j]
        numbers = pd.to_numeric(column, errors="coerce")
        bad = numbers.isna() & column.notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ModelError(
                f"column {names[j]!r} is not numeric: {column.iloc[row]!r} in row {row + 1}"
            )
        out[:, j] = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    return out


def _from_array(x: Any, names: list[str], trial: int) -> np.ndarray:
    try:
        array = np.asarray(x)
    except ValueError:  # ragged rows
        raise ModelError(f"input rows have different lengths; {expects(names, trial)}") from None
    if array.dtype.kind in "biuf":
        return array.astype(np.float32, copy=False)
    try:
        return array.astype(np.float32)
    except (TypeError, ValueError):
        pass
    flat = array.reshape(len(array), -1) if array.ndim else array.reshape(1, 1)
    for (i, j), value in np.ndenumerate(flat):
        try:
            float(value)
        except (TypeError, ValueError):
            plain = value.item() if isinstance(value, np.generic) else value
            raise ModelError(
                f"input is not numeric: {plain!r} in row {i + 1}, column {j + 1}"
            ) from None
    raise ModelError("input is not numeric")


def check_shape(shape: tuple[int, ...], names: Sequence[str], trial: int) -> None:
    """Raise unless ``shape`` is (samples, len(names)).

    Raises:
        ModelError: not 2-D, or the wrong number of columns.
    """
    if len(shape) != 2:
        raise ModelError(
            f"input has shape {shape}; expected 2-D (samples x features): {expects(names, trial)}"
        )
    if shape[1] != len(names):
        raise ModelError(f"input has {shape[1]} columns; {expects(names, trial)}")


def first_bad(finite: np.ndarray) -> tuple[int, int]:
    """(row, column) of the first False in a 2-D mask."""
    i, j = np.argwhere(~finite)[0]
    return int(i), int(j)


def input_matrix(x: Any, feature_names: Sequence[str], *, trial: int) -> np.ndarray:
    """Check ``x`` against a model's inputs and return it as a float32 matrix.

    Args:
        x: A DataFrame (columns matched by name; without names, by position), a
            Series, a NumPy array or anything ``np.asarray`` takes. A 1-D input is a
            column when the model takes one feature.
        feature_names: The model's input columns, in order.
        trial: The model's trial number (named in errors).

    Returns:
        Shape (N, len(feature_names)), in the units of the original data.

    Raises:
        ModelError: wrong column count, missing columns, non-numeric or missing values.
    """
    names = [str(n) for n in feature_names]
    if isinstance(x, pd.Series):
        x = x.to_frame() if len(names) == 1 else x.to_frame().T
    matrix = (
        _from_frame(x, names, trial)
        if isinstance(x, pd.DataFrame)
        else _from_array(x, names, trial)
    )
    if matrix.ndim == 1 and len(names) == 1:
        matrix = matrix.reshape(-1, 1)
    check_shape(matrix.shape, names, trial)
    finite = np.isfinite(matrix)
    if not finite.all():
        i, j = first_bad(finite)
        raise ModelError(
            f"input has a missing or non-finite value in row {i + 1}, column {names[j]!r}"
        )
    return matrix
