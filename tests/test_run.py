"""End to end on real SQLite files: a sweep persists, resumes, tops up, and never redoes work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

import sweep
from sweep.config import load_spec
from sweep.errors import ConfigError
from tests.conftest import write_study


def _states(url: str, name: str) -> list[TrialState]:
    return [
        t.state for t in optuna.load_study(study_name=name, storage=url).get_trials(deepcopy=False)
    ]


def test_a_small_sweep_completes_and_persists(study_file: Path, sqlite_url: str) -> None:
    summary = sweep.run_study(
        load_spec(study_file), storage=sqlite_url, display="none", devices="cpu"
    )
    assert summary.finished == 6 and summary.complete + summary.pruned == 6
    study = optuna.load_study(study_name="small", storage=sqlite_url)
    finished = [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(finished) == 6
    for t in finished:
        assert set(t.user_attrs["config"]) >= {"widths", "activation", "loss", "optimizer", "lr"}
        assert t.user_attrs["device"] == "cpu" and t.user_attrs["epochs_run"] >= 1
        # The per-epoch validation metric, every epoch run (held back while the trial
        # runs, written before its end).
        assert sorted(t.intermediate_values) == list(range(1, t.user_attrs["epochs_run"] + 1))
    done = [t for t in finished if t.state == TrialState.COMPLETE]
    assert done and all(0.0 <= t.value <= 1.0 for t in done)
    assert all({"val_accuracy", "test_accuracy", "train_loss"} <= set(t.user_attrs) for t in done)
    assert study.user_attrs["sweep.objective"] == "accuracy"


def test_rerun_resumes_and_trials_is_a_total(study_file: Path, sqlite_url: str) -> None:
    spec = load_spec(study_file)
    sweep.run_study(spec, storage=sqlite_url, display="none", n_trials=4)
    before = {
        t.number: (t.state, t.value)
        for t in optuna.load_study(study_name="small", storage=sqlite_url).trials
    }
    again = sweep.run_study(spec, storage=sqlite_url, display="none", n_trials=4)
    assert again.complete + again.pruned + again.failed == 0
    assert len(_states(sqlite_url, "small")) == len(before)
    more = sweep.run_study(spec, storage=sqlite_url, display="none", n_trials=7)
    assert more.finished == 7
    after = {
        t.number: (t.state, t.value)
        for t in optuna.load_study(study_name="small", storage=sqlite_url).trials
    }
    assert all(after[n] == v for n, v in before.items())  # nothing redone or lost


def test_a_changed_study_definition_is_refused_and_nothing_written(
    tmp_path: Path, sqlite_url: str
) -> None:
    sweep.run_study(load_spec(write_study(tmp_path, trials=2)), storage=sqlite_url, display="none")
    count = len(_states(sqlite_url, "small"))
    changed = write_study(tmp_path, trials=2, epochs=5)
    with pytest.raises(ConfigError, match="already exists with different"):
        sweep.run_study(load_spec(changed), storage=sqlite_url, display="none")
    assert len(_states(sqlite_url, "small")) == count


def test_diverging_trials_fail_with_a_reason_and_the_sweep_goes_on(
    tmp_path: Path, sqlite_url: str
) -> None:
    path = tmp_path / "wild.toml"
    path.write_text(
        """
[study]
name = "wild"
trials = 6
pruner = "none"
sampler = "random"
[data]
source = "function"
n_samples = 120
[train]
epochs = 4
[space]
loss = "quartic"
optimizer = "sgd"
lr = [1e-3, 1e5]
batch_size = 120
"""
    )
    summary = sweep.run_study(load_spec(path), storage=sqlite_url, display="none", pack=1)
    study = optuna.load_study(study_name="wild", storage=sqlite_url)
    failed = [t for t in study.trials if t.state == TrialState.FAIL]
    assert summary.finished == 6 and failed
    assert all(t.user_attrs["fail_reason"].startswith("diverged") for t in failed)
    assert all(t.params["lr"] == 1e5 for t in failed)


def test_the_optuna_cli_reads_the_database(study_file: Path, sqlite_url: str) -> None:
    sweep.run_study(load_spec(study_file), storage=sqlite_url, display="none", n_trials=3)
    optuna_cli = Path(sys.executable).with_name("optuna")
    out = subprocess.run(
        [str(optuna_cli), "trials", "--study-name", "small", "--storage", sqlite_url, "-f", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.count('"number"') >= 3
    assert '"user_attrs_val_accuracy"' in out.stdout or "val_accuracy" in out.stdout


def test_python_api_ranks_and_returns_the_best(study_file: Path, sqlite_url: str) -> None:
    sweep.run_study(load_spec(study_file), storage=sqlite_url, display="none")
    study = sweep.open_study("small", storage=sqlite_url)
    frame = study.trials()
    done = frame[frame["state"] == "COMPLETE"]
    assert list(done["rank"]) == list(range(1, len(done) + 1))
    assert list(done["value"]) == sorted(done["value"], reverse=True)
    for col in (
        "trial",
        "state",
        "value",
        "depth",
        "width",
        "activation",
        "loss",
        "optimizer",
        "lr",
        "epochs_run",
        "train_seconds",
        "n_params",
        "train_loss",
        "train_accuracy",
        "val_accuracy",
    ):
        assert col in frame.columns, col
    top = study.top(2)
    assert len(top) == min(2, len(done)) and top.iloc[0]["trial"] == study.best.number
    assert study.best.value == done.iloc[0]["value"]
    assert study.best.params["optimizer"] in ("sgd", "adam", "rmsprop")
    assert study.best.metrics["val_accuracy"] == study.best.value
    listed = sweep.list_studies(sqlite_url)
    assert listed.loc[0, "study"] == "small" and listed.loc[0, "complete"] == len(done)


def test_a_failing_trial_records_its_exception() -> None:
    import torch

    from sweep.config import parse_spec
    from sweep.data import load_data
    from sweep.dispatch._execute import run_job
    from sweep.dispatch._messages import Job
    from sweep.space import TrialConfig
    from sweep.train import Ended, TrainSettings, TrialTask

    spec = parse_spec({"study": {"name": "x"}, "data": {"source": "moons", "n_samples": 100}})
    data = load_data(spec.data)
    good = TrialConfig(
        widths=(4,), activation="relu", loss="bce", optimizer="adam", lr=0.01, batch_size=16
    )
    bad = TrialConfig(
        widths=(4,), activation="relu", loss="bce", optimizer="nonsense", lr=0.01, batch_size=16
    )
    job = Job(
        1,
        ((TrialTask(0, bad, 0),), (TrialTask(1, good, 1),)),
        spec.data,
        TrainSettings("binary", 2),
    )
    ended = {}
    gen = run_job(job, data, torch.device("cpu"))
    for item in gen:
        if isinstance(item, Ended):
            ended.update({r.number: r for r in item.results})
    assert (
        ended[0].outcome == "failed"
        and "ValueError: unknown optimizer 'nonsense'" in ended[0].reason
    )
    assert ended[1].outcome == "complete"


@pytest.mark.parametrize(
    ("study", "learns"),
    [
        ('sampler = "tpe"\npruner = "none"', True),
        ('sampler = "random"\npruner = "median"', True),
        ('sampler = "random"\npruner = "none"\ntarget = 0.99', True),
        ('sampler = "random"\npruner = "none"\npatience = 50', True),
        ('sampler = "random"\npruner = "none"', False),
        ('sampler = "qmc"\npruner = "none"', False),
    ],
)
def test_auto_packs_leave_four_sampling_rounds_per_slot_where_something_learns(
    tmp_path: Path, study: str, learns: bool
) -> None:
    path = write_study(tmp_path, trials=12, epochs=1)
    path.write_text(path.read_text().replace("seed = 0\n", f"seed = 0\n{study}\n", 1))
    url = f"sqlite:///{tmp_path / 'packs.db'}"
    summary = sweep.run_study(
        load_spec(path), storage=url, display="none", devices="cpu", per_device=1
    )
    assert summary.finished == 12
    largest = int(sweep.open_study("small", storage=url).trials()["pack_size"].max())
    if learns:  # trials / (4 x slots): results come in between
        assert summary.pack == 3 and largest == 3
    else:  # nothing acts on results: the slot takes the whole budget at once, and its
        # step costs split it into packs
        assert summary.pack == 12
