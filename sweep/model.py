"""The network: an MLP with a configurable activation mix.

Activations (per hidden layer of width w):
  relu, tanh  - the usual;
  split       - the first round(f * w) units use ReLU, the rest tanh;
  sum         - ReLU and tanh of the same pre-activation, added.
Every activation maps 0 to 0, which is what lets packed training pad widths
with zeros exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from sweep.config._choices import ACTIVATIONS
from sweep.space import TrialConfig

__all__ = [
    "MLP",
    "Activation",
    "SeededDropout",
    "build_model",
    "initial_weights",
    "activation_masks",
    "split_units",
]


def split_units(width: int, fraction: float) -> int:
    """How many of a split layer's ``width`` units use ReLU (the rest use tanh)."""
    return int(round(fraction * width))


def activation_masks(
    kind: str, width: int, split_fraction: float | None
) -> tuple[list[float], list[float]]:
    """Per-unit weights of ReLU and tanh: the layer computes relu_w * relu(z) + tanh_w * tanh(z)."""
    if kind == "relu":
        return [1.0] * width, [0.0] * width
    if kind == "tanh":
        return [0.0] * width, [1.0] * width
    if kind == "sum":
        return [1.0] * width, [1.0] * width
    if kind == "split":
        k = split_units(width, split_fraction if split_fraction is not None else 0.5)
        return [1.0] * k + [0.0] * (width - k), [0.0] * k + [1.0] * (width - k)
    raise ValueError(f"unknown activation {kind!r}; valid: {', '.join(ACTIVATIONS)}")


class Activation(nn.Module):
    """One of relu, tanh, split (ReLU on the first units, tanh on the rest) or sum."""

    def __init__(self, kind: str, width: int, split_fraction: float | None = None) -> None:
        super().__init__()
        activation_masks(kind, width, split_fraction)  # validates the name
        self.kind = kind
        self.width = width
        self.n_relu = split_units(width, split_fraction or 0.5) if kind == "split" else 0

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if self.kind == "relu":
            return torch.relu(z)
        if self.kind == "tanh":
            return torch.tanh(z)
        if self.kind == "sum":
            return torch.relu(z) + torch.tanh(z)
        return torch.cat(
            [torch.relu(z[..., : self.n_relu]), torch.tanh(z[..., self.n_relu :])], dim=-1
        )

    def extra_repr(self) -> str:
        if self.kind == "split":
            return f"split: relu {self.n_relu} / tanh {self.width - self.n_relu}"
        return self.kind


def dropout_scale(keep: torch.Tensor, p: float) -> torch.Tensor:
    """Inverted-dropout multiplier for a boolean keep mask (one formula for single and packed)."""
    return keep.to(torch.float32) * (1.0 / (1.0 - p))


class SeededDropout(nn.Module):
    """Inverted dropout that can draw its masks from a given generator.

    Training with a per-trial generator makes a trial's masks independent of
    anything else in the process, so the same trial gives the same numbers
    alone or in a pack.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = torch.rand(x.shape, generator=self.generator, device=x.device) >= self.p
        return x * dropout_scale(keep, self.p).to(x.dtype)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class MLP(nn.Module):
    """Fully connected network: [Linear -> activation -> dropout] x depth -> Linear.

    The output is raw: a logit per class (or one for binary), or the regression values.
    """

    def __init__(
        self,
        n_inputs: int,
        widths: Sequence[int],
        n_outputs: int,
        activation: str = "relu",
        split_fraction: float | None = None,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        sizes = [n_inputs, *widths]
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.activations = nn.ModuleList(Activation(activation, w, split_fraction) for w in widths)
        self.dropout = SeededDropout(dropout)
        self.out = nn.Linear(sizes[-1], n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for linear, act in zip(self.hidden, self.activations):
            x = self.dropout(act(linear(x)))
        return self.out(x)


def initial_weights(
    config: TrialConfig, n_inputs: int, n_outputs: int, seed: int
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The trial's initial (weight (out, in), bias) per layer, hidden layers then the output
    layer, on the CPU: PyTorch's default ``nn.Linear`` initialisation, drawn in the order an
    ``MLP`` creates its layers from a generator seeded with ``seed``. These are the numbers
    ``torch.manual_seed(seed)`` followed by building the ``MLP`` gives, without building a
    module or touching the global random state."""
    generator = torch.Generator().manual_seed(seed)
    sizes = [n_inputs, *config.widths, n_outputs]
    out = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        weight = torch.empty(fan_out, fan_in)
        nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        bias = nn.init.uniform_(torch.empty(fan_out), -bound, bound, generator=generator)
        out.append((weight, bias))
    return out


def build_model(config: TrialConfig, n_inputs: int, n_outputs: int, seed: int) -> MLP:
    """The trial's network with its seeded initial weights (PyTorch's default init), on the CPU.
    They equal ``initial_weights``, which a pack reads without building the module."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MLP(
            n_inputs,
            config.widths,
            n_outputs,
            config.activation,
            config.split_fraction,
            config.dropout,
        )


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
