from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch

from sweep.config import parse_spec
from sweep.data import DataBundle, load_data
from sweep.train import Ended, EpochReport, Runner, TrainSettings, TrialResult, train


@pytest.fixture(scope="session")
def bench_steps() -> ModuleType:
    """``bench/steps.py``, whose ``OpCount`` counts aten operations with a
    ``TorchDispatchMode`` (and ``op_counts`` a pack's step's)."""
    if "bench_steps" not in sys.modules:
        path = Path(__file__).resolve().parents[2] / "bench" / "steps.py"
        spec = importlib.util.spec_from_file_location("bench_steps", path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_steps"] = module
        spec.loader.exec_module(module)
    return sys.modules["bench_steps"]


@pytest.fixture(autouse=True)
def full_float32_matmuls():
    """Packed and alone results are compared in float32: no TF32 matmuls on a GPU."""
    before = torch.get_float32_matmul_precision()
    torch.set_float32_matmul_precision("highest")
    yield
    torch.set_float32_matmul_precision(before)


@pytest.fixture(scope="session")
def moons() -> DataBundle:
    torch.set_num_threads(1)
    spec = parse_spec(
        {"study": {"name": "t"}, "data": {"source": "moons", "n_samples": 300, "noise": 0.2}}
    )
    return load_data(spec.data)


@pytest.fixture(scope="session")
def regression() -> DataBundle:
    spec = parse_spec({"study": {"name": "t"}, "data": {"source": "function", "n_samples": 200}})
    return load_data(spec.data)


def drive(
    runner: Runner, data: DataBundle, settings: TrainSettings, prune: dict[int, int] | None = None
) -> tuple[list[EpochReport], dict[int, TrialResult]]:
    """Run the loop to the end; ``prune`` maps trial number -> epoch at which to stop it."""
    gen = train(runner, data, settings)
    reports: list[EpochReport] = []
    results: dict[int, TrialResult] = {}
    reply = None
    while True:
        try:
            item = gen.send(reply)
        except StopIteration:
            return reports, results
        reply = None
        if isinstance(item, Ended):
            results.update({r.number: r for r in item.results})
        else:
            reports.append(item)
            if prune:
                reply = {n for n, e in prune.items() if e == item.epoch}
