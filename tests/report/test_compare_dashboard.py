"""Studies side by side, and optuna-dashboard reading a database sweep wrote."""

from __future__ import annotations

import io
import math

import pytest
from rich.console import Console

import sweep
from sweep.report import COMPARE_COLUMNS, compare_table
from sweep.storage import artifact_dir
from tests.report.conftest import Sweeps, dashboard_get


def test_compare_puts_best_values_counts_and_time_side_by_side(sweeps: Sweeps) -> None:
    names = [sweeps.binary, sweeps.regression]
    frame = sweep.compare_studies(names, sweeps.url)
    assert list(frame.columns) == COMPARE_COLUMNS and list(frame["study"]) == names
    for _, row in frame.iterrows():
        study = sweep.open_study(row["study"], sweeps.url)
        trials = study.trials()
        assert row["best"] == study.best.value and row["best_trial"] == study.best.number
        assert row["best_test"] == study.best.metrics[f"test_{study.objective.name}"]
        assert row["trials"] == len(trials)
        for state, column in (("COMPLETE", "complete"), ("PRUNED", "pruned"), ("FAIL", "failed")):
            assert row[column] == (trials["state"] == state).sum()
        assert math.isclose(row["train_seconds"], trials["train_seconds"].sum())
        assert row["wall_seconds"] > 0 and row["started"] <= row["finished"]
    assert list(frame["objective"]) == ["val accuracy", "val mse"]
    out = io.StringIO()
    Console(file=out, width=160).print(compare_table(frame))
    text = out.getvalue()
    assert sweeps.binary in text and sweeps.regression in text and "training time" in text


def test_optuna_dashboard_opens_a_database_sweep_wrote(sweeps: Sweeps) -> None:
    dashboard = pytest.importorskip(
        "optuna_dashboard",
        reason="optuna-dashboard is not installed (pip install sweep[dashboard])",
    )
    from optuna.artifacts import FileSystemArtifactStore

    # The URL string, as `optuna-dashboard sqlite:///sweeps.db` gets it: the dashboard
    # opens the storage itself.
    app = dashboard.wsgi(
        sweeps.url, artifact_store=FileSystemArtifactStore(str(artifact_dir(sweeps.url)))
    )
    status, listing = dashboard_get(app, "/api/studies")
    assert status.startswith("200"), status
    studies = {s["study_name"]: s for s in listing["study_summaries"]}
    assert set(studies) == {sweeps.binary, sweeps.regression}
    study = sweep.open_study(sweeps.binary, sweeps.url)
    status, detail = dashboard_get(app, f"/api/studies/{studies[sweeps.binary]['study_id']}")
    assert status.startswith("200"), status
    assert len(detail["trials"]) == len(study.trials())
    best = detail["best_trials"][0]
    assert best["number"] == study.best.number
    assert {a["key"] for a in best["user_attrs"]} >= {"config", "val_accuracy", "test_accuracy"}
    # The kept weights are artifacts of their trials, where the dashboard lists them.
    kept = {t["number"]: t for t in detail["trials"]}[study.best.number]
    assert any(
        a["artifact_id"] == study.saved_models()[study.best.number] for a in kept["artifacts"]
    )
    status, meta = dashboard_get(app, "/api/meta")
    assert meta["artifact_is_available"] is True
