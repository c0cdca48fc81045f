"""Counter-based draws: a pack's step and batch order in a number of torch operations that
does not grow with the pack, and draws that behave as dropout and shuffling should."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import sweep
from sweep import draws
from sweep.data import load_data
from sweep.train import TrainSettings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench_data():
    spec = sweep.load_spec(ROOT / "bench" / "bench.toml")
    return load_data(spec.data), TrainSettings(task="binary", epochs=1)


@pytest.mark.parametrize("mixed", [False, True])
def test_a_packs_op_count_does_not_grow_with_its_members(
    bench_data, bench_steps, mixed: bool
) -> None:
    # From 12 members on, every activation, loss, optimizer family, depth and dropout
    # of the mixed space is present; more members add no operation.
    data, settings = bench_data
    op_counts = bench_steps.op_counts
    assert op_counts(12, mixed, data, settings) == op_counts(96, mixed, data, settings)


def test_dropout_draws_keep_units_at_the_rate_asked() -> None:
    cpu = torch.device("cpu")
    keys = draws.keys_tensor([draws.stream_key(s, draws.DROPOUT) for s in range(3)], 3, cpu)
    widths = draws.keys_tensor([100, 100, 100], 3, cpu)
    index = draws.unit_index(1000, widths, 100)
    ps = [0.0, 0.1, 0.5]
    thresholds = draws.keys_tensor([draws.threshold(p) for p in ps], 3, cpu)
    scales = torch.tensor([1 / (1 - p) for p in ps]).view(-1, 1, 1)
    mask = draws.dropout_mask(keys, 0, 0, index, thresholds, scales)
    kept = (mask > 0).float().mean(dim=(1, 2))
    assert kept[0] == 1.0
    assert abs(float(kept[1]) - 0.9) < 0.005 and abs(float(kept[2]) - 0.5) < 0.005
    assert torch.equal(mask[1][mask[1] > 0], torch.full_like(mask[1][mask[1] > 0], 1 / 0.9))
    other_step = draws.dropout_mask(keys, 1, 0, index, thresholds, scales)
    other_layer = draws.dropout_mask(keys, 0, 1, index, thresholds, scales)
    for other in (other_step, other_layer):  # independent draws agree on about p^2 + q^2
        agree = float(((other[2] > 0) == (mask[2] > 0)).float().mean())
        assert abs(agree - 0.5) < 0.01


def test_batch_orders_are_permutations_of_their_own() -> None:
    cpu = torch.device("cpu")
    keys = draws.keys_tensor([draws.stream_key(s, draws.ORDER) for s in range(4)], 2, cpu)
    first, second = draws.batch_order(keys, 0, 1000), draws.batch_order(keys, 1, 1000)
    for order in (first, second):
        assert torch.equal(order.sort(dim=1).values, torch.arange(1000).expand(4, -1))
    assert not torch.equal(first, second)
    assert len({tuple(row.tolist()) for row in first}) == 4
    # A member's order is its own: the same key alone gives the same permutation.
    alone = draws.batch_order(keys[2:3], 0, 1000)
    assert torch.equal(alone[0], first[2])
