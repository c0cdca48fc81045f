"""The user's own table: real CSV and Parquet files in tmp_path, and every error
as one line that names the file and the column."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sweep.config import parse_spec
from sweep.data import SOURCES, load_data
from sweep.data._table import TableOptions, infer_task
from sweep.errors import ConfigError, DataError


def _frame(n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "id": np.arange(n),
            "a": rng.normal(size=n),
            "b": rng.integers(0, 5, size=n),
            "colour": rng.choice(["red", "green", "blue"], size=n),
            "label": rng.choice(["no", "yes"], size=n),
            "score": rng.normal(10.0, 2.0, size=n),
            "kind": np.arange(n) % 3,
        }
    )


def _load(path: Path, **options):
    return SOURCES["table"].load(TableOptions(path=str(path), **options), 0)


def _error(path: Path, **options) -> str:
    with pytest.raises(DataError) as info:
        _load(path, **options)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.fixture
def csv(tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    _frame().to_csv(path, index=False)
    return path


@pytest.fixture
def parquet(tmp_path: Path) -> Path:
    path = tmp_path / "people.parquet"
    _frame().to_parquet(path)
    return path


def test_csv_binary_target_inferred_with_dropped_columns(csv: Path) -> None:
    raw = _load(csv, target="label", drop=("id", "colour"))
    assert raw.task == "binary" and raw.classes == ("no", "yes")
    assert raw.feature_names == ("a", "b", "score", "kind")
    assert raw.x.shape == (40, 4) and raw.x.dtype == np.float32
    assert raw.y.dtype == np.int64 and set(raw.y.tolist()) == {0, 1}
    expected = (_frame()["label"] == "yes").astype(int).to_numpy()
    np.testing.assert_array_equal(raw.y, expected)


def test_parquet_reads_the_same_as_csv(csv: Path, parquet: Path) -> None:
    a = _load(csv, target="score", drop=("id", "colour", "label"))
    b = _load(parquet, target="score", drop=("id", "colour", "label"))
    assert a.task == b.task == "regression"
    np.testing.assert_allclose(a.x, b.x, rtol=1e-6)
    np.testing.assert_allclose(a.y, b.y, rtol=1e-6)
    assert a.y.shape == (40, 1) and a.y.dtype == np.float32


def test_task_inference() -> None:
    assert infer_task(pd.Series([0, 1, 1, 0])) == "binary"
    assert infer_task(pd.Series(["a", "b", "c"])) == "multiclass"
    assert infer_task(pd.Series([0, 1, 2, 3, 2])) == "multiclass"
    assert infer_task(pd.Series([0.5, 1.5, 2.0])) == "regression"
    assert infer_task(pd.Series(np.arange(100))) == "regression"  # too many integers for classes


def test_integer_classes_and_an_explicit_task(csv: Path) -> None:
    raw = _load(csv, target="kind", drop=("id", "colour", "label"))
    assert raw.task == "multiclass" and raw.classes == (0, 1, 2)
    forced = _load(csv, target="kind", task="regression", drop=("id", "colour", "label"))
    assert forced.task == "regression" and forced.y.shape == (40, 1)


def test_categorical_encodings(csv: Path) -> None:
    onehot = _load(csv, target="label", drop=("id",), categorical="onehot")
    assert {"colour=blue", "colour=green", "colour=red"} <= set(onehot.feature_names)
    block = onehot.x[
        :, [onehot.feature_names.index(f"colour={c}") for c in ("blue", "green", "red")]
    ]
    assert (block.sum(axis=1) == 1).all()
    ordinal = _load(csv, target="label", drop=("id",), categorical="ordinal")
    col = ordinal.x[:, ordinal.feature_names.index("colour")]
    order = {"blue": 0, "green": 1, "red": 2}
    np.testing.assert_array_equal(col, [order[c] for c in _frame()["colour"]])


def test_a_non_numeric_feature_without_an_encoding(csv: Path) -> None:
    message = _error(csv, target="label")
    assert str(csv) in message and "'colour'" in message and "categorical" in message


def test_a_missing_target_column_lists_the_columns(csv: Path) -> None:
    message = _error(csv, target="outcome")
    assert "no target column 'outcome'" in message and "valid: id, a, b, colour" in message


def test_an_unknown_dropped_column(csv: Path) -> None:
    assert "data.drop names no column 'nope'" in _error(csv, target="label", drop=("nope",))


def test_missing_values_are_an_error_unless_rows_are_dropped(tmp_path: Path) -> None:
    frame = _frame()
    frame.loc[[3, 7], "a"] = np.nan
    frame.loc[5, "label"] = None
    path = tmp_path / "holes.csv"
    frame.to_csv(path, index=False)
    message = _error(path, target="label", drop=("colour",))
    assert "missing values in columns 'a' (2 rows), 'label' (1 row)" in message
    raw = _load(path, target="label", drop=("colour",), missing="drop")
    assert len(raw.x) == 37 and np.isfinite(raw.x).all()


def test_a_single_class_target(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": ["a", "a", "a"]}).to_csv(path, index=False)
    assert "target column 'y' has a single value ('a') in 3 rows" in _error(path, target="y")


def test_a_binary_task_with_three_classes(csv: Path) -> None:
    message = _error(csv, target="kind", task="binary", drop=("colour", "label"))
    assert "has 3 classes" in message


def test_regression_on_text_is_refused(csv: Path) -> None:
    assert "not numeric" in _error(csv, target="colour", task="regression", drop=("label",))


def test_missing_unreadable_and_empty_files(tmp_path: Path) -> None:
    message = _error(tmp_path / "absent.csv", target="y")
    assert "no such file" in message and str(tmp_path / "absent.csv") in message
    assert "is a directory" in _error(tmp_path, target="y")
    bad = tmp_path / "bad.parquet"
    bad.write_text("this is not parquet")
    assert "cannot read as parquet" in _error(bad, target="y")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "cannot read as csv" in _error(empty, target="y")
    header = tmp_path / "header.csv"
    header.write_text("x,y\n")
    assert "no rows" in _error(header, target="y")


def test_a_relative_path_is_resolved_from_the_current_directory(
    csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(csv.parent)
    raw = _load(Path(csv.name), target="label", drop=("id", "colour"))
    assert raw.x.shape == (40, 4)
    monkeypatch.chdir(os.sep)
    assert "resolved from the current directory" in _error(Path(csv.name), target="y")


def test_through_the_study_file_the_task_is_resolved_after_loading(csv: Path) -> None:
    spec = parse_spec(
        {
            "study": {"name": "t"},
            "data": {
                "source": "table",
                "path": str(csv),
                "target": "label",
                "drop": ["id"],
                "categorical": "onehot",
            },
        }
    )
    assert spec.task is None  # unknown until the file is read
    data = load_data(spec.data)
    assert data.task == "binary" and data.n_outputs == 1
    assert len(data.x_train) + len(data.x_val) + len(data.x_test) == 40


def test_option_errors_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"data\.target: missing required key"):
        parse_spec({"study": {"name": "t"}, "data": {"source": "table", "path": "x.csv"}})
    with pytest.raises(ConfigError, match=r"data\.categorical: unknown value 'hash'"):
        parse_spec(
            {
                "study": {"name": "t"},
                "data": {"source": "table", "path": "x.csv", "target": "y", "categorical": "hash"},
            }
        )
    with pytest.raises(ConfigError, match=r"data\.drop: lists the target column"):
        parse_spec(
            {
                "study": {"name": "t"},
                "data": {"source": "table", "path": "x.csv", "target": "y", "drop": ["y"]},
            }
        )


def test_the_command_line_prints_a_table_error_as_one_line(csv: Path, tmp_path: Path) -> None:
    from tests.conftest import run_cli

    study = tmp_path / "mine.toml"
    study.write_text(
        f'[study]\nname = "mine"\n\n[data]\nsource = "table"\npath = "{csv.name}"\n'
        'target = "outcome"\n'
    )
    out = run_cli("run", str(study), "--quiet", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.startswith("error: people.csv: no target column 'outcome'")
    assert out.stderr.count("\n") == 1
    assert not (tmp_path / "sweeps.db").exists()
