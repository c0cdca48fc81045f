"""Device memory: the figures workers report, a pack's memory term by term, and the pack
size the coordinator works out from a reported figure (no CUDA needed: a report is data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch.profiler import ProfilerActivity, profile

from sweep.config import parse_spec
from sweep.data import load_data, parse_data
from sweep.dispatch import StepCosts, pack_for_slots
from sweep.dispatch._devices import largest_pack_memory
from sweep.dispatch._memory import (
    CUDA_CONTEXT_BYTES,
    ORDER_COPIES,
    DeviceMemory,
    pack_memory,
    slot_budget,
)
from sweep.dispatch._slots import InProcessSlot, ProcessSlot
from sweep.space import TrialConfig
from sweep.train import TrainSettings, TrialTask, train
from sweep.train._runner import EVAL_ELEMENTS, EVAL_LIVE
from sweep.train._stacked import StackedRunner

GIB = 1 << 30


def _space(width: int, depth: int = 2, batch: int = 64) -> object:
    return parse_spec(
        {
            "study": {"name": "m"},
            "data": {"source": "moons"},
            "space": {"width": width, "depth": depth, "batch_size": batch},
        }
    ).space


def _terms(device: str = "cpu", **kw: int) -> object:
    args = dict(
        params=10_000,
        units=200,
        width=100,
        batch=64,
        n_inputs=20,
        n_outputs=3,
        n_train=50_000,
        data_bytes=7_000_000,
        device=device,
        free_memory=None,
    )
    args.update(kw)
    return pack_memory(**args)  # type: ignore[arg-type]


def test_each_term_of_a_packs_memory() -> None:
    m = _terms()
    assert m.parameters == 4 * 7 * 10_000
    assert m.activations == 4 * 12 * 64 * 200
    assert m.batch == 4 * 64 * (20 + 3)
    # The (K, n_train) int64 batch order: each member's row, as many times as are alive.
    assert m.batch_order == 8 * 50_000 * ORDER_COPIES
    assert m.per_member() == m.parameters + m.activations + m.batch + m.batch_order
    assert m.context == 0  # the CPU has none
    assert _terms("cuda:0").context == CUDA_CONTEXT_BYTES


@pytest.mark.parametrize("k", [1, 2, 64, 512])
def test_data_and_context_count_once_per_worker_members_k_times(k: int) -> None:
    m = _terms("cuda:0", free_memory=80 * GIB)
    eval_bytes = EVAL_LIVE * 4 * max(m.eval_elements, k * m.width)
    assert m.evaluation(k) == eval_bytes
    assert m.total(k) == 7_000_000 + CUDA_CONTEXT_BYTES + eval_bytes + k * m.per_member()


def test_a_batch_larger_than_the_data_counts_the_datas_rows() -> None:
    assert _terms(batch=10_000, n_train=500).activations == 4 * 12 * 500 * 200


@pytest.mark.parametrize("budget", [1e6, 5e7, 3e8, 8e9, 1e11])
@pytest.mark.parametrize("width", [10, 100_000])
def test_the_largest_pack_is_the_largest_that_fits(budget: float, width: int) -> None:
    m = _terms("cuda:0", width=width, free_memory=80 * GIB)
    k = m.largest_pack(budget)
    assert k == 0 or m.total(k) <= budget
    assert m.total(k + 1) > budget


def test_slot_budgets_from_a_reported_figure() -> None:
    gpu = DeviceMemory(free=100 * GIB, total=140 * GIB)
    assert slot_budget("cuda:0", gpu, 1) == 50 * GIB
    assert slot_budget("cuda:0", gpu, 4) == 12.5 * GIB
    ram = DeviceMemory(free=4 * GIB, total=8 * GIB)
    assert slot_budget("cpu", ram, 1) == 1 * GIB
    assert slot_budget("cpu", DeviceMemory(free=64 * GIB, total=64 * GIB), 1) == 2 * GIB


def test_the_pack_size_follows_the_reported_memory_of_the_tightest_slot() -> None:
    # Wide, deep networks in small batches: little arithmetic per step, much memory.
    space = _space(1024, depth=4, batch=8)
    ample = ("cuda:0", DeviceMemory(free=130 * GIB, total=140 * GIB))
    tight = ("cuda:1", DeviceMemory(free=6 * GIB, total=140 * GIB))
    n_train, data_bytes = 1_000_000, GIB // 2
    alone = pack_for_slots(space, 784, 10, n_train, data_bytes, [ample])
    both = pack_for_slots(space, 784, 10, n_train, data_bytes, [ample, tight])
    assert 1 < both < alone
    need = largest_pack_memory(
        space, 784, 10, n_train, "cuda:1", data_bytes=data_bytes, free_memory=tight[1].free
    )
    assert need.total(both) <= slot_budget(*tight, 1) < need.total(both + 1)
    # Three slots on one device share its reported memory.
    shared = pack_for_slots(space, 784, 10, n_train, data_bytes, [tight] * 3)
    assert shared < both
    # Small networks on a large GPU: the GPU's cap.
    assert pack_for_slots(_space(8), 2, 1, 600, 10_000, [ample]) == 512


def test_a_worker_reports_its_devices_memory_and_step_costs_when_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SWEEP_CACHE_DIR", str(tmp_path))
    slot = ProcessSlot("cpu#0", "cpu", 1)
    slot.start()
    try:
        slot.wait_ready()
        assert slot.pid is not None and slot.pid != 0
        memory = slot.memory
        assert isinstance(memory, DeviceMemory)
        assert 0 < memory.free <= memory.total
        assert slot.costs.valid()
    finally:
        slot.stop()
    # The worker measured them with its one thread, and cached them.
    (cached,) = tmp_path.glob("step-costs-*.json")
    record = json.loads(cached.read_text())
    assert record["key"]["threads"] == 1 and StepCosts(**record["costs"]) == slot.costs


def test_the_in_process_slot_measures_its_device_too() -> None:
    data = load_data(parse_data({"source": "moons"}))
    slot = InProcessSlot("cpu", "cpu", data)
    assert slot.memory is not None and 0 < slot.memory.free <= slot.memory.total
    assert slot.costs.valid()


def _peak_bytes(trace: Path) -> int:
    """The most CPU memory the profiled code held at once beyond what it found."""
    events = [e for e in json.loads(trace.read_text())["traceEvents"] if e["name"] == "[memory]"]
    first = events[0]["args"]
    start = first["Total Allocated"] - first["Bytes"]
    return max(e["args"]["Total Allocated"] for e in events) - start


def test_the_estimate_covers_the_measured_peak_of_a_pack(tmp_path: Path) -> None:
    """A pack of the space's largest network trained on the CPU (every step, evaluation and
    the end's copies) peaks below the estimate less the data (already resident) and above a
    third of it: the estimate is safe and not wildly loose."""
    k, width, depth, batch = 8, 256, 2, 64
    data = load_data(parse_data({"source": "moons", "n_samples": 2000}))
    n_train = len(data.x_train)
    config = TrialConfig((width,) * depth, "relu", "bce", "adam", 1e-3, batch)
    tasks = [TrialTask(i, config, i) for i in range(k)]
    settings = TrainSettings(task="binary", epochs=1, keep_weights=True)
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        runner = StackedRunner(
            tasks, data.n_features, data.n_outputs, settings, torch.device("cpu")
        )
        gen = train(runner, data, settings)
        for _item in gen:
            pass
    prof.export_chrome_trace(str(tmp_path / "trace.json"))
    measured = _peak_bytes(tmp_path / "trace.json")
    need = largest_pack_memory(
        _space(width, depth, batch), data.n_features, data.n_outputs, n_train, "cpu"
    )
    assert need.eval_elements == EVAL_ELEMENTS
    estimate = need.total(k) - need.data
    assert estimate / 3 < measured <= estimate, (measured, estimate)
