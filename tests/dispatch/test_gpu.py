"""On a real GPU: several trials run on one GPU at once, each records its device, a trial
that runs out of GPU memory fails alone, the coordinator of worker processes opens no
CUDA context, and a pack's memory estimate covers its measured peak. Skipped on
machines without CUDA."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap
from datetime import datetime
from pathlib import Path

import optuna
import pytest
import torch
from optuna.trial import TrialState

import sweep
from sweep.config import load_spec, parse_spec
from sweep.data import load_data, parse_data
from sweep.dispatch._devices import largest_pack_memory
from sweep.space import TrialConfig
from sweep.train import TrainSettings, TrialTask, train
from sweep.train._runner import device_eval_elements
from sweep.train._stacked import StackedRunner

ROOT = Path(__file__).resolve().parents[2]

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


def test_the_coordinator_of_workers_opens_no_cuda_context(tmp_path: Path) -> None:
    """With two worker slots the workers measure the GPU; the sweep's own process never
    initialises CUDA (a fresh process: this one may have)."""
    path = _study(tmp_path, trials=4, n_samples=2000, epochs=2, width="[16, 32]", batch=64)
    script = textwrap.dedent(
        f"""
        import torch
        import sweep
        summary = sweep.run_study(
            sweep.load_spec({str(path)!r}),
            storage={f"sqlite:///{tmp_path / 'sweeps.db'}"!r},
            devices="cuda:0",
            per_device=2,
            display="none",
        )
        print(summary.complete, summary.pack, torch.cuda.is_initialized())
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=240
    )
    assert done.returncode == 0, done.stderr
    complete, pack, initialised = done.stdout.split()[-3:]
    assert int(complete) == 4 and int(pack) >= 1
    assert initialised == "False"


def test_the_memory_estimate_covers_a_packs_peak_on_the_gpu() -> None:
    device = torch.device("cuda:0")
    data = load_data(parse_data({"source": "moons", "n_samples": 20000})).to(device)
    k, width, depth, batch = 64, 512, 2, 256
    space = parse_spec(
        {
            "study": {"name": "m"},
            "data": {"source": "moons"},
            "space": {"width": width, "depth": depth, "batch_size": batch},
        }
    ).space
    config = TrialConfig((width,) * depth, "relu", "bce", "adam", 1e-3, batch)
    settings = TrainSettings(task="binary", epochs=1, keep_weights=True)
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    start = torch.cuda.memory_allocated(device)
    runner = StackedRunner([TrialTask(i, config, i) for i in range(k)], 2, 1, settings, device)
    for _item in train(runner, data, settings):
        pass
    torch.cuda.synchronize(device)
    peak = torch.cuda.max_memory_allocated(device) - start
    need = largest_pack_memory(space, 2, 1, len(data.x_train), "cuda:0")
    need = dataclasses.replace(need, eval_elements=device_eval_elements(device))
    estimate = need.total(k) - need.data - need.context  # both outside the measured span
    assert 0 < peak <= estimate, (peak, estimate)
