"""On a real GPU: several trials run on one GPU at once, each records its device, and a
trial that runs out of GPU memory fails alone. Skipped on machines without CUDA."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import optuna
import pytest
import torch
from optuna.trial import TrialState

import sweep
from sweep.config import load_spec

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

GPU_STUDY = """
[study]
name = "gpu"
trials = {trials}
pruner = "none"
sampler = "random"
[data]
source = "moons"
n_samples = {n_samples}
[train]
epochs = {epochs}
[space]
depth = 1
width = {width}
optimizer = "adam"
lr = 0.01
batch_size = {batch}
"""


def _study(tmp_path: Path, **kw: object) -> Path:
    path = tmp_path / "gpu.toml"
    path.write_text(GPU_STUDY.format(**kw))
    return path


def test_two_trials_share_one_gpu_at_once(tmp_path: Path) -> None:
    path = _study(tmp_path, trials=6, n_samples=20000, epochs=20, width="[64, 128]", batch=64)
    url = f"sqlite:///{tmp_path / 'sweeps.db'}"
    sweep.run_study(
        load_spec(path), storage=url, devices="cuda:0", per_device=2, pack=1, display="none"
    )
    done = [
        t
        for t in optuna.load_study(study_name="gpu", storage=url).trials
        if t.state == TrialState.COMPLETE
    ]
    assert len(done) == 6
    assert {t.user_attrs["device"] for t in done} == {"cuda:0"}
    assert {t.user_attrs["worker"] for t in done} == {"cuda:0#0", "cuda:0#1"}
    spans = sorted((t.datetime_start, t.datetime_complete, t.user_attrs["worker"]) for t in done)
    assert any(
        a[2] != b[2] and a[0] < b[1] and b[0] < a[1]
        for i, a in enumerate(spans)
        for b in spans[i + 1 :]
    ), "no two trials on different workers overlapped in time"
    assert all(isinstance(s[0], datetime) for s in spans)


def test_an_out_of_memory_trial_fails_alone(tmp_path: Path) -> None:
    # Full-batch training of 200,000 points: width 1,000,000 needs about 800 GB of
    # activations and cannot fit; width 8 trains normally on the same worker.
    path = _study(
        tmp_path, trials=6, n_samples=200000, epochs=1, width="[8, 1000000]", batch=200000
    )
    url = f"sqlite:///{tmp_path / 'sweeps.db'}"
    sweep.run_study(
        load_spec(path), storage=url, devices="cuda:0", per_device=1, pack=1, display="none"
    )
    trials = optuna.load_study(study_name="gpu", storage=url).trials
    failed = [t for t in trials if t.state == TrialState.FAIL]
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    assert failed and all("out of memory" in t.user_attrs["fail_reason"] for t in failed)
    assert all(t.params["width"] == 1000000 for t in failed)
    assert len(done) == 6 and all(t.params["width"] == 8 for t in done)
