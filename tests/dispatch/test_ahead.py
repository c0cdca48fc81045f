"""Sampling ahead (sweep.ahead): a second process samples the next pack while one trains."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from sweep.config import load_spec
from sweep.run import run_study
from sweep.space import sample_config
from sweep.storage import open_storage
from sweep.study import PackView
from tests.conftest import run_cli, write_study

# Packs of 4 after 4 random start-up trials: TPE samples most packs.
EXTRA = """
[run]
pack = 4
"""


def _params(url: str, name: str) -> dict[int, dict]:
    study = optuna.load_study(study_name=name, storage=open_storage(url, create=False))
    return {t.number: t.params for t in study.get_trials()}


def test_a_sweep_sampled_ahead_finishes_and_repeats_itself(tmp_path: Path) -> None:
    spec = load_spec(write_study(tmp_path, trials=20, epochs=2, extra=EXTRA))
    runs = []
    for i in range(2):
        url = f"sqlite:///{tmp_path}/ahead{i}.db"
        summary = run_study(spec, storage=url, devices="cpu", display="none", sample_ahead=True)
        runs.append((summary, _params(url, spec.name)))
    for summary, params in runs:
        assert summary.finished == 20 and summary.failed == 0
        assert summary.ahead_seconds > 0  # the proposer sampled packs
        assert sorted(params) == list(range(20))
        assert all({"depth", "width", "lr", "activation"} <= set(p) for p in params.values())
    # What the proposer sees does not depend on when it reads: the same seed samples the
    # same parameters (floats included) in every run.
    assert runs[0][1] == runs[1][1]
    # ...and not what sampling in turn samples: later packs did not see the pack before.
    url = f"sqlite:///{tmp_path}/in_turn.db"
    in_turn = run_study(spec, storage=url, devices="cpu", display="none")
    assert in_turn.ahead_seconds == 0
    assert _params(url, spec.name) != runs[0][1]


def _kill_proposer_when_it_starts(stop: threading.Event, killed: list[int]) -> None:
    me = os.getpid()
    while not stop.is_set():
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == me and b"sweep.ahead" in command:
                os.kill(int(entry.name), signal.SIGKILL)
                killed.append(int(entry.name))
                return
        time.sleep(0.01)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the proposer through /proc")
def test_a_killed_proposer_leaves_the_sampling_to_the_sweep(tmp_path: Path, caplog) -> None:
    spec = load_spec(write_study(tmp_path, trials=16, epochs=2, extra=EXTRA))
    url = f"sqlite:///{tmp_path}/killed.db"
    stop, killed = threading.Event(), []
    watcher = threading.Thread(target=_kill_proposer_when_it_starts, args=(stop, killed))
    watcher.start()
    try:
        with caplog.at_level(logging.WARNING, logger="sweep"):
            summary = run_study(spec, storage=url, devices="cpu", display="none", sample_ahead=True)
    finally:
        stop.set()
        watcher.join()
    assert killed, "the proposer process was never seen"
    assert summary.finished == 16 and summary.failed == 0
    assert summary.ahead_seconds == 0  # it never delivered a pack
    assert "sampling ahead stopped (the proposer process ended (killed by SIGKILL))" in caplog.text
    params = list(_params(url, spec.name).values())
    assert len(params) == 16
    # The sweep's reseeded sampler does not replay the draws the proposer started from.
    assert len({tuple(sorted(p.items())) for p in params}) == 16


DIVERGING = """
[study]
name = "div"
trials = 12
seed = 0
sampler_startup = 4
pruner = "none"

[data]
source = "function"
function = "sin"
n_samples = 200
low = -10.0
high = 10.0
standardize = false

[train]
epochs = 3

[space]
depth = { low = 1, high = 2 }
width = { low = 4, high = 16, log = true }
activation = ["relu"]
loss = ["quartic"]
optimizer = ["sgd"]
lr = { low = 1e-4, high = 0.3, log = true }
batch_size = 32

[run]
pack = 4
retries = 0
"""


def test_budget_freed_by_failed_trials_is_sampled_ahead_too(tmp_path: Path) -> None:
    """Raw inputs up to 10, a quartic loss and SGD up to 0.3: many trials diverge and
    fail, which frees budget after the last pack seemed to use it up."""
    path = tmp_path / "div.toml"
    path.write_text(DIVERGING)
    url = f"sqlite:///{tmp_path}/div.db"
    summary = run_study(
        load_spec(path), storage=url, devices="cpu", display="none", sample_ahead=True
    )
    assert summary.finished == 12 and summary.failed > 0
    assert summary.ahead_seconds > 0
    params = list(_params(url, "div").values())
    assert len(params) == 12 + summary.failed
    assert len({tuple(sorted(p.items())) for p in params}) == len(params)


def test_an_imagined_pack_sees_the_trials_running_then_and_writes_nothing(tmp_path) -> None:
    spec = load_spec(write_study(tmp_path))
    storage = open_storage(f"sqlite:///{tmp_path}/v.db", create=True)
    study = optuna.create_study(storage=storage, direction="maximize")
    done = study.ask({"lr": optuna.distributions.FloatDistribution(1e-3, 1e-1, log=True)})
    study.tell(done, 0.5)
    later = study.ask({"lr": optuna.distributions.FloatDistribution(1e-3, 1e-1, log=True)})
    study.tell(later, 0.9)  # finished after the pack was asked for: seen running
    view = PackView(study, {})
    ids = view.imagine(3, [later._trial_id])
    assert ids == [-1, -2, -3]
    seen = {t.number: t for t in view.get_all_trials(study._study_id, deepcopy=False)}
    assert seen[0].state == TrialState.COMPLETE and seen[0].value == 0.5
    assert seen[1].state == TrialState.RUNNING and seen[1].values is None
    assert [seen[n].state for n in (2, 3, 4)] == [TrialState.RUNNING] * 3
    trials, configs = view.sample(spec.space, ids)
    assert [t.number for t in trials] == [2, 3, 4]
    assert all(t.params for t in trials) and len(configs) == 3
    stored = study.get_trials()
    assert len(stored) == 2 and stored[1].state == TrialState.COMPLETE  # nothing written
    assert study.trials[1].value == 0.9


def test_a_pack_asked_for_proposed_parameters_reads_only_its_new_trials(tmp_path) -> None:
    spec = load_spec(write_study(tmp_path))
    storage = open_storage(f"sqlite:///{tmp_path}/p.db", create=True)
    study = optuna.create_study(storage=storage, direction="maximize")
    for value in (0.5, 0.7):
        trial = study.ask({"lr": optuna.distributions.FloatDistribution(1e-3, 1e-1, log=True)})
        study.tell(trial, value)
    # What a proposer sends: whole parameter sets, here drawn at random elsewhere.
    elsewhere = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=3))
    drawn = [sample_config(spec.space, elsewhere.ask()) for _ in range(3)]
    proposals = [t.params for t in elsewhere.trials]
    view = PackView(study, {})
    asked: list[int] = []
    view.ask(3, asked, new=3)
    assert view.partial and sorted(view.trials) == [2, 3, 4]  # the finished two not read
    trials, configs = view.sample(spec.space, asked, proposals)
    view.flush()
    assert configs == drawn
    stored = {t.number: t for t in study.get_trials()}
    assert [stored[n].params for n in (2, 3, 4)] == proposals
    assert [stored[n].state for n in range(5)] == [TrialState.COMPLETE] * 2 + [
        TrialState.RUNNING
    ] * 3
    # A trial without proposed parameters would be sampled against the new trials alone.
    view = PackView(study, {})
    asked = []
    view.ask(2, asked, new=2)
    with pytest.raises(ValueError, match="without proposed parameters"):
        view.sample(spec.space, asked, proposals[:1])
    # A waiting trial taken (a retry, sampled here if it lacks parameters): a full read.
    study.enqueue_trial({"lr": 0.05})
    view = PackView(study, {})
    asked = []
    view.ask(2, asked, new=1)
    assert not view.partial and len(view.trials) == 9


def test_the_cli_samples_ahead_on_request(tmp_path: Path) -> None:
    path = write_study(tmp_path, trials=8, epochs=2, extra=EXTRA)
    url = f"sqlite:///{tmp_path}/cli.db"
    done = run_cli(
        "run", str(path), "--storage", url, "--sample-ahead", "--quiet", "--no-report",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert len(_params(url, "small")) == 8
