"""Devices, slots, pack sizes and grouping."""

from __future__ import annotations

import pytest
import torch

from sweep.config import parse_spec
from sweep.dispatch import (
    StepCosts,
    auto_pack_size,
    group_tasks,
    plan_slots,
    resolve_devices,
    step_costs,
)
from sweep.dispatch._devices import available_cores
from sweep.errors import ConfigError
from sweep.space import TrialConfig
from sweep.train import TrialTask


def test_cpu_and_auto() -> None:
    assert resolve_devices("cpu") == ["cpu"]
    expected = [f"cuda:{i}" for i in range(torch.cuda.device_count())] or ["cpu"]
    assert resolve_devices("auto") == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without CUDA")
def test_missing_gpus_are_one_line_errors_naming_what_exists() -> None:
    with pytest.raises(
        ConfigError, match=r"device 'cuda:1' is not available here; valid: auto, cpu"
    ):
        resolve_devices("cuda:1")
    with pytest.raises(ConfigError, match="no CUDA device"):
        resolve_devices("cuda")
    with pytest.raises(ConfigError, match="not available"):
        resolve_devices("tpu")


def test_cpu_slots_share_the_cores() -> None:
    plans = plan_slots(["cpu"], 2)
    assert [p.name for p in plans] == ["cpu#0", "cpu#1"]
    assert all(p.threads == max(1, available_cores() // 2) for p in plans)
    assert plan_slots(["cpu"], 1)[0].threads == available_cores()


@pytest.fixture(scope="module")
def measured() -> StepCosts:
    """This machine's step costs, as a slot on its CPU measures them."""
    return step_costs(torch.device("cpu"))


def _task(
    n: int, optimizer: str = "adam", batch: int = 32, widths: tuple[int, ...] = (8,)
) -> TrialTask:
    return TrialTask(n, TrialConfig(widths, "relu", "bce", optimizer, 0.01, batch), n)


def test_groups_share_batch_size_and_unpackable_trials_run_alone(measured: StepCosts) -> None:
    tasks = [
        _task(0),
        _task(1, batch=64),
        _task(2, "lbfgs"),
        _task(3, "sgd"),
        _task(4, widths=(4, 4)),
    ]
    groups = group_tasks(tasks, measured)
    numbers = sorted(sorted(t.number for t in g) for g in groups)
    assert numbers == [[0, 3, 4], [1], [2]]
    assert all(len({t.config.batch_size for t in g}) == 1 for g in groups)


def test_pack_size_shrinks_as_networks_grow_and_fits_memory() -> None:
    def space(width: int) -> object:
        return parse_spec(
            {"study": {"name": "p"}, "data": {"source": "moons"}, "space": {"width": width}}
        ).space

    small = auto_pack_size(space(8), 2, 1, 600, "cpu", 1e9)
    big = auto_pack_size(space(1024), 2, 1, 600, "cpu", 1e9)
    assert small > big >= 1
    assert small <= 64
    assert auto_pack_size(space(8), 2, 1, 600, "cpu", 1e3) == 1  # no memory: no packing


def test_a_network_much_larger_than_the_rest_trains_alone(measured: StepCosts) -> None:
    small = [_task(i, widths=(8, 8)) for i in range(6)]
    huge = _task(6, widths=(512, 512, 512))
    groups = group_tasks([*small, huge], measured, n_inputs=2, n_outputs=1)
    assert sorted(len(g) for g in groups) == [1, 6]
    assert (huge,) in groups


def test_the_costs_decide_where_a_pack_closes() -> None:
    """Two tables, one decision each: where a pack step's fixed cost dwarfs the padding,
    a network four times wider than the rest joins them; where a parameter costs as much
    as a step's overhead, it trains on its own."""
    tasks = [*(_task(i, widths=(8,)) for i in range(4)), _task(4, widths=(32,))]
    launch_bound = StepCosts(pack=1e-3, kind=1e-4, param=1e-12)
    compute_bound = StepCosts(pack=1e-5, kind=1e-6, param=1e-8)
    assert [len(g) for g in group_tasks(tasks, launch_bound, 2, 1)] == [5]
    assert sorted(len(g) for g in group_tasks(tasks, compute_bound, 2, 1)) == [1, 4]


def test_neighbours_of_one_depth_pack_together() -> None:
    """A pack of mixed depths pads every layer to its widest: trials of one depth are
    taken together, so shallow wide networks and deep narrow ones of a similar size do
    not end up padding each other."""
    shallow = [_task(i, widths=(w,)) for i, w in enumerate((30, 40, 50))]
    deep = [_task(3 + i, widths=(w,) * 3) for i, w in enumerate((6, 7, 8))]
    # By size alone they interleave: 109, 121, 141, 161, 177 and 201 parameters.
    costs = StepCosts(pack=2e-5, kind=1e-6, param=1e-9)
    groups = group_tasks([*shallow, *deep], costs, 2, 1)
    assert sorted(sorted(t.number for t in g) for g in groups) == [[0, 1, 2], [3, 4, 5]]
