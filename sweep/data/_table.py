"""The user's own table: a CSV or Parquet file, one target column, the rest features.

Nothing is guessed silently: missing values, non-numeric feature columns without
an encoding, an unknown column and a target with a single class are errors that
name the file and the columns, and say which key fixes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from sweep._choices import Task
from sweep.data._registry import RawData, Source, register
from sweep.errors import DataError, SpecValueError

if TYPE_CHECKING:
    import pandas as pd

# An integer (or text) target with at most this many distinct values is read as
# classes when the task is not given; a numeric target with more is regression.
MAX_INFERRED_CLASSES = 20
_LISTED = 12  # column names shown in an error before "... (N more)"


@dataclass(frozen=True)
class TableOptions:
    """``[data]`` keys of the ``table`` source.

    ``path`` is a CSV or Parquet file; a relative path is resolved from the current
    directory (where ``sweep run`` is started), like ``--storage`` and ``data_dir``.
    """

    path: str
    target: str  # the column to predict
    task: Literal["auto", "binary", "multiclass", "regression"] = "auto"
    drop: tuple[str, ...] = ()  # columns that are not features (ids, leaks...)
    # Text/categorical feature columns: "error" refuses them, "onehot" makes one
    # 0/1 column per value, "ordinal" replaces each value by its rank in sorted order.
    categorical: Literal["error", "onehot", "ordinal"] = "error"
    # Rows with a missing value: "error" refuses the file, "drop" leaves those rows out.
    missing: Literal["error", "drop"] = "error"
    format: Literal["auto", "csv", "parquet"] = "auto"  # auto: .parquet/.pq -> parquet, else CSV
    sep: str = ","  # CSV field separator

    def __post_init__(self) -> None:
        if not self.path:
            raise SpecValueError("path", "empty path")
        if not self.target:
            raise SpecValueError("target", "empty column name")
        if self.target in self.drop:
            raise SpecValueError("drop", f"lists the target column {self.target!r}")
        if not self.sep:
            raise SpecValueError("sep", "empty separator")


def _names(columns: Any) -> str:
    cols = [str(c) for c in columns]
    shown = ", ".join(cols[:_LISTED])
    return shown + (f", ... ({len(cols) - _LISTED} more)" if len(cols) > _LISTED else "")


def _plural(word: str, n: int) -> str:
    return word if n == 1 else f"{word}s"


def _file_format(options: TableOptions, path: Path) -> str:
    if options.format != "auto":
        return options.format
    return "parquet" if path.suffix.lower() in (".parquet", ".pq") else "csv"


def read_table(options: TableOptions) -> tuple[pd.DataFrame, Path]:
    """Read the file into a DataFrame with string column names.

    Raises:
        DataError: the file is missing, unreadable, not in the format, or empty.
    """
    import pandas as pd

    path = Path(options.path).expanduser()
    shown = options.path
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "no such file"
        raise DataError(
            f"data.path: {what} {shown!r} (looked at {path.absolute()}; "
            "a relative path is resolved from the current directory)"
        )
    fmt = _file_format(options, path)
    try:
        if fmt == "parquet":
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path, sep=options.sep)
    except Exception as e:
        # pandas and pyarrow raise many types (ParserError, ArrowInvalid,
        # UnicodeDecodeError, EmptyDataError, PermissionError...): one line for all.
        text = " ".join(str(e).split()) or type(e).__name__
        raise DataError(f"{shown}: cannot read as {fmt}: {text}") from None
    frame.columns = [str(c) for c in frame.columns]
    if len(frame) == 0:
        raise DataError(f"{shown}: the table has no rows")
    return frame, path


def _check_columns(frame: pd.DataFrame, options: TableOptions) -> None:
    shown = options.path
    if options.target not in frame.columns:
        raise DataError(
            f"{shown}: no target column {options.target!r} (data.target); "
            f"valid: {_names(frame.columns)}"
        )
    unknown = [c for c in options.drop if c not in frame.columns]
    if unknown:
        raise DataError(
            f"{shown}: data.drop names no column {unknown[0]!r}; valid: {_names(frame.columns)}"
        )


def _handle_missing(frame: pd.DataFrame, options: TableOptions) -> pd.DataFrame:
    holes = frame.isna().sum()
    holes = holes[holes > 0]
    if holes.empty:
        return frame
    if options.missing == "drop":
        kept = frame.dropna()
        if len(kept) == 0:
            raise DataError(f"{options.path}: every row has a missing value")
        return kept
    listed = ", ".join(f"{c!r} ({n} {_plural('row', n)})" for c, n in holes.items())
    columns = _plural("column", len(holes))
    raise DataError(
        f"{options.path}: missing values in {columns} {listed}; fill them in, "
        'leave them out with data.drop, or set data.missing = "drop" to skip those rows'
    )


def _is_number(series: pd.Series) -> bool:
    from pandas.api import types

    return bool(
        types.is_bool_dtype(series)
        or (types.is_numeric_dtype(series) and not types.is_complex_dtype(series))
    )


def _is_text(series: pd.Series) -> bool:
    import pandas as pd
    from pandas.api import types

    return bool(
        types.is_object_dtype(series)
        or types.is_string_dtype(series)
        or isinstance(series.dtype, pd.CategoricalDtype)
    )


def _example(series: pd.Series) -> str:
    """The first value of a text column that is not a number, to show in an error."""
    import pandas as pd

    numbers = pd.to_numeric(series, errors="coerce")
    bad = series[numbers.isna() & series.notna()]
    return repr(bad.iloc[0]) if len(bad) else repr(series.iloc[0])


def _features(frame: pd.DataFrame, options: TableOptions) -> tuple[np.ndarray, tuple[str, ...]]:
    shown = options.path
    columns = [c for c in frame.columns if c != options.target and c not in options.drop]
    if not columns:
        raise DataError(f"{shown}: no feature columns left besides the target and data.drop")
    text = [c for c in columns if not _is_number(frame[c])]
    odd = [c for c in text if not _is_text(frame[c])]
    if odd:
        raise DataError(
            f"{shown}: column {odd[0]!r} has type {frame[odd[0]].dtype}, which is neither "
            "a number nor text; convert it or leave it out with data.drop"
        )
    if text and options.categorical == "error":
        listed = ", ".join(f"{c!r} (e.g. {_example(frame[c])})" for c in text[:_LISTED])
        raise DataError(
            f"{shown}: non-numeric feature {_plural('column', len(text))} {listed}; "
            'set data.categorical = "onehot" or "ordinal", or leave them out with data.drop'
        )
    blocks: list[np.ndarray] = []
    names: list[str] = []
    for c in columns:
        col = frame[c]
        if c not in text:
            blocks.append(col.to_numpy(dtype=np.float64)[:, None])
            names.append(c)
            continue
        # The vocabulary comes from the whole column, so every split sees the same
        # encoding; it carries no statistic that scaling would fit on the training split.
        values = sorted(col.astype(str).unique())
        codes = col.astype(str).map({v: i for i, v in enumerate(values)}).to_numpy()
        if options.categorical == "ordinal":
            blocks.append(codes.astype(np.float64)[:, None])
            names.append(c)
        else:
            blocks.append(np.eye(len(values), dtype=np.float64)[codes])
            names.extend(f"{c}={v}" for v in values)
    x = np.concatenate(blocks, axis=1)
    if not np.isfinite(x).all():
        bad = names[int(np.nonzero(~np.isfinite(x).all(axis=0))[0][0])]
        raise DataError(f"{shown}: column {bad!r} holds an infinite value")
    if np.abs(x).max(initial=0.0) > np.finfo(np.float32).max:
        raise DataError(f"{shown}: a feature value is too large for float32")
    return x.astype(np.float32), tuple(names)


def infer_task(series: pd.Series) -> Task:
    """binary for two distinct values; multiclass for text, or integers with at most
    ``MAX_INFERRED_CLASSES`` distinct values; regression otherwise."""
    distinct = series.nunique()
    if distinct == 2:
        return "binary"
    if not _is_number(series):
        return "multiclass"
    values = series.to_numpy(dtype=np.float64)
    integral = bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))
    return "multiclass" if integral and distinct <= MAX_INFERRED_CLASSES else "regression"


def _python(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _target(series: pd.Series, options: TableOptions) -> tuple[np.ndarray, Task, tuple | None]:
    shown, name = options.path, options.target
    distinct = series.nunique()
    if distinct < 2:
        raise DataError(
            f"{shown}: target column {name!r} has a single value "
            f"({_python(series.iloc[0])!r}) in {len(series)} rows; there is nothing to learn"
        )
    task: Task = infer_task(series) if options.task == "auto" else options.task
    if task == "regression":
        if not _is_number(series):
            raise DataError(
                f"{shown}: data.task = regression, but target column {name!r} is not numeric "
                f"(e.g. {_example(series)})"
            )
        y = series.to_numpy(dtype=np.float64)
        if not np.isfinite(y).all():
            raise DataError(f"{shown}: target column {name!r} holds an infinite value")
        return y.astype(np.float32).reshape(-1, 1), task, None
    classes = tuple(_python(v) for v in sorted(series.unique(), key=_sort_key))
    if task == "binary" and len(classes) != 2:
        raise DataError(
            f"{shown}: data.task = binary, but target column {name!r} has {len(classes)} "
            f"classes ({_names(classes)}); use multiclass"
        )
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[_python(v)] for v in series.to_numpy()], dtype=np.int64)
    return y, task, classes


def _sort_key(v: Any) -> tuple[int, Any]:
    # Numbers in numeric order, anything else by its text, never a TypeError on mixes.
    if isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool):
        return (0, float(v))
    return (1, str(v))


def load_table(options: TableOptions, seed: int) -> RawData:
    """Features and target from the user's CSV or Parquet file.

    Raises:
        DataError: one line naming the file and what is wrong with it.
    """
    frame, _path = read_table(options)
    _check_columns(frame, options)
    used = [c for c in frame.columns if c not in options.drop]
    frame = _handle_missing(frame[used], options)
    x, names = _features(frame, options)
    y, task, classes = _target(frame[options.target], options)
    return RawData(x, y, task, names, classes)


register(
    Source(
        "table",
        TableOptions,
        None,
        f"{__name__}:load_table",
        "your own CSV or Parquet file: a target column, the task inferred or given",
    )
)
