"""Studies of several objectives: the metric against the parameter count, searched by
Optuna's multi-objective TPE, pruned against trials of similar size, ranked by the front
in every report, their front's models kept; and the study file's bad objectives."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import optuna
import pytest

import sweep
from sweep.config import load_spec
from sweep.objectives import front_order, on_front
from sweep.report import read_trials_csv, write_html
from sweep.storage import artifact_dir
from tests.conftest import REPO, assert_one_line_error, run_cli, write_study
from tests.report.conftest import dashboard_get

STARTUP = 8  # the random trials before TPE models the front


def _dominates(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.all(a <= b) and np.any(a < b))


def test_on_front_matches_a_brute_force_dominance_count() -> None:
    rng = np.random.default_rng(0)
    # Integers: ties on one column and whole duplicates occur, as equal sizes do.
    points = rng.integers(0, 6, size=(300, 3)).astype(float)
    brute = [not any(_dominates(q, p) for q in points) for p in points]
    assert on_front(points).tolist() == brute
    assert 0 < sum(brute) < len(points)


def test_front_order_puts_the_front_first_each_part_by_the_metric() -> None:
    values = np.array([[0.90, 100], [0.95, 500], [0.80, 50], [0.93, 600], [0.85, 700]])
    order, front = front_order(values, sweep.metrics.Objective("accuracy", "maximize"))
    assert front.tolist() == [True, True, True, False, False]
    assert order.tolist() == [1, 0, 2, 3, 4]


def _mo_study(directory: Path, name: str) -> Path:
    """studies/digits.toml, shortened, as a study of the metric against the size."""
    text = (REPO / "studies" / "digits.toml").read_text()
    text = text.replace('name = "digits"', f'name = "{name}"')
    text = text.replace("trials = 40", f"trials = 20\nsampler_startup = {STARTUP}\n"
                        'objectives = ["metric", "params"]')  # fmt: skip
    text = text.replace("epochs = 30", "epochs = 4")
    path = directory / f"{name}.toml"
    path.write_text(text)
    return path


def _area(points: np.ndarray, reference: np.ndarray) -> float:
    """The area the front of ``points`` (both columns minimised) dominates up to
    ``reference``: the 2-D hypervolume."""
    front = points[on_front(points)]
    front = front[np.lexsort((front[:, 1], front[:, 0]))]
    area, ceiling = 0.0, reference[1]
    for x, y in front:
        if y < ceiling:
            area += (reference[0] - x) * (ceiling - y)
            ceiling = y
    return area


@pytest.mark.slow
@pytest.mark.parametrize("pack", ["auto", 1], ids=["packed", "alone"])
def test_a_study_of_the_metric_against_the_size(tmp_path: Path, pack: int | str) -> None:
    url = f"sqlite:///{tmp_path / 'mo.db'}"
    spec = load_spec(_mo_study(tmp_path, "digits_mo"))
    summary = sweep.run_study(spec, storage=url, devices="cpu", pack=pack, display="none")
    assert summary.complete > STARTUP
    study = sweep.open_study("digits_mo", url)
    raw = study.optuna_study
    assert raw.directions == [
        optuna.study.StudyDirection.MAXIMIZE,
        optuna.study.StudyDirection.MINIMIZE,
    ]
    done = raw.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    for t in done:  # the metric, then the parameter count
        assert t.values == [t.user_attrs["val_accuracy"], t.user_attrs["n_params"]]
    # No pruned trial has values: Optuna's tell records none in such a study.
    pruned = raw.get_trials(states=(optuna.trial.TrialState.PRUNED,))
    assert all(t.values is None and t.intermediate_values for t in pruned)

    # The search moves the front beyond the random start-up batch.
    points = np.array([[-t.values[0], t.values[1]] for t in done])
    first = np.array([[-t.values[0], t.values[1]] for t in done if t.number < STARTUP])
    reference = np.array([0.0, points[:, 1].max() * 1.1])
    assert _area(points, reference) > _area(first, reference)

    # Rank 1 is the front, ordered by the metric; then the rest, by the metric.
    frame = study.trials()
    ranked = frame[frame["state"] == "COMPLETE"]
    on = ranked["front"].astype(bool).to_numpy()
    assert on.sum() >= 1 and not np.any(on[1:] & ~on[:-1]), "the front comes first"
    for part in (ranked[on], ranked[~on]):
        assert list(part["value"]) == sorted(part["value"], reverse=True)
    brute = [
        not any(_dominates(q, p) for q in points)
        for p in np.array([[-v, n] for v, n in zip(ranked["value"], ranked["n_params"])])
    ]
    assert on.tolist() == brute
    # With the metric against the size, the study's front is the report's pareto column.
    assert ranked["pareto"].astype(bool).tolist() == on.tolist()
    assert study.best.number == int(ranked.iloc[0]["trial"])
    assert list(study.top(3)["trial"]) == list(ranked["trial"][:3])

    # Every front member keeps its model, and loads.
    front = set(ranked[on]["trial"].astype(int))
    assert front <= set(study.saved_models())
    for number in front:
        model = study.model(trial=number)
        assert sum(p.numel() for p in model.parameters()) == raw.trials[number].values[1]

    # The reports read it: HTML with its plots, CSV, the terminal's front.
    html = write_html(raw, tmp_path / "mo.html").read_text()
    for section in ("Pareto", "history", "importances"):
        assert section.lower() in html.lower(), section
    out = run_cli("report", "digits_mo", "--storage", url, "--pareto", "--csv", str(tmp_path / "c"))
    assert out.returncode == 0, out.stderr
    assert "front" in out.stdout and "Pareto front" in out.stdout
    csv = read_trials_csv(tmp_path / "c")
    assert csv["front"].dropna().astype(bool).tolist() == on.tolist()


@pytest.mark.slow
def test_optuna_and_its_dashboard_read_a_study_of_several_objectives(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'mo.db'}"
    spec = load_spec(_mo_study(tmp_path, "digits_mo"))
    sweep.run_study(spec, storage=url, devices="cpu", n_trials=12, display="none")
    study = sweep.open_study("digits_mo", url)
    front = set(study.pareto()["trial"].astype(int))
    optuna_cli = Path(sys.executable).with_name("optuna")
    out = subprocess.run(
        [str(optuna_cli), "best-trials", "--study-name", "digits_mo", "--storage", url, "-f",
         "json"], capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    import json

    listed = {int(t["number"]) for t in json.loads(out.stdout)}
    assert listed == front  # Optuna's own front of (metric, params)

    dashboard = pytest.importorskip(
        "optuna_dashboard",
        reason="optuna-dashboard is not installed (pip install sweep[dashboard])",
    )
    from optuna.artifacts import FileSystemArtifactStore

    app = dashboard.wsgi(url, artifact_store=FileSystemArtifactStore(str(artifact_dir(url))))
    status, listing = dashboard_get(app, "/api/studies")
    assert status.startswith("200"), status
    (summary,) = listing["study_summaries"]
    assert len(summary["directions"]) == 2
    status, detail = dashboard_get(app, f"/api/studies/{summary['study_id']}")
    assert status.startswith("200"), status
    assert {t["number"] for t in detail["best_trials"]} == front


@pytest.mark.parametrize(
    ("objectives", "needles"),
    [
        ('["metric"]', ("study.objectives", "one objective only")),
        ('["params", "metric"]', ("study.objectives", "metric", "first")),
        ('["metric", "size"]', ("study.objectives", "size", "params", "latency")),
        ('["metric", "params", "params"]', ("study.objectives", "params")),
    ],
    ids=["one", "metric-not-first", "unknown", "twice"],
)
def test_bad_objectives_are_one_line_and_write_nothing(
    tmp_path: Path, objectives: str, needles: tuple[str, ...]
) -> None:
    path = write_study(tmp_path, extra="")
    path.write_text(path.read_text().replace("seed = 0", f"seed = 0\nobjectives = {objectives}"))
    db = tmp_path / "bad.db"
    out = run_cli("run", str(path), "--storage", f"sqlite:///{db}", "--quiet")
    assert_one_line_error(out, str(path), *needles)
    assert not db.exists()


def test_a_pruner_that_judges_one_value_is_refused_with_the_valid_ones(tmp_path: Path) -> None:
    path = write_study(tmp_path)
    path.write_text(
        path.read_text().replace(
            "seed = 0", 'seed = 0\nobjectives = ["metric", "params"]\npruner = "hyperband"'
        )
    )
    db = tmp_path / "bad.db"
    out = run_cli("run", str(path), "--storage", f"sqlite:///{db}", "--quiet")
    assert_one_line_error(out, "study.pruner", "hyperband", "median", "percentile", "none")
    assert not db.exists()


def test_a_study_keeps_its_objectives(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'keep.db'}"
    path = write_study(tmp_path, trials=2, epochs=1)
    assert run_cli("run", str(path), "--storage", url, "--quiet").returncode == 0
    path.write_text(
        path.read_text().replace("seed = 0", 'seed = 0\nobjectives = ["metric", "params"]')
    )
    out = run_cli("run", str(path), "--storage", url, "--quiet", "--trials", "3")
    assert_one_line_error(out, "study.objectives", "['metric']", "['metric', 'params']")
    assert len(sweep.open_study("small", url).trials()) == 2  # nothing more was written
