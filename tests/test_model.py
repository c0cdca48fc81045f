"""The network: shapes, and each activation computed by hand on small tensors."""

from __future__ import annotations

import pytest
import torch

from sweep.model import (
    MLP,
    Activation,
    activation_masks,
    build_model,
    count_parameters,
    initial_weights,
    split_units,
)
from sweep.space import TrialConfig


def test_relu_and_tanh() -> None:
    z = torch.tensor([[-2.0, -0.5, 0.0, 0.5, 2.0]])
    assert torch.equal(Activation("relu", 5)(z), torch.tensor([[0.0, 0.0, 0.0, 0.5, 2.0]]))
    assert torch.allclose(Activation("tanh", 5)(z), torch.tanh(z))


def test_split_uses_relu_on_first_units_and_tanh_on_the_rest() -> None:
    z = torch.tensor([[-1.0, 2.0, -1.0, 2.0]])
    out = Activation("split", 4, split_fraction=0.5)(z)
    expected = torch.tensor(
        [[0.0, 2.0, torch.tanh(torch.tensor(-1.0)).item(), torch.tanh(torch.tensor(2.0)).item()]]
    )
    assert torch.allclose(out, expected)


@pytest.mark.parametrize(
    ("width", "fraction", "relu"),
    [(4, 0.5, 2), (10, 0.25, 2), (10, 0.26, 3), (1, 0.9, 1), (8, 0.1, 1)],
)
def test_split_unit_counts(width: int, fraction: float, relu: int) -> None:
    assert split_units(width, fraction) == relu
    r, t = activation_masks("split", width, fraction)
    assert sum(r) == relu and sum(t) == width - relu


def test_sum_adds_relu_and_tanh_of_the_same_preactivation() -> None:
    z = torch.tensor([[-1.0, 0.0, 3.0]])
    out = Activation("sum", 3)(z)
    expected = torch.tensor(
        [[torch.tanh(torch.tensor(-1.0)).item(), 0.0, 3.0 + torch.tanh(torch.tensor(3.0)).item()]]
    )
    assert torch.allclose(out, expected)


@pytest.mark.parametrize("kind", ["relu", "tanh", "split", "sum"])
def test_every_activation_maps_zero_to_zero(kind: str) -> None:
    assert torch.equal(Activation(kind, 6, 0.5)(torch.zeros(2, 6)), torch.zeros(2, 6))


def test_mlp_shapes_and_parameter_count() -> None:
    model = MLP(3, [8, 5], 2, "split", 0.5, dropout=0.2)
    assert model(torch.randn(7, 3)).shape == (7, 2)
    assert count_parameters(model) == (3 * 8 + 8) + (8 * 5 + 5) + (5 * 2 + 2)
    assert [m.out_features for m in model.hidden] == [8, 5]


def test_build_model_is_seeded() -> None:
    config = TrialConfig(
        widths=(6, 6), activation="relu", loss="bce", optimizer="adam", lr=0.01, batch_size=8
    )
    a, b, c = (
        build_model(config, 2, 1, seed=3),
        build_model(config, 2, 1, seed=3),
        build_model(config, 2, 1, seed=4),
    )
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))


@pytest.mark.parametrize("widths", [(6,), (6, 17), (40, 3, 9)])
def test_initial_weights_are_pytorchs_default_init_under_the_seed(widths) -> None:
    """What ``torch.manual_seed(seed)`` and then PyTorch's own ``nn.Linear`` layers, made in
    the MLP's order, start from; and the built model starts from them too."""
    config = TrialConfig(
        widths=widths, activation="tanh", loss="bce", optimizer="adam", lr=0.01, batch_size=8
    )
    sizes = [5, *widths, 3]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(11)
        layers = [torch.nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:])]
    state = torch.random.get_rng_state()
    weights = initial_weights(config, 5, 3, seed=11)
    model = build_model(config, 5, 3, seed=11)
    assert torch.equal(torch.random.get_rng_state(), state)  # the global state is untouched
    assert len(weights) == len(layers) == len(widths) + 1
    built = [*model.hidden, model.out]
    for (weight, bias), layer, linear in zip(weights, layers, built):
        assert torch.equal(weight, layer.weight) and torch.equal(bias, layer.bias)
        assert torch.equal(linear.weight, layer.weight) and torch.equal(linear.bias, layer.bias)
    assert not torch.equal(initial_weights(config, 5, 3, seed=12)[0][0], weights[0][0])


def test_dropout_only_in_training_and_seeded() -> None:
    model = MLP(4, [64], 1, "relu", dropout=0.5)
    x = torch.randn(16, 4)
    model.eval()
    assert torch.equal(model(x), model(x))
    model.train()
    outs = []
    for _ in range(2):
        model.dropout.generator = torch.Generator().manual_seed(1)
        outs.append(model(x))
    assert torch.equal(outs[0], outs[1])
    model.eval()
    assert not torch.equal(outs[0], model(x))


def test_unknown_activation_is_rejected() -> None:
    with pytest.raises(ValueError, match="valid: relu, tanh, split, sum"):
        Activation("gelu", 3)
