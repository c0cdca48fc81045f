"""CSV export: one row per trial, typed parameter columns, ISO timestamps, state and
failure reason; read back with the same dtypes; every study of a database."""

from __future__ import annotations

from pathlib import Path

import optuna
import pandas as pd
from rich.console import Console

import sweep
from sweep.report import (
    COLUMN_DTYPES,
    PARAM_COLUMNS,
    export_all,
    print_ranked,
    read_trials_csv,
    trials_frame,
    write_csv,
)
from tests.report.conftest import Sweeps


def _assert_typed(frame: pd.DataFrame) -> None:
    for column, dtype in COLUMN_DTYPES.items():
        if column in frame:
            assert str(frame[column].dtype) == str(pd.Series(dtype=dtype).dtype), column


def test_frame_columns_have_their_types(sweeps: Sweeps) -> None:
    frame = sweep.open_study(sweeps.binary, sweeps.url).trials()
    _assert_typed(frame)
    params = [c for c in frame.columns if c in PARAM_COLUMNS]
    assert params == [c for c in PARAM_COLUMNS if c in params]  # in the documented order
    assert {"depth", "width", "activation", "loss", "optimizer", "lr"} <= set(params)
    assert frame["trial"].is_unique and len(frame) == len(
        optuna.load_study(study_name=sweeps.binary, storage=sweeps.url).trials
    )


def test_csv_round_trips_with_dtypes_states_reasons_and_iso_times(
    big_study: optuna.Study, tmp_path: Path
) -> None:
    frame = trials_frame(big_study)
    path = write_csv(frame, tmp_path / "nested" / "big.csv")
    back = read_trials_csv(path)
    pd.testing.assert_frame_equal(back, frame)
    # Plain pandas reads it the same way with the published dtypes.
    plain = pd.read_csv(path, dtype=COLUMN_DTYPES)  # type: ignore[arg-type]
    pd.testing.assert_frame_equal(plain, frame)
    assert set(back["state"]) == {"COMPLETE", "PRUNED", "FAIL"}
    failed = back[back["state"] == "FAIL"]
    assert len(failed) and failed["fail_reason"].str.startswith("diverged").all()
    assert back.loc[back["state"] == "PRUNED", "prune_reason"].notna().all()
    started = pd.to_datetime(back["started"], format="ISO8601")
    finished = pd.to_datetime(back["finished"], format="ISO8601")
    assert (finished >= started).all()
    # Integer columns with gaps stay integers; widths stay text even for one layer.
    assert str(back["rank"].dtype) == "Int64" and back["rank"].isna().sum() == len(
        back[back["state"] != "COMPLETE"]
    )
    assert back["widths"].map(type).eq(str).all()


def test_export_all_writes_one_file_per_study(sweeps: Sweeps, tmp_path: Path) -> None:
    written = export_all(sweeps.url, tmp_path / "all")
    assert set(written) == {sweeps.binary, sweeps.regression}
    for name, path in written.items():
        assert path == tmp_path / "all" / f"{name}.csv"
        back = read_trials_csv(path)
        expected = sweep.open_study(name, sweeps.url).trials()
        pd.testing.assert_frame_equal(back, expected)
    reg = read_trials_csv(written[sweeps.regression])
    assert "test_mse" in reg and "test_accuracy" not in reg


def test_latency_is_in_the_frame_the_csv_and_one_column_of_the_table(
    sweeps: Sweeps, tmp_path: Path
) -> None:
    frame = sweep.open_study(sweeps.binary, sweeps.url).trials()
    back = read_trials_csv(write_csv(frame, tmp_path / "binary.csv"))
    done = back[back["state"] == "COMPLETE"]
    for column in ("latency_ms", "latency_batch_ms"):
        assert len(done) and (done[column] > 0).all(), column
        assert back.loc[back["state"] != "COMPLETE", column].isna().all(), column
    console = Console(width=300, record=True)
    print_ranked(frame, title="t", metric="accuracy", console=console)
    headers = next(line for line in console.export_text().splitlines() if "trial" in line)
    assert [c for c in headers.split() if "ms/" in c] == ["ms/row"]  # one latency column
