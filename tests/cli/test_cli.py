"""The real command line in a subprocess: output, files and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import assert_one_line_error, run_cli, write_study


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory where `sweep run` has finished a small study (sweeps.db, reports/)."""
    work = tmp_path_factory.mktemp("cli")
    write_study(work, trials=5)
    out = run_cli("run", "small.toml", cwd=work)
    assert out.returncode == 0, out.stderr
    (work / "run.out").write_text(out.stdout)
    return work


def test_run_prints_the_ranked_table_and_writes_the_csv(finished: Path) -> None:
    stdout = (finished / "run.out").read_text()
    assert "study small: ran 5 trials" in stdout
    assert "small: top 10" in stdout and "val accuracy" in stdout
    assert (finished / "sweeps.db").exists()
    frame = pd.read_csv(finished / "reports" / "small.csv")
    assert len(frame) >= 5
    for col in (
        "rank",
        "trial",
        "state",
        "value",
        "depth",
        "activation",
        "loss",
        "optimizer",
        "lr",
        "epochs_run",
        "train_seconds",
        "n_params",
        "val_accuracy",
    ):
        assert col in frame.columns
    done = frame[frame["state"] == "COMPLETE"]
    assert list(done["value"]) == sorted(done["value"], reverse=True)
    assert list(done["rank"]) == list(range(1, len(done) + 1))


def test_a_second_run_with_the_same_budget_does_nothing(finished: Path) -> None:
    out = run_cli("run", "small.toml", "--no-report", cwd=finished)
    assert out.returncode == 0, out.stderr
    assert "budget of 5 finished trials already met" in out.stdout


def test_report_best_and_studies(finished: Path) -> None:
    out = run_cli("report", "small", "--csv", "all.csv", "--top", "3", cwd=finished)
    assert out.returncode == 0, out.stderr
    assert "small: top 3" in out.stdout and (finished / "all.csv").exists()
    out = run_cli("best", "small", "--json", cwd=finished)
    assert out.returncode == 0, out.stderr
    best = json.loads(out.stdout)
    frame = pd.read_csv(finished / "all.csv")
    assert best["trial"] == int(frame.iloc[0]["trial"]) and best["value"] == pytest.approx(
        frame.iloc[0]["value"]
    )
    assert (
        best["params"]["optimizer"] in ("sgd", "adam", "rmsprop")
        and "val_accuracy" in best["metrics"]
    )
    out = run_cli("studies", cwd=finished)
    assert out.returncode == 0 and "small" in out.stdout


BAD_RUNS = [
    ("missing.toml", None, ["missing.toml", "no such study file"]),
    ("broken.toml", "[study\nname='x'", ["broken.toml", "malformed TOML"]),
    (
        "opt.toml",
        "[study]\nname='x'\n[data]\nsource='moons'\n[space]\noptimizer=['sgd','adm']\n",
        ["opt.toml: space.optimizer: unknown name 'adm'", "valid: sgd, adam, adamw"],
    ),
    (
        "act.toml",
        "[study]\nname='x'\n[data]\nsource='moons'\n[space]\nactivation='gelu'\n",
        ["space.activation", "valid: relu, tanh, split, sum"],
    ),
    (
        "loss.toml",
        "[study]\nname='x'\n[data]\nsource='moons'\n[space]\nloss='huber'\n",
        ["space.loss", "valid: bce, mse, quartic, l1, smooth_l1, cross_entropy"],
    ),
    (
        "type.toml",
        "[study]\nname='x'\ntrials='ten'\n[data]\nsource='moons'\n",
        ["study.trials", "expected an integer"],
    ),
]


@pytest.mark.parametrize(("name", "text", "needles"), BAD_RUNS, ids=[b[0] for b in BAD_RUNS])
def test_bad_study_files_exit_2_with_one_line_and_write_nothing(
    tmp_path: Path, name: str, text: str | None, needles: list[str]
) -> None:
    if text is not None:
        (tmp_path / name).write_text(text)
    out = run_cli("run", name, cwd=tmp_path)
    assert_one_line_error(out, *needles)
    assert not (tmp_path / "sweeps.db").exists()


def test_unreachable_storage_hides_the_password(tmp_path: Path) -> None:
    write_study(tmp_path, trials=2)
    out = run_cli(
        "run",
        "small.toml",
        "--storage",
        "postgresql://alice:s3cr3tpw@127.0.0.1:1/none",
        cwd=tmp_path,
    )
    assert_one_line_error(out, "storage", "alice:***@127.0.0.1:1")
    assert "s3cr3tpw" not in out.stderr + out.stdout


def test_unknown_study_and_missing_database(finished: Path, tmp_path: Path) -> None:
    out = run_cli("report", "nosuch", cwd=finished)
    assert_one_line_error(out, "study 'nosuch' not found", "valid: small")
    out = run_cli("best", "small", "--storage", "elsewhere.db", cwd=tmp_path)
    assert_one_line_error(out, "no database at elsewhere.db")
    assert not (tmp_path / "elsewhere.db").exists()


def test_bad_flags_are_one_line_errors(tmp_path: Path) -> None:
    write_study(tmp_path)
    out = run_cli("run", "small.toml", "--trials", "0", cwd=tmp_path)
    assert_one_line_error(out, "--trials", "at least 1")
    out = run_cli("run", "small.toml", "--devices", "cuda:7", cwd=tmp_path)
    assert_one_line_error(out, "device 'cuda:7' is not available", "valid: auto, cpu")
    assert not (tmp_path / "sweeps.db").exists()


def test_debug_variable_shows_the_traceback(tmp_path: Path) -> None:
    out = run_cli("run", "missing.toml", cwd=tmp_path, env={"SWEEP_DEBUG": "1"})
    assert out.returncode != 0 and "Traceback" in out.stderr
