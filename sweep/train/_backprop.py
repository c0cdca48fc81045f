"""A pack's training pass without autograd: a forward that keeps what the backward needs,
and a backward that writes each layer's gradients into the pack's gradient buffer.

Autograd records a graph each step and replays it; on a CPU its call costs some 60 us and
each node 10-20 us more, whatever the pack's size: for a small pack, more than the
arithmetic. An MLP's backward is a few operations a layer, so the pack runs them itself,
each the operation autograd's derivative runs (``threshold_backward`` for ReLU,
``tanh_backward``, baddbmm's three gradients, a product's for a mask, ``where``'s for a
pass-through layer), in its order, so the gradients are autograd's bit for bit. The loss's
gradient at the outputs comes the same way from ``sweep.losses.member_loss_and_grad``.

The network is ``sweep.model.forward``'s, written here once more to keep each layer's
input, pre-activation, tanh (``sweep.model.activate_keeping_tanh``) and dropout mask
(``tests/train/test_backprop.py`` holds the two to the same outputs, and the backward to
autograd's gradients).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from sweep.model import LayerActivation, activate_keeping_tanh

__all__ = ["Tape", "backward", "forward"]


@dataclass
class Tape:
    """What the backward needs of one forward pass, per hidden layer."""

    inputs: list[torch.Tensor] = field(default_factory=list)  # each layer's input, output too
    pre: list[torch.Tensor] = field(default_factory=list)  # pre-activations
    tanh: list[torch.Tensor | None] = field(default_factory=list)  # tanh of them, where used
    masks: list[torch.Tensor | None] = field(default_factory=list)  # dropout multipliers


def _activation_grad(
    activation: LayerActivation, g: torch.Tensor, z: torch.Tensor, t: torch.Tensor | None
) -> torch.Tensor:
    """The gradient at the pre-activations ``z`` from ``g`` at the activation's output."""
    kind, relu_w, tanh_w = activation
    if kind == "relu":
        return torch.ops.aten.threshold_backward(g, z, 0)
    assert t is not None
    if kind == "tanh":
        return torch.ops.aten.tanh_backward(g, t)
    if kind == "sum":
        return torch.ops.aten.threshold_backward(g, z, 0) + torch.ops.aten.tanh_backward(g, t)
    # A mixed layer: the forward (``activate_keeping_tanh``) has checked its unit weights.
    assert relu_w is not None and tanh_w is not None
    return torch.ops.aten.threshold_backward(g * relu_w, z, 0) + torch.ops.aten.tanh_backward(
        g * tanh_w, t
    )


def forward(
    x: torch.Tensor,
    layers: Sequence[tuple[torch.Tensor, torch.Tensor]],
    activations: Sequence[LayerActivation],
    dropout: Callable[[int, int], torch.Tensor | None],
    active: Sequence[torch.Tensor | None],
) -> tuple[torch.Tensor, Tape]:
    """A pack's outputs for (K, B, in) inputs ``x``, as ``sweep.model.forward`` gives them
    for (K, in, out) weights and (K, 1, out) biases, and their tape.

    ``dropout(layer, rows)`` is that layer's dropout multiplier for ``rows`` rows (None:
    no dropout there); ``active`` as ``sweep.model.forward`` takes it."""
    tape = Tape()
    *hidden, (w_out, b_out) = layers
    h = x
    for layer, ((w, b), activation) in enumerate(zip(hidden, activations)):
        tape.inputs.append(h)
        z = torch.baddbmm(b, h, w)
        kind, relu_w, tanh_w = activation
        a, t = activate_keeping_tanh(kind, z, relu_w, tanh_w)
        mask = dropout(layer, h.shape[1])
        if mask is not None:
            a = a * mask
        keep = active[layer]
        tape.pre.append(z)
        tape.tanh.append(t)
        tape.masks.append(mask)
        h = a if keep is None else torch.where(keep, a, h)
    tape.inputs.append(h)
    return torch.baddbmm(b_out, h, w_out), tape


def backward(
    tape: Tape,
    layers: Sequence[tuple[torch.Tensor, torch.Tensor]],
    activations: Sequence[LayerActivation],
    active: Sequence[torch.Tensor | None],
    grad_out: torch.Tensor,
    grads: Sequence[tuple[torch.Tensor, torch.Tensor]],
) -> None:
    """Write into ``grads`` (each layer's (weight, bias) gradient, as ``layers``) the
    gradients of the pack's loss, given ``grad_out``, its gradient at the outputs."""
    g = grad_out  # the gradient at the current layer's output
    for layer in range(len(layers) - 1, -1, -1):
        w, _b = layers[layer]
        gw, gb = grads[layer]
        passed = None
        if layer < len(activations):  # a hidden layer: back through its activation
            keep = active[layer]
            if keep is not None:  # members that pass their input on take it from here
                passed = torch.where(keep, 0.0, g)
                g = torch.where(keep, g, 0.0)
            mask = tape.masks[layer]
            if mask is not None:
                g = g * mask
            g = _activation_grad(activations[layer], g, tape.pre[layer], tape.tanh[layer])
        gw.copy_(tape.inputs[layer].transpose(1, 2).bmm(g))
        gb.copy_(g.sum(1, keepdim=True))
        if layer == 0:
            break  # the data need no gradient
        g_in = g.bmm(w.transpose(1, 2))
        g = g_in if passed is None else g_in + passed
