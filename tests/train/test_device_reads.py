"""What a pack asks of its device beyond its steps: evaluation chunks sized per device, and
a pack's end read back with a number of copies that does not grow with the pack."""

from __future__ import annotations

import pytest
import torch

from sweep.space import TrialConfig
from sweep.train import Ended, EpochReport, TrainSettings, TrialTask, make_runner, train
from sweep.train._runner import (
    EVAL_ELEMENTS,
    EVAL_ELEMENTS_MAX,
    device_eval_elements,
    eval_elements,
    eval_rows,
)

CPU = torch.device("cpu")
GB = 10**9


@pytest.mark.parametrize(
    ("device_type", "free", "expected"),
    [
        ("cpu", None, EVAL_ELEMENTS),
        ("cpu", 500 * GB, EVAL_ELEMENTS),  # the CPU keeps its chunks whatever its RAM
        ("cuda", None, EVAL_ELEMENTS),
        ("cuda", 2 * GB, EVAL_ELEMENTS),  # a small GPU: at least the CPU's
        ("cuda", 16 * GB, 16 * GB // 1024),  # 1/64 of the free memory in 4 float32 tensors
        ("cuda", 130 * GB, 130 * GB // 1024),
        ("cuda", 1000 * GB, EVAL_ELEMENTS_MAX),
    ],
)
def test_the_evaluation_budget_per_device(device_type: str, free: int | None, expected: int):
    assert eval_elements(device_type, free) == expected


@pytest.mark.parametrize(
    ("elements", "members", "width", "rows"),
    [
        (EVAL_ELEMENTS, 512, 1024, 8),  # the CPU's chunk at K = 512, width 1024
        (eval_elements("cuda", 130 * GB), 512, 1024, 242),
        (EVAL_ELEMENTS, 1, 8, EVAL_ELEMENTS // 8),
        (100, 1000, 1000, 1),  # at least one row
    ],
)
def test_evaluation_rows(elements: int, members: int, width: int, rows: int) -> None:
    assert eval_rows(elements, members, width) == rows


def _tasks(k: int) -> list[TrialTask]:
    configs = [
        TrialConfig((8 + 4 * (i % 3),) * (1 + i % 2), "relu", "bce", "adam", 1e-2, 32)
        for i in range(k)
    ]
    return [TrialTask(i, c, i) for i, c in enumerate(configs)]


def test_a_cpu_pack_evaluates_in_the_cpus_chunks(moons) -> None:
    runner = make_runner(_tasks(6), 2, 1, TrainSettings(task="binary", epochs=1), CPU)
    assert device_eval_elements(CPU) == EVAL_ELEMENTS
    assert runner.eval_chunk() == EVAL_ELEMENTS // (6 * 16)


def _reads_at_the_end(k: int, moons, bench_steps) -> int:
    """Host reads while a pack of ``k`` ends: its three splits' metrics and its weights."""
    settings = TrainSettings(task="binary", epochs=1, keep_weights=True)
    runner = make_runner(_tasks(k), moons.n_features, moons.n_outputs, settings, CPU)
    gen = train(runner, moons, settings)
    assert isinstance(next(gen), EpochReport)
    with bench_steps.OpCount() as ops:
        ended = gen.send(None)
    assert isinstance(ended, Ended) and len(ended.results) == k
    assert all(r.outcome == "complete" and r.weights for r in ended.results)
    return ops.transfers


def test_a_packs_end_reads_the_device_a_fixed_number_of_times(moons, bench_steps) -> None:
    # One copy of the weights' buffer (every split's metrics come in one more transfer on
    # a GPU; on the CPU reading them copies nothing).
    assert _reads_at_the_end(2, moons, bench_steps) == _reads_at_the_end(9, moons, bench_steps)
    assert _reads_at_the_end(9, moons, bench_steps) == 1
