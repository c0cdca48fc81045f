"""The network: shapes, and each activation computed by hand on small tensors; the layout
(parameter count, state-dict names and shapes) against the module built from it."""

from __future__ import annotations

import pytest
import torch

from sweep.model import (
    MLP,
    Activation,
    Layout,
    activate,
    activation_masks,
    build_model,
    forward,
    initial_weights,
    parameter_count,
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
    n = sum(p.numel() for p in model.parameters())
    assert n == model.layout.n_parameters == (3 * 8 + 8) + (8 * 5 + 5) + (5 * 2 + 2)
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
    weights = initial_weights(Layout.of(config, 5, 3), seed=11)
    model = build_model(config, 5, 3, seed=11)
    assert torch.equal(torch.random.get_rng_state(), state)  # the global state is untouched
    assert len(weights) == len(layers) == len(widths) + 1
    built = [*model.hidden, model.out]
    for (weight, bias), layer, linear in zip(weights, layers, built):
        assert torch.equal(weight, layer.weight) and torch.equal(bias, layer.bias)
        assert torch.equal(linear.weight, layer.weight) and torch.equal(linear.bias, layer.bias)
    assert not torch.equal(initial_weights(Layout.of(config, 5, 3), seed=12)[0][0], weights[0][0])


def test_normal_init_draws_every_weight_from_a_standard_normal_with_zero_biases() -> None:
    config = TrialConfig(
        widths=(400,), activation="relu", loss="mse", optimizer="sgd", lr=1e-6, batch_size=8,
        init="normal",
    )  # fmt: skip
    model = build_model(config, 300, 10, seed=5)
    weights = torch.cat([model.hidden[0].weight.flatten(), model.out.weight.flatten()])
    assert abs(weights.mean().item()) < 0.01 and abs(weights.std().item() - 1.0) < 0.01
    assert not model.hidden[0].bias.any() and not model.out.bias.any()
    again = build_model(config, 300, 10, seed=5)
    assert torch.equal(again.hidden[0].weight, model.hidden[0].weight)


def test_an_activation_per_layer() -> None:
    """The tutorial's parallel sum on the first hidden layer only, ReLU after it."""
    model = MLP(2, [4, 3], 1, ["sum", "relu"])
    assert [a.kind for a in model.activations] == ["sum", "relu"]
    x = torch.randn(5, 2)
    z = model.hidden[0](x)
    h = torch.relu(model.hidden[1](torch.relu(z) + torch.tanh(z)))
    assert torch.allclose(model(x), model.out(h))
    with pytest.raises(ValueError, match="1 activations for 2 hidden layers"):
        MLP(2, [4, 3], 1, ["relu"])


def test_dropout_only_in_training_and_seeded() -> None:
    model = MLP(4, [64], 1, "relu", dropout=0.5)
    x = torch.randn(16, 4)
    model.eval()
    assert torch.equal(model(x), model(x))
    model.train()
    model.dropout.key = 7  # a trial's counter-based masks: the same at the same step
    outs = [model(x) for _ in range(2)]
    assert torch.equal(outs[0], outs[1])
    model.dropout.step = 1
    assert not torch.equal(outs[0], model(x))
    model.eval()
    assert not torch.equal(outs[0], model(x))
    model.train()
    model.dropout.key = None  # a user's model: torch's global generator, as nn.Dropout
    torch.manual_seed(3)
    first = model(x)
    torch.manual_seed(3)
    assert torch.equal(first, model(x)) and not torch.equal(first, outs[0])


def test_unknown_activation_is_rejected() -> None:
    with pytest.raises(ValueError, match="valid: relu, tanh, split, sum"):
        Activation("gelu", 3)


NETWORKS = [
    # (widths, activation, split_fraction, dropout, n_inputs, n_outputs)
    ((1,), "relu", None, 0.0, 1, 1),
    ((8,), "tanh", None, 0.2, 3, 2),
    ((16, 16), "split", 0.25, 0.0, 2, 1),
    ((40, 3, 9), "sum", None, 0.5, 5, 4),
    ((7, 7, 7, 7), "split", 0.5, 0.1, 784, 10),
]


def _config(widths, activation, split_fraction, dropout) -> TrialConfig:
    return TrialConfig(
        widths=widths,
        activation=activation,
        loss="mse",
        optimizer="adam",
        lr=0.01,
        batch_size=8,
        split_fraction=split_fraction,
        dropout=dropout,
    )


@pytest.mark.parametrize("network", NETWORKS)
def test_the_layout_is_the_built_networks_count_names_and_shapes(network) -> None:
    widths, activation, fraction, dropout, n_inputs, n_outputs = network
    config = _config(widths, activation, fraction, dropout)
    layout = Layout.of(config, n_inputs, n_outputs)
    model = build_model(config, n_inputs, n_outputs, seed=0)
    state = model.state_dict()
    assert layout.n_parameters == sum(p.numel() for p in model.parameters())
    assert list(layout.shapes().items()) == [(k, tuple(v.shape)) for k, v in state.items()]
    assert [f"{name}.weight" for name in layout.names] == [k for k in state if "weight" in k]
    assert model.layout == layout and layout.sizes == (n_inputs, *widths, n_outputs)
    dims = [n_inputs, *widths, n_outputs]
    assert layout.n_parameters == sum(a * b + b for a, b in zip(dims[:-1], dims[1:]))


def test_the_parameter_count_takes_typical_fractional_widths() -> None:
    # the device cost model sizes packs for a typical network of the space
    assert parameter_count([2.0, 22.5, 1.0]) == 2.0 * 22.5 + 22.5 + 22.5 * 1.0 + 1.0


def test_the_state_dict_holds_the_weights_only() -> None:
    # split's per-unit weights are buffers that follow the module but are not saved
    model = MLP(2, [4, 4], 1, "split", 0.5)
    assert list(model.state_dict()) == list(model.layout.shapes())
    assert Activation("split", 4, 0.5).state_dict() == {}


@pytest.mark.parametrize("kind", ["relu", "tanh", "split", "sum"])
def test_each_activation_is_its_per_unit_weights_exactly(kind: str) -> None:
    """What a pack computes for a layer its members differ in equals each activation."""
    z = torch.randn(5, 9) * 3
    relu_w, tanh_w = (torch.tensor(m) for m in activation_masks(kind, 9, 0.25))
    expected = Activation(kind, 9, 0.25)(z)
    assert torch.equal(activate("mixed", z, relu_w, tanh_w), expected)
    if kind == "split":
        k = split_units(9, 0.25)
        assert torch.equal(expected[:, :k], torch.relu(z[:, :k]))
        assert torch.equal(expected[:, k:], torch.tanh(z[:, k:]))
    else:
        assert torch.equal(activate(kind, z), expected)


def test_per_unit_activations_need_their_weights() -> None:
    with pytest.raises(ValueError, match="needs per-unit weights"):
        activate("split", torch.zeros(2, 3))


def test_the_stacked_forward_is_each_members_network() -> None:
    """``forward`` over stacked (K, in, out) weights gives each member's MLP outputs, for
    a batch per member (training) and for one input set shared by all (evaluation)."""
    models = [MLP(3, [6, 4], 2, kind, 0.5) for kind in ("relu", "split", "sum")]
    layers = [
        (
            torch.stack([m.linears()[i].weight.T for m in models]),
            torch.stack([m.linears()[i].bias for m in models]).unsqueeze(1),
        )
        for i in range(3)
    ]
    activations = []
    for layer in range(2):
        masks = [
            activation_masks(m.activations[layer].kind, 6 if layer == 0 else 4, 0.5) for m in models
        ]
        relu = torch.tensor([r for r, _ in masks]).unsqueeze(1)
        tanh = torch.tensor([t for _, t in masks]).unsqueeze(1)
        activations.append(("mixed", relu, tanh))
    x = torch.randn(3, 7, 3)
    with torch.no_grad():
        batched = forward(x, layers, activations)
        shared = forward(x[0], layers, activations)
        for m, model in enumerate(models):
            assert torch.allclose(batched[m], model(x[m]), atol=1e-6)
            assert torch.allclose(shared[m], model(x[0]), atol=1e-6)
