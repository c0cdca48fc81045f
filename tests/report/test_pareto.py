"""Accuracy against size: the Pareto front of the validation metric against the parameter
count, in the frame, the CSV, the terminal, Python and ``sweep best --within``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import sweep
from sweep.metrics import Objective
from sweep.report._pareto import pareto_mask, smallest_within
from tests.conftest import assert_one_line_error, run_cli, write_study

ACCURACY = Objective("accuracy", "maximize")
MSE = Objective("mse", "minimize")


def frame(rows: list[tuple[int, str, float, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["trial", "state", "value", "n_params"])


TRIALS = frame(
    [
        (0, "COMPLETE", 0.90, 100),
        (1, "COMPLETE", 0.95, 1000),
        (2, "COMPLETE", 0.93, 2000),  # beaten by 1: smaller and better
        (3, "COMPLETE", 0.90, 100),  # the same as 0: both on the front
        (4, "COMPLETE", 0.89, 50),
        (5, "PRUNED", 0.99, 10),  # not complete
        (6, "COMPLETE", 0.90, 500),  # as good as 0, and larger
    ]
)


def test_the_front_keeps_the_trials_no_other_beats_on_both() -> None:
    front = TRIALS[pareto_mask(TRIALS, ACCURACY).astype(bool)]
    assert sorted(front["trial"]) == [0, 1, 3, 4]
    # Minimising, the order of merit turns around: the smallest value is best.
    flipped = TRIALS.assign(value=1 - TRIALS["value"])
    assert sorted(flipped[pareto_mask(flipped, MSE).astype(bool)]["trial"]) == [0, 1, 3, 4]


def test_the_smallest_network_within_a_distance_of_the_best() -> None:
    assert int(smallest_within(TRIALS, ACCURACY, 0.05)["trial"]) == 0
    assert int(smallest_within(TRIALS, ACCURACY, 0.0)["trial"]) == 1
    assert int(smallest_within(TRIALS, ACCURACY, 0.06)["trial"]) == 4
    assert smallest_within(TRIALS.drop(columns="n_params"), ACCURACY, 1.0) is None


@pytest.fixture(scope="module")
def small_study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("pareto")
    url = f"sqlite:///{folder}/p.db"
    spec = sweep.load_spec(write_study(folder, name="small", trials=8, epochs=2))
    sweep.run_study(spec, storage=url, display="none")
    return folder, url


def test_every_report_marks_the_front(small_study) -> None:
    folder, url = small_study
    study = sweep.open_study("small", url)
    trials = study.trials()
    expected = pareto_mask(trials, study.objective).astype(bool)
    assert trials["pareto"].astype(bool).tolist() == expected.tolist() and expected.any()
    front = study.pareto()
    assert front["trial"].tolist() == trials[expected]["trial"].tolist()  # best metric first
    assert front["value"].is_monotonic_decreasing

    csv = folder / "small.csv"
    out = run_cli("report", "small", "--storage", url, "--pareto", "--csv", str(csv), cwd=folder)
    assert out.returncode == 0, out.stderr
    assert (
        f"the Pareto front of val accuracy against parameters ({len(front)} trials)" in out.stdout
    )
    written = pd.read_csv(csv)
    assert written.loc[written["pareto"], "trial"].sort_values().tolist() == sorted(front["trial"])


def test_best_within_gives_the_smallest_network_nearly_as_good(small_study) -> None:
    folder, url = small_study
    study = sweep.open_study("small", url)
    done = study.trials().query("state == 'COMPLETE'")
    smallest = done.sort_values(["n_params", "value"], ascending=[True, False]).iloc[0]
    out = run_cli("best", "small", "--storage", url, "--within", "1", cwd=folder)
    assert out.returncode == 0, out.stderr
    assert f"smallest network within 1 of the best: trial {int(smallest['trial'])}," in out.stdout
    tied = done[done["value"] == study.best.value]  # the best value, smallest of them
    exact = study.smallest_within(0.0)
    assert exact.value == study.best.value
    assert exact.number == int(tied.sort_values("n_params", kind="stable").iloc[0]["trial"])
    bad = run_cli("best", "small", "--storage", url, "--within", "-1", cwd=folder)
    assert_one_line_error(bad, "--within", "at least 0")
