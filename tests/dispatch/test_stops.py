"""A run's time limit, a study's target and plateau: no trial starts after them, running
ones stop at their next epoch and are queued again; a time limit ends the run, a target
or a plateau the study, for every coordinator of it and for later runs."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

import sweep
from sweep.config import load_spec
from sweep.errors import TooManyFailures
from sweep.study import StopRule
from tests.conftest import SMALL_STUDY, assert_one_line_error, run_cli, write_study
from tests.dispatch.conftest import kill_group, slow_study, start_sweep, trials, wait_for


def long_study(tmp_path: Path, extra: str = "", epochs: int = 4000, trials: int = 50) -> Path:
    """A study that would take minutes: 50 trials of some seconds each, none pruned."""
    text = SMALL_STUDY.format(name="long", trials=trials, epochs=epochs)
    text = text.replace("pruner_startup = 3\n", f'pruner = "none"\n{extra}')
    path = tmp_path / "long.toml"
    path.write_text(text)
    return path


def test_a_time_limit_stops_the_run_and_queues_its_trials_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/t.db"
    # The first trial takes longer than the limit, so the limit falls inside it.
    spec = load_spec(long_study(tmp_path, "timeout = 2\n"))
    assert spec.study.timeout == 2.0
    start = time.monotonic()
    summary = sweep.run_study(spec, storage=url, pack=1, display="none")
    wall = time.monotonic() - start
    assert summary.stopped == "time limit"
    assert summary.finished < 50
    assert wall < 2 + 30  # it ends at the next epoch, not after the 50 trials
    trials = optuna.load_study(study_name="long", storage=url).trials
    stopped = [t for t in trials if t.user_attrs.get("fail_reason") == "stopped: time limit"]
    waiting = [t for t in trials if t.state == TrialState.WAITING]
    assert stopped and all(t.state == TrialState.FAIL for t in stopped)
    assert sorted(t.user_attrs["retry_of"] for t in waiting) == sorted(t.number for t in stopped)
    assert not any(t.state == TrialState.RUNNING for t in trials)

    again = sweep.run_study(
        spec,
        storage=url,
        pack=1,
        display="none",
        n_trials=summary.finished + len(waiting),
        timeout="10m",
    )
    assert again.stopped == "budget met"
    trials = optuna.load_study(study_name="long", storage=url).trials
    retried = {t.user_attrs["retry_of"]: t for t in trials if "retry_of" in t.user_attrs}
    assert all(retried[t.number].state == TrialState.COMPLETE for t in stopped)
    assert retried[stopped[0].number].params == stopped[0].params


@pytest.mark.parametrize(
    "args, extra, needles",
    [
        (["--timeout", "5x"], "", ["--timeout", "'5x' is not a duration"]),
        (["--timeout", "0"], "", ["--timeout", "above zero"]),
        ([], 'timeout = "soon"\n', ["long.toml", "study.timeout", "'soon'", "30m"]),
        ([], "timeout = -1\n", ["long.toml", "study.timeout", "above zero"]),
    ],
)
def test_a_bad_time_limit_is_one_line(tmp_path: Path, args, extra, needles) -> None:
    long_study(tmp_path, extra)
    out = run_cli("run", "long.toml", *args, cwd=tmp_path)
    assert_one_line_error(out, *needles)
    assert not (tmp_path / "sweeps.db").exists()


def stop_study(directory: Path, name: str, lines: str, trials: int = 6) -> Path:
    """The small study with ``lines`` added to its ``[study]`` table."""
    path = write_study(directory, name=name, trials=trials)
    path.write_text(path.read_text().replace("seed = 0\n", f"seed = 0\n{lines}", 1))
    return path


def test_a_target_stops_the_study_and_later_runs_until_told_to_go_on(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/t.db"
    spec = load_spec(stop_study(tmp_path, "aim", "target = 0.8\n", trials=40))
    first = sweep.run_study(spec, storage=url, pack=1, display="none")
    assert first.stopped == "target reached"
    study = optuna.load_study(study_name="aim", storage=url)
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    # The first complete trial at or above 0.8 ends it: none complete after it.
    reached = next(t for t in complete if t.value >= 0.8)
    assert reached.number == max(t.number for t in complete)
    assert f"trial {reached.number} reached" in first.stop_detail
    assert first.finished < 40
    stop = study.user_attrs["sweep.stopped"]
    assert stop["reason"] == "target reached" and stop["target"] == 0.8
    assert study.user_attrs["sweep.last_run"]["stopped"] == "target reached"

    again = sweep.run_study(spec, storage=url, pack=1, display="none")
    assert (again.stopped, again.complete + again.pruned + again.failed) == ("target reached", 0)
    assert "recorded" in again.stop_detail
    assert len(optuna.load_study(study_name="aim", storage=url).trials) == len(study.trials)

    # A higher target is a new question: the run goes on until it is met or the budget.
    higher = sweep.run_study(spec, storage=url, pack=1, display="none", target=0.999, n_trials=12)
    assert higher.complete + higher.pruned > 0
    assert higher.stopped in ("budget met", "target reached")

    onward = run_cli("run", "aim.toml", "--storage", url, "--continue", "--trials", "14",
                     "--quiet", "--no-report", cwd=tmp_path)  # fmt: skip
    assert onward.returncode == 0, onward.stderr
    assert "14/14 finished" in onward.stdout
    study = optuna.load_study(study_name="aim", storage=url)
    assert study.user_attrs["sweep.last_run"]["stopped"] == "budget met"


def test_a_plateau_stops_the_study_after_patience_trials(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/t.db"
    # Nothing improves an accuracy by more than 1: the first complete trial is the best
    # for good, and three finished trials after it end the study.
    extra = "patience = 3\nmin_delta = 1.0\n"
    spec = load_spec(stop_study(tmp_path, "flat", extra, trials=30))
    summary = sweep.run_study(spec, storage=url, pack=1, display="none")
    assert summary.stopped == "plateau"
    study = optuna.load_study(study_name="flat", storage=url)
    finished = [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    first = min(t.number for t in finished if t.state == TrialState.COMPLETE)
    assert len([t for t in finished if t.number > first]) == 3
    assert summary.finished == len(finished)
    assert study.user_attrs["sweep.stopped"]["patience"] == 3

    out = run_cli("run", "flat.toml", "--storage", url, "--no-report", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "study flat stopped (plateau: 3 finished trials in a row" in out.stdout
    assert "nothing to run" in out.stdout

    page = tmp_path / "flat.html"
    out = run_cli("report", "flat", "--storage", url, "--html", str(page), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    html = page.read_text()
    assert "<dt>stopped</dt><dd>plateau: 3 finished trials in a row" in html
    ran = summary.complete + summary.pruned + summary.failed
    assert f"<dt>last run</dt><dd>plateau after {ran} trials" in html


def test_the_stop_rule_follows_the_direction_and_min_delta() -> None:
    rule = StopRule(maximize=False, target=0.1, patience=2, min_delta=0.05)
    assert rule.ended(0, TrialState.COMPLETE, 0.5) is None
    assert rule.ended(1, TrialState.COMPLETE, 0.47) is None  # better, by less than 0.05
    assert rule.top == (1, 0.47) and rule.best == (0, 0.5) and rule.since_best == 1
    assert rule.ended(2, TrialState.COMPLETE, 0.3) is None  # better by 0.17: counts again
    assert rule.ended(3, TrialState.PRUNED, None) is None
    assert rule.ended(4, TrialState.FAIL, None) is None  # a failure is not a finished trial
    stop = rule.ended(5, TrialState.PRUNED, None)
    assert stop is not None and stop.reason == "plateau"
    hit = StopRule(maximize=False, target=0.1).ended(7, TrialState.COMPLETE, 0.1)
    assert hit is not None and hit.reason == "target reached" and "trial 7" in hit.detail
    assert StopRule(maximize=True, target=0.9).ended(0, TrialState.COMPLETE, 0.8) is None


@pytest.mark.postgres
def test_a_target_reached_on_one_machine_stops_the_others(
    tmp_path: Path, postgres_url: str
) -> None:
    heartbeat = 2
    slow_study(tmp_path, trials=500, heartbeat=heartbeat)
    args = ("slow.toml", "--pack", "1", "--per-device", "1", "--storage", postgres_url)
    first = start_sweep(*args, cwd=tmp_path)
    try:
        wait_for(
            lambda: [t for t in trials(postgres_url, "slow") if t.state == TrialState.COMPLETE],
            what="a complete trial",
        )
        # A second machine with a target every trial meets: it stops the study at once.
        second = run_cli("run", *args, "--target", "0", "--quiet", "--no-report", cwd=tmp_path)
        assert second.returncode == 0, second.stderr
        assert "study slow stopped (target reached" in second.stdout
        out, err = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            kill_group(first)
    assert first.returncode == 0, err
    assert "stopped: target reached" in out
    study = optuna.load_study(study_name="slow", storage=postgres_url)
    at = dt.datetime.fromisoformat(study.user_attrs["sweep.stopped"]["at"])
    late = at + dt.timedelta(seconds=heartbeat)
    everything = study.get_trials(deepcopy=False)
    assert not [t for t in everything if t.state == TrialState.RUNNING]
    assert all(
        t.datetime_start.astimezone(dt.timezone.utc) <= late for t in everything if t.datetime_start
    )
    ends = [
        t.datetime_complete.astimezone(dt.timezone.utc) for t in everything if t.datetime_complete
    ]
    assert max(ends) <= late  # within one heartbeat interval of the stop
    stopped = [
        t for t in everything if t.user_attrs.get("fail_reason") == "stopped: target reached"
    ]
    assert len(stopped) <= 1  # the one trial running then


@pytest.mark.parametrize(
    "extra, needles",
    [
        ("patience = 0\n", ["study.patience", "at least 1"]),
        ("min_delta = -0.1\n", ["study.min_delta", "at least 0"]),
        ("target = 1.5\n", ["study.target", "1.5 cannot be reached", "accuracy lies in [0, 1]"]),
        ('target = "high"\n', ["study.target", "expected a number"]),
    ],
)
def test_a_bad_stop_setting_is_one_line(tmp_path: Path, extra: str, needles) -> None:
    stop_study(tmp_path, "bad", extra)
    out = run_cli("run", "bad.toml", cwd=tmp_path)
    assert_one_line_error(out, "bad.toml", *needles)
    assert not (tmp_path / "sweeps.db").exists()


def test_a_target_an_mse_cannot_reach_is_one_line(tmp_path: Path) -> None:
    text = write_study(tmp_path, name="reg").read_text()
    text = text.replace('source = "moons"\nn_samples = 240\nnoise = 0.25', 'source = "diabetes"')
    text = text.replace('loss = ["bce", "mse", "quartic"]', 'loss = ["mse"]')
    (tmp_path / "reg.toml").write_text(text)
    out = run_cli("run", "reg.toml", "--target", "-1", cwd=tmp_path)
    assert_one_line_error(out, "--target", "-1 cannot be reached", "mse is at least 0")
    assert not (tmp_path / "sweeps.db").exists()


def test_a_trial_past_its_own_time_limit_fails_without_a_retry(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/t.db"
    text = long_study(tmp_path, trials=3).read_text() + "\n[run]\ntrial_timeout = 0.5\n"
    (tmp_path / "long.toml").write_text(text)
    spec = load_spec(tmp_path / "long.toml")
    # Every trial runs past its limit: three fail in a row, and the sweep gives up.
    with pytest.raises(TooManyFailures, match=r"trial time limit \(0.5 s\) passed"):
        sweep.run_study(spec, storage=url, pack=1, display="none")
    trials = optuna.load_study(study_name="long", storage=url).trials
    assert len(trials) == 3 and all(t.state == TrialState.FAIL for t in trials)
    assert all(t.user_attrs["fail_reason"] == "trial time limit (0.5 s) passed" for t in trials)
    assert not any("retry_of" in t.user_attrs for t in trials)
    assert all(len(t.intermediate_values) < 4000 for t in trials)
