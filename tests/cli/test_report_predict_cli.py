"""The real command line for reports, comparisons and predictions, in a subprocess."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

import sweep
from sweep.report import PLOTS, read_trials_csv
from tests.conftest import assert_one_line_error, run_cli, write_study


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where `sweep run` finished a small study, with a copy of it beside it
    (a second study to compare and export, without training it again)."""
    work = tmp_path_factory.mktemp("reports")
    write_study(work, name="small", trials=5)
    out = run_cli("run", "small.toml", "--quiet", "--no-report", cwd=work)
    assert out.returncode == 0, out.stderr
    url = f"sqlite:///{work / 'sweeps.db'}"
    optuna.copy_study(
        from_study_name="small", from_storage=url, to_storage=url, to_study_name="other"
    )
    rows = pd.DataFrame({"id": ["a", "b", "c"], "x1": [0.5, -0.5, 0.0], "x0": [0.0, 1.0, 2.0]})
    rows.to_csv(work / "rows.csv", index=False)
    return work


def test_report_writes_html_png_csv_and_shows_effects(work: Path) -> None:
    out = run_cli(
        "report",
        "small",
        "--effects",
        "--csv",
        "out/small.csv",
        "--html",
        "out/small.html",
        "--png",
        "out/png",
        "--curves",
        "3",
        cwd=work,
    )
    assert out.returncode == 0, out.stderr
    for title in (
        "small: top 10",
        "activation: val accuracy by activation",
        "optimizer: val accuracy by optimizer",
        "depth x width",
    ):
        assert title in out.stdout, title
    html = (work / "out" / "small.html").read_text(encoding="utf-8")
    assert all(f'id="{key}"' in html for key, _ in PLOTS)
    assert "Learning curves of the top 3 trials" in html
    for key, _ in PLOTS:
        png = work / "out" / "png" / f"{key}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    frame = read_trials_csv(work / "out" / "small.csv")
    expected = sweep.open_study("small", f"sqlite:///{work / 'sweeps.db'}").trials()
    pd.testing.assert_frame_equal(frame, expected)


def test_report_all_exports_every_study(work: Path) -> None:
    out = run_cli("report", "--all", "--csv", "every", cwd=work)
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in (work / "every").iterdir()) == ["other.csv", "small.csv"]
    assert "wrote every/small.csv (study small)" in out.stdout


def test_compare_shows_studies_side_by_side(work: Path) -> None:
    out = run_cli("compare", "small", "other", "--csv", "cmp.csv", cwd=work)
    assert out.returncode == 0, out.stderr
    header = next(line for line in out.stdout.splitlines() if "small" in line)
    assert header.index("small") < header.index("other")
    for label in ("best value", "trials", "wall clock", "training time"):
        assert label in out.stdout
    frame = pd.read_csv(work / "cmp.csv")
    assert list(frame["study"]) == ["small", "other"]


def test_predict_writes_the_apis_predictions(work: Path) -> None:
    study = sweep.open_study("small", f"sqlite:///{work / 'sweeps.db'}")
    other = max(study.saved_models())  # a kept trial, not necessarily the best
    out = run_cli(
        "predict",
        "small",
        "--input",
        "rows.csv",
        "--output",
        "pred/p.csv",
        "--proba",
        "--trial",
        str(other),
        cwd=work,
    )
    assert out.returncode == 0, out.stderr
    assert f"predicted by trial {other} of small" in out.stdout
    got = pd.read_csv(work / "pred" / "p.csv")
    assert list(got.columns) == ["id", "x1", "x0", "prediction", "p_0", "p_1"]
    rows = pd.read_csv(work / "rows.csv")
    np.testing.assert_array_equal(got["prediction"], study.predict(rows, trial=other))
    np.testing.assert_allclose(
        got[["p_0", "p_1"]], study.predict_proba(rows, trial=other), rtol=1e-6
    )


BAD_PREDICTIONS = [
    ("columns", "1,2,3\n4,5,6\n", ["--no-header"], ["input has 3 columns", "takes 2 (x0, x1)"]),
    ("missing", "x0,y\n1,2\n", [], ["input is missing columns x1"]),
    ("text", "x0,x1\n1,2\n3,abc\n", [], ["column 'x1' is not numeric: 'abc' in row 2"]),
    ("empty", "", [], ["the input file is empty"]),
]


@pytest.mark.parametrize(
    ("name", "text", "flags", "needles"), BAD_PREDICTIONS, ids=[b[0] for b in BAD_PREDICTIONS]
)
def test_bad_prediction_input_is_one_line(
    work: Path, name: str, text: str, flags: list[str], needles: list[str]
) -> None:
    (work / f"{name}.csv").write_text(text)
    out = run_cli(
        "predict", "small", "--input", f"{name}.csv", "--output", "o.csv", *flags, cwd=work
    )
    assert_one_line_error(out, *needles)
    assert not (work / "o.csv").exists()


BAD_COMMANDS = [
    (["report"], ["needs a study name"]),
    (["report", "--all"], ["needs --csv DIR"]),
    (["report", "small", "--all", "--csv", "x"], ["no study name"]),
    (["compare", "small", "nope"], ["study 'nope' not found", "valid: "]),
    (["predict", "small", "--input", "absent.csv", "--output", "o.csv"], ["no such input file"]),
    (
        ["predict", "small", "--input", "rows.csv", "--output", "o.csv", "--trial", "999"],
        ["no saved weights for trial 999"],
    ),
]


@pytest.mark.parametrize(
    ("args", "needles"), BAD_COMMANDS, ids=[" ".join(a) for a, _ in BAD_COMMANDS]
)
def test_bad_commands_are_one_line(work: Path, args: list[str], needles: list[str]) -> None:
    assert_one_line_error(run_cli(*args, cwd=work), *needles)


UNWRITABLE = [
    (["report", "small", "--csv", "afile/x.csv"], "--csv afile/x.csv"),
    (["report", "small", "--html", "afile/sub/r.html"], "--html afile/sub/r.html"),
    (["report", "small", "--png", "afile/png"], "--png afile/png"),
    (["report", "small", "--csv", "ok.csv", "--png", "afile"], "--png afile"),
    (["report", "--all", "--csv", "afile"], "--csv afile"),
    (["compare", "small", "other", "--csv", "afile/c.csv"], "--csv afile/c.csv"),
    (
        ["predict", "small", "--input", "rows.csv", "--output", "afile/p.csv"],
        "--output afile/p.csv",
    ),
    (["run", "small.toml", "--trials", "9", "--report-dir", "afile/r"], "--report-dir afile/r"),
]


@pytest.mark.parametrize(("args", "flag"), UNWRITABLE, ids=[" ".join(a) for a, _ in UNWRITABLE])
def test_an_output_path_under_a_file_fails_first_in_one_line(
    work: Path, args: list[str], flag: str
) -> None:
    (work / "afile").write_text("")
    before = sorted(p.name for p in work.iterdir())
    out = run_cli(*args, cwd=work)
    assert_one_line_error(out, f"error: {flag}: cannot write: afile is a file")
    assert out.stdout == ""  # checked before the table is printed or a trial runs
    assert sorted(p.name for p in work.iterdir()) == before
    assert len(sweep.open_study("small", f"sqlite:///{work / 'sweeps.db'}").trials()) == 5


def test_an_output_path_that_is_a_directory_fails_in_one_line(work: Path) -> None:
    (work / "adir").mkdir(exist_ok=True)
    out = run_cli("report", "small", "--csv", "adir", cwd=work)
    assert_one_line_error(out, "error: --csv adir: cannot write: adir is a directory")


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_an_output_path_in_a_read_only_folder_fails_in_one_line(work: Path) -> None:
    # /proc/self is read-only even for root, who may write in any chmod 555 folder.
    out = run_cli("report", "small", "--csv", "/proc/self/x.csv", cwd=work)
    assert_one_line_error(
        out, "error: --csv /proc/self/x.csv: cannot write: /proc/self is not writable"
    )
    assert out.stdout == ""


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in a read-only folder")
def test_an_output_path_in_a_chmod_555_folder_fails_in_one_line(work: Path) -> None:
    locked = work / "locked"
    locked.mkdir(exist_ok=True)
    locked.chmod(0o555)
    try:
        out = run_cli("report", "small", "--html", "locked/r.html", cwd=work)
    finally:
        locked.chmod(0o755)
    assert_one_line_error(out, "error: --html locked/r.html: cannot write: locked is not writable")
    assert list(locked.iterdir()) == []


def test_debug_shows_the_traceback_of_an_unwritable_path(work: Path) -> None:
    (work / "afile").write_text("")
    out = run_cli("report", "small", "--csv", "afile/x.csv", cwd=work, env={"SWEEP_DEBUG": "1"})
    assert out.returncode != 0
    assert "Traceback" in out.stderr and "OutputError" in out.stderr
