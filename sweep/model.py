"""The network, defined once: an MLP with a configurable activation mix.

Read top to bottom:
  Layout          the layer sizes of one trial's network; its parameter count,
                  state-dict names and shapes all come from it;
  activate        the activations (the nn.Module and the pack compute them here);
  SeededDropout   inverted dropout with a trial's own counter-based masks (sweep.draws);
  forward         the forward pass over one network's layers or a pack's stacked ones;
  MLP             the nn.Module a user gets back (checkpoints, ``study.model()``);
  initial_weights and build_model: a trial's seeded starting point.

Activations (per hidden layer of width w):
  relu, tanh  - the usual;
  split       - the first round(f * w) units use ReLU, the rest tanh;
  sum         - ReLU and tanh of the same pre-activation, added.
A network may use one for every hidden layer or its own per layer.
Every activation maps 0 to 0, which is what lets packed training pad widths
with zeros exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar, cast

import torch
import torch.nn.functional as F
from torch import nn

from sweep import draws
from sweep.config._choices import ACTIVATIONS
from sweep.space import TrialConfig

__all__ = [
    "MLP",
    "Activation",
    "Layout",
    "SeededDropout",
    "activate",
    "activation_masks",
    "build_model",
    "forward",
    "initial_weights",
    "parameter_count",
    "split_units",
]

Size = TypeVar("Size", int, float)


# -- the layout: sizes, parameter count, state-dict names and shapes ---------------------------
def parameter_count(sizes: Sequence[Size]) -> Size:
    """Weights and biases of a dense network whose layers have these sizes (inputs, hidden
    widths, outputs). Sizes may be fractional where a cost model takes a typical width."""
    return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:]))


@dataclass(frozen=True)
class Layout:
    """The layer sizes of one network: what training, checkpoints, prediction and the
    device cost model all derive their shapes and counts from."""

    n_inputs: int
    widths: tuple[int, ...]
    n_outputs: int

    @classmethod
    def of(cls, config: TrialConfig, n_inputs: int, n_outputs: int) -> Layout:
        return cls(n_inputs, tuple(config.widths), n_outputs)

    @property
    def depth(self) -> int:
        return len(self.widths)

    @property
    def sizes(self) -> tuple[int, ...]:
        return (self.n_inputs, *self.widths, self.n_outputs)

    @property
    def layers(self) -> list[tuple[int, int]]:
        """(fan_in, fan_out) per layer: the hidden layers, then the output layer."""
        return list(zip(self.sizes[:-1], self.sizes[1:]))

    @property
    def names(self) -> list[str]:
        """Each layer's state-dict prefix, as ``MLP`` names its ``nn.Linear`` layers."""
        return [*(f"hidden.{i}" for i in range(self.depth)), "out"]

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """State-dict name -> shape, in ``MLP``'s order: ``nn.Linear``'s weight (out, in)
        and bias (out,) per layer."""
        out: dict[str, tuple[int, ...]] = {}
        for name, (fan_in, fan_out) in zip(self.names, self.layers):
            out[f"{name}.weight"] = (fan_out, fan_in)
            out[f"{name}.bias"] = (fan_out,)
        return out

    @property
    def n_parameters(self) -> int:
        return parameter_count(self.sizes)


# -- activations -------------------------------------------------------------------------------
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


def activate(
    kind: str,
    z: torch.Tensor,
    relu_w: torch.Tensor | None = None,
    tanh_w: torch.Tensor | None = None,
) -> torch.Tensor:
    """The activation of pre-activations ``z``. relu, tanh and sum apply to every unit; any
    other kind (split, or a pack layer whose members differ) weighs each unit's ReLU and
    tanh with ``relu_w`` and ``tanh_w`` (see ``activation_masks``). With 0/1 weights that
    is exact: a unit gets relu(z) + 0 or tanh(z) + 0."""
    return activate_keeping_tanh(kind, z, relu_w, tanh_w)[0]


def activate_keeping_tanh(
    kind: str,
    z: torch.Tensor,
    relu_w: torch.Tensor | None = None,
    tanh_w: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``activate`` of ``z``, and the tanh of ``z`` it took (None where it took none), which
    the written-out backward needs (``sweep.train._backprop``)."""
    if kind == "relu":
        return torch.relu(z), None
    t = torch.tanh(z)
    if kind == "tanh":
        return t, t
    if kind == "sum":
        return torch.relu(z) + t, t
    if relu_w is None or tanh_w is None:
        raise ValueError(f"activation {kind!r} needs per-unit weights (activation_masks)")
    return torch.relu(z) * relu_w + t * tanh_w, t


# A hidden layer's activation: (kind, relu_w, tanh_w) as ``activate`` takes them.
LayerActivation = tuple[str, torch.Tensor | None, torch.Tensor | None]


class Activation(nn.Module):
    """One of relu, tanh, split (ReLU on the first units, tanh on the rest) or sum."""

    relu_w: torch.Tensor | None
    tanh_w: torch.Tensor | None

    def __init__(self, kind: str, width: int, split_fraction: float | None = None) -> None:
        super().__init__()
        relu_w, tanh_w = activation_masks(kind, width, split_fraction)  # validates the name
        self.kind = kind
        self.width = width
        self.n_relu = int(sum(relu_w)) if kind == "split" else 0
        # Buffers follow the module to its device; not persistent, so the state dict
        # holds the weights only (checkpoints stay as they were).
        mixed = kind == "split"
        self.register_buffer("relu_w", torch.tensor(relu_w) if mixed else None, persistent=False)
        self.register_buffer("tanh_w", torch.tensor(tanh_w) if mixed else None, persistent=False)

    @property
    def spec(self) -> LayerActivation:
        """What ``activate`` takes besides the input."""
        return self.kind, self.relu_w, self.tanh_w

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return activate(self.kind, z, self.relu_w, self.tanh_w)

    def extra_repr(self) -> str:
        if self.kind == "split":
            return f"split: relu {self.n_relu} / tanh {self.width - self.n_relu}"
        return self.kind


# -- dropout -----------------------------------------------------------------------------------
class SeededDropout(nn.Module):
    """Inverted dropout whose masks can be a trial's own counter-based draws.

    With a ``key`` (sweep's training sets the trial's, and the ``step`` before each
    step) a layer's mask is ``sweep.draws.dropout_mask`` of the key, the step, the layer
    and each unit's index: the numbers the trial draws in a pack too. Without one (a
    model handed to the user) it draws from torch's global generator, as ``nn.Dropout``.
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p
        self.key: int | None = None
        self.step = 0

    def forward(self, x: torch.Tensor, layer: int = 0) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        scale = 1.0 / (1.0 - self.p)
        if self.key is None:
            return x * ((torch.rand(x.shape, device=x.device) >= self.p).to(x.dtype) * scale)
        rows, width = x.shape
        keys = draws.keys_tensor([self.key], 1, x.device)
        index = draws.spread(torch.arange(rows * width, device=x.device).view(rows, width))
        thresholds = torch.tensor(draws.threshold(self.p), device=x.device)
        scales = torch.tensor(scale, device=x.device)
        mask = draws.dropout_mask(keys, self.step, layer, index, thresholds, scales)
        return x * mask.to(x.dtype)

    def extra_repr(self) -> str:
        return f"p={self.p}"


# -- the forward pass --------------------------------------------------------------------------
def affine(h: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """One layer's affine map. One network's weight is as ``nn.Linear`` holds it, (out, in),
    and this is ``nn.Linear``'s own call (its numbers); a pack's is stacked and transposed,
    (K, in, out) with bias (K, 1, out), for batched matmuls."""
    if w.dim() == 2:
        return F.linear(h, w, b)
    if h.dim() == 2:  # a pack's evaluation: one input set shared by every member
        return torch.matmul(h, w) + b
    return torch.baddbmm(b, h, w)


def forward(
    x: torch.Tensor,
    layers: Sequence[tuple[torch.Tensor, torch.Tensor]],
    activations: Sequence[LayerActivation],
    dropout: Callable[[int, torch.Tensor], torch.Tensor] | None = None,
    active: Sequence[torch.Tensor | None] | None = None,
) -> torch.Tensor:
    """The MLP: [affine -> activation -> dropout] per hidden layer, then the output affine.

    Args:
        x: (B, in) for one network; for a pack (K, B, in), or (N, in) shared by all.
        layers: (weight, bias) per layer, the output layer last, as ``affine`` takes them:
            one network's (out, in) and (out,), or a pack's (K, in, out) and (K, 1, out).
        activations: per hidden layer, what ``activate`` takes besides the input.
        dropout: ``dropout(layer, a)`` is ``a`` after dropout; None: no dropout.
        active: per hidden layer of a pack of mixed depths, which members use it (a
            boolean (K, 1, 1)); the others pass their hidden state on unchanged (chosen
            with ``where``, so no gradient reaches their unused weights). None: all do.

    Returns:
        The raw outputs: a logit per class (or one for binary), or the regression values.
    """
    *hidden, (w_out, b_out) = layers
    h = x
    for layer, ((w, b), (kind, relu_w, tanh_w)) in enumerate(zip(hidden, activations)):
        a = activate(kind, affine(h, w, b), relu_w, tanh_w)
        if dropout is not None:
            a = dropout(layer, a)
        keep = active[layer] if active is not None else None
        h = a if keep is None else torch.where(keep, a, h)
    return affine(h, w_out, b_out)


class MLP(nn.Module):
    """Fully connected network: [Linear -> activation -> dropout] x depth -> Linear.

    The output is raw: a logit per class (or one for binary), or the regression values.
    Its parameters are ``nn.Linear`` layers named as ``Layout.names`` says.
    """

    def __init__(
        self,
        n_inputs: int,
        widths: Sequence[int],
        n_outputs: int,
        activation: str | Sequence[str] = "relu",
        split_fraction: float | None = None,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.layout = Layout(n_inputs, tuple(widths), n_outputs)
        *hidden, out = self.layout.layers
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in hidden)
        kinds = [activation] * len(hidden) if isinstance(activation, str) else list(activation)
        if len(kinds) != len(hidden):
            raise ValueError(f"{len(kinds)} activations for {len(hidden)} hidden layers")
        self.activations = nn.ModuleList(
            Activation(kind, w, split_fraction) for kind, w in zip(kinds, self.layout.widths)
        )
        self.dropout = SeededDropout(dropout)
        self.out = nn.Linear(*out)

    def linears(self) -> list[nn.Linear]:
        """The layers in ``Layout.layers`` order: hidden, then output."""
        return [*self.hidden, self.out]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        layers = [(linear.weight, linear.bias) for linear in self.linears()]
        acts = [cast(Activation, a).spec for a in self.activations]
        return forward(x, layers, acts, lambda layer, a: self.dropout(a, layer))


# -- a trial's starting point ------------------------------------------------------------------
def initial_weights(
    layout: Layout, seed: int, init: str = "default"
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The initial (weight (out, in), bias) per layer, hidden layers then the output layer,
    on the CPU: PyTorch's default ``nn.Linear`` initialisation, drawn in the order an ``MLP``
    creates its layers from a generator seeded with ``seed``. These are the numbers
    ``torch.manual_seed(seed)`` followed by building the ``MLP`` gives, without touching the
    global random state; the pack and ``build_model`` both start from them.

    ``init = "normal"``: every weight drawn from N(0, 1) instead, the biases zero."""
    generator = torch.Generator().manual_seed(seed)
    out = []
    for fan_in, fan_out in layout.layers:
        if init == "normal":
            out.append((torch.randn(fan_out, fan_in, generator=generator), torch.zeros(fan_out)))
            continue
        weight = torch.empty(fan_out, fan_in)
        nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        bias = nn.init.uniform_(torch.empty(fan_out), -bound, bound, generator=generator)
        out.append((weight, bias))
    return out


def build_model(config: TrialConfig, n_inputs: int, n_outputs: int, seed: int) -> MLP:
    """The trial's network on the CPU, starting from ``initial_weights`` under ``seed``."""
    # nn.Linear initialises itself from the global generator: fork it, so building a
    # model leaves the caller's random state as it was.
    with torch.random.fork_rng(devices=[]):
        model = MLP(
            n_inputs,
            config.widths,
            n_outputs,
            config.layer_activations,
            config.split_fraction,
            config.dropout,
        )
    start = initial_weights(model.layout, seed, config.init)
    with torch.no_grad():
        for linear, (weight, bias) in zip(model.linears(), start):
            linear.weight.copy_(weight)
            linear.bias.copy_(bias)
    return model
