"""A pack's forward and backward without autograd's graph give autograd's numbers, bit for bit:
the outputs of ``sweep.model.forward`` and the gradients autograd takes through it."""

from __future__ import annotations

import functools
import operator

import pytest
import torch

from sweep.losses import member_loss
from sweep.model import forward
from sweep.space import TrialConfig
from sweep.train import StackedRunner, TrainSettings, TrialTask, _backprop

CPU = torch.device("cpu")


def _config(i: int, widths: tuple[int, ...], activation: str, dropout: float) -> TrialConfig:
    return TrialConfig(
        widths=widths,
        activation=activation,
        loss=("bce", "mse", "quartic", "l1", "smooth_l1")[i % 5],  # type: ignore[arg-type]
        optimizer=("adam", "sgd", "rmsprop")[i % 3],  # type: ignore[arg-type]
        lr=1e-2,
        batch_size=16,
        split_fraction=0.4 if activation == "split" else None,
        dropout=dropout,
    )


PACKS = {
    "one relu": [("relu", (8, 8), 0.0)],
    "equal tanh, dropout": [("tanh", (6, 5), 0.1)] * 3,
    "every activation": [(a, (7, 4), 0.0) for a in ("relu", "tanh", "sum", "split")],
    "mixed depths and dropout": [
        ("relu", (9,), 0.1),
        ("sum", (5, 6, 4), 0.0),
        ("split", (8, 8), 0.2),
        ("tanh", (3, 7, 7), 0.1),
    ],
}


@pytest.mark.parametrize("pack", PACKS, ids=list(PACKS))
def test_forward_and_backward_are_autograds(pack: str) -> None:
    configs = [_config(i, w, a, p) for i, (a, w, p) in enumerate(PACKS[pack])]
    tasks = [TrialTask(i, c, 10 + i) for i, c in enumerate(configs)]
    runner = StackedRunner(tasks, 3, 1, TrainSettings(task="binary", epochs=1), CPU)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(len(tasks), 16, 3, generator=g)
    y = (torch.rand(len(tasks), 16, 1, generator=g) > 0.5).float()

    out, tape = _backprop.forward(
        x, runner.layers, runner.activations, runner._dropout_mask, runner.active
    )
    losses, grad_out = runner._losses(out, y)
    runner.grad.fill_(float("nan"))  # the backward must write every element
    _backprop.backward(
        tape, runner.layers, runner.activations, runner.active, grad_out, runner.grads
    )

    flat = runner.flat.clone().requires_grad_(True)
    masks = {layer: runner._dropout_mask(layer, 16) for layer in range(runner.layout.depth)}

    def dropout(layer: int, a: torch.Tensor) -> torch.Tensor:
        mask = masks[layer]
        return a if mask is None else a * mask

    expected = forward(x, runner._views(flat), runner.activations, dropout, runner.active)
    assert torch.equal(out, expected.detach())
    parts = [
        member_loss(kind, expected.index_select(0, idx), y.index_select(0, idx), "binary", red)
        for (kind, red), idx in runner.loss_groups.items()
    ]
    total = functools.reduce(operator.add, (p.sum() for p in parts))
    (expected_grad,) = torch.autograd.grad(total, flat)
    assert torch.equal(runner.grad, expected_grad)
    by_member = torch.empty(len(tasks))
    for part, idx in zip(parts, runner.loss_groups.values()):
        by_member[idx] = part.detach()
    assert torch.equal(losses, by_member)
