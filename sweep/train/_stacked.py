"""Many trials trained as one: stacked weights, batched matmuls, one step per batch.

Members may differ in width (padded with zeros, which every activation keeps
at zero, so padding is exact), in activation (per layer), loss and its reduction,
initialisation, learning rate, weight decay, momentum, dropout, schedule and
optimizer family. All parameters of a
member lie in one row of a (K, P) buffer, members of one optimizer family in
consecutive rows, so each family's update is a few operations on one slice.
They may differ in depth: a shallower member passes its hidden state through
the extra layers unchanged (selected with ``where``, so no gradient reaches
the unused weights). They must share the batch size.

Initial weights are each member's own (``initial_weights`` with its seed, as its
``MLP`` alone gets them), and batch order and dropout masks are each member's own
counter-based draws (``sweep.draws``), made for all members in a fixed number of
operations, so a member's numbers match the same trial trained alone.

A step's backward is written out (``sweep.train._backprop``): its gradients overwrite the
gradient buffer, so there is nothing to zero first, and autograd records nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from sweep import draws
from sweep.losses import member_loss_and_grad
from sweep.model import (
    LayerActivation,
    Layout,
    activation_masks,
    forward,
    initial_weights,
)
from sweep.optim import lr_at
from sweep.space import TrialConfig
from sweep.train import _backprop
from sweep.train._runner import device_eval_elements, eval_rows
from sweep.train._stacked_optim import StackedOptimizer, family_order
from sweep.train._types import TrainSettings, TrialTask


def _own(t: torch.Tensor) -> torch.Tensor:
    """A contiguous copy of a slice of the host's copy of the pack: a member's weights
    must not keep the pack's buffer alive (``torch.save`` of a view writes its whole
    storage)."""
    return t.clone(memory_format=torch.contiguous_format)


def pack_widths(configs: Sequence[TrialConfig]) -> list[int]:
    """The padded hidden widths of a pack: per layer the widest member; with mixed depths,
    one width for every layer (pass-through layers need equal widths in and out)."""
    depth = max(c.depth for c in configs)
    if any(c.depth != depth for c in configs):
        return [max(max(c.widths) for c in configs)] * depth
    return [max(c.widths[layer] for c in configs) for layer in range(depth)]


class StackedRunner:
    """A Runner over K members (see ``sweep.train._runner.Runner``)."""

    def __init__(
        self,
        tasks: Sequence[TrialTask],
        n_inputs: int,
        n_outputs: int,
        settings: TrainSettings,
        device: torch.device,
    ) -> None:
        sizes = {t.config.batch_size for t in tasks}
        if len(sizes) != 1:
            raise ValueError(f"a pack must share one batch size, got {sorted(sizes)}")
        # Members of one optimizer family are consecutive rows (one slice to update).
        self.tasks = [tasks[i] for i in family_order([t.config for t in tasks])]
        self.settings = settings
        self.device = device
        self.numbers = [t.number for t in self.tasks]
        self.batch_size = sizes.pop()
        self.n_inputs, self.n_outputs = n_inputs, n_outputs
        configs = [t.config for t in self.tasks]
        # The pack's padded network. Every parameter of a member lies in one row of a
        # (K, P) buffer: the hidden weights (in, out) and biases (1, out) per layer, then
        # the output layer's.
        self.layout = Layout(n_inputs, tuple(pack_widths(configs)), n_outputs)
        self.mixed_depth = any(c.depth != self.layout.depth for c in configs)
        *hidden, out = self.layout.layers
        self._shapes = [*hidden, *((1, b) for _, b in hidden), out, (1, n_outputs)]
        flat = torch.zeros(len(self.tasks), self.layout.n_parameters)
        self._bind(flat)
        for m in range(len(self.tasks)):
            layout = self._layout(m)
            start = initial_weights(layout, self.tasks[m].seed, self.tasks[m].config.init)
            for (w, b), (weight, bias) in zip(self._member_layers(layout), start):
                fan_out, fan_in = weight.shape
                w.data[m, :fan_in, :fan_out] = weight.T
                b.data[m, 0, :fan_out] = bias
        self._bind(flat.to(device))
        self._build_member_tensors()
        self.optimizer = StackedOptimizer(self.flat, self.grad, configs)
        self._order_keys = draws.keys_tensor(
            [draws.stream_key(t.seed, draws.ORDER) for t in self.tasks], 2, device
        )
        self._dropout_keys = draws.keys_tensor(
            [draws.stream_key(t.seed, draws.DROPOUT) for t in self.tasks], 3, device
        )
        self._epochs = 0  # batch orders drawn
        self._steps = 0  # steps taken: the dropout masks' counter

    def _bind(self, flat: torch.Tensor) -> None:
        """Make ``flat`` the pack's parameters: each layer's weights and biases become
        views of its columns, and their gradients the same views of a buffer of the same
        shape, which the backward writes (the optimizer steps both buffers at once)."""
        self.flat = flat
        self.grad = torch.zeros_like(flat)
        self.layers = self._views(flat)
        self.grads = self._views(self.grad)

    def _views(self, buffer: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(weight, bias) per layer, the output layer last, as ``forward`` takes them:
        views of ``buffer``'s columns."""
        views: list[torch.Tensor] = []
        start = 0
        for a, b in self._shapes:
            views.append(buffer[:, start : start + a * b].view(-1, a, b))
            start += a * b
        depth = self.layout.depth
        return [*zip(views[:depth], views[depth : 2 * depth]), (views[-2], views[-1])]

    def _layout(self, position: int) -> Layout:
        return Layout.of(self.tasks[position].config, self.n_inputs, self.n_outputs)

    def _member_layers(self, layout: Layout) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The pack's layers a member of ``layout`` uses, in ``layout.layers`` order (a
        shallower member skips the deeper hidden layers)."""
        return [*self.layers[: layout.depth], self.layers[-1]]

    # -- per-member constants, rebuilt when members leave ---------------------------------
    def _build_member_tensors(self) -> None:
        configs = [t.config for t in self.tasks]
        # Per hidden layer, what ``activate`` takes: one kind for the whole pack where
        # every member uses it on every unit, else each unit's ReLU and tanh weights.
        self.activations: list[LayerActivation] = []
        self.active: list[torch.Tensor | None] = []
        for layer, width in enumerate(self.layout.widths):
            kinds = {c.layer_activations[layer] for c in configs if layer < c.depth}
            if len(kinds) == 1 and "split" not in kinds:
                self.activations.append((kinds.pop(), None, None))
            else:
                relu, tanh = [], []
                for c in configs:
                    w = c.widths[layer] if layer < c.depth else 0
                    kind = c.layer_activations[layer] if w else "relu"
                    r, t = activation_masks(kind, w, c.split_fraction)
                    relu.append(r + [0.0] * (width - w))
                    tanh.append(t + [0.0] * (width - w))
                self.activations.append(
                    (
                        "mixed",
                        torch.tensor(relu, device=self.device).unsqueeze(1),
                        torch.tensor(tanh, device=self.device).unsqueeze(1),
                    )
                )
            if self.mixed_depth and layer > 0:
                flags = [layer < c.depth for c in configs]
                self.active.append(torch.tensor(flags, device=self.device).view(-1, 1, 1))
            else:
                self.active.append(None)
        # Per hidden layer with any dropout: each member's threshold, scale and width
        # there (a member without dropout on it, or shallower, keeps every unit).
        self._drops: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None] = []
        for layer in range(self.layout.depth):
            ps = [c.dropout if layer < c.depth else 0.0 for c in configs]
            if not any(ps):
                self._drops.append(None)
                continue
            widths = [c.widths[layer] if layer < c.depth else 1 for c in configs]
            self._drops.append(
                (
                    draws.keys_tensor([draws.threshold(p) for p in ps], 3, self.device),
                    torch.tensor([1.0 / (1.0 - p) for p in ps], device=self.device).view(-1, 1, 1),
                    draws.keys_tensor(widths, 3, self.device),
                )
            )
        self._unit_index: dict[tuple[int, int], torch.Tensor] = {}  # (layer, rows) -> index
        self._drop_layers = [layer for layer, spec in enumerate(self._drops) if spec is not None]
        self._offsets = draws.layer_offsets(self._drop_layers, 3, self.device)
        self._bases_at = -1  # the step whose dropout bases ``_bases`` holds
        groups: dict[tuple[str, str], list[int]] = {}
        for m, c in enumerate(configs):
            groups.setdefault((c.loss, c.reduction), []).append(m)
        self.loss_groups = {
            kind: torch.tensor(ms, device=self.device) for kind, ms in groups.items()
        }

    # -- Runner ------------------------------------------------------------------------------
    def start_epoch(self, epoch: int) -> None:
        self.optimizer.set_lr([lr_at(t.config, epoch, self.settings.epochs) for t in self.tasks])

    def batch_order(self, n: int) -> torch.Tensor:
        self._epochs += 1
        return draws.batch_order(self._order_keys, self._epochs - 1, n)

    def _dropout_mask(self, layer: int, rows: int) -> torch.Tensor | None:
        """Each member's own dropout multiplier at ``layer`` for a batch of ``rows`` (each
        unit as the member draws it alone); None where no member drops units there."""
        spec = self._drops[layer]
        if spec is None:
            return None
        thresholds, scales, widths = spec
        index = self._unit_index.get((layer, rows))
        if index is None:
            index = draws.unit_index(rows, widths, self.layout.widths[layer])
            self._unit_index[(layer, rows)] = index
        if self._bases_at != self._steps:  # every dropout layer's draws of the step, at once
            self._bases = draws.layer_bases(self._dropout_keys, self._steps, self._offsets)
            self._bases_at = self._steps
        base = self._bases[:, self._drop_layers.index(layer)]
        return draws.mask_of(base, index, thresholds, scales)

    def step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out, tape = _backprop.forward(
            x, self.layers, self.activations, self._dropout_mask, self.active
        )
        self._steps += 1
        losses, grad_out = self._losses(out, y)
        _backprop.backward(tape, self.layers, self.activations, self.active, grad_out, self.grads)
        self.optimizer.step()
        return losses

    def _losses(self, out: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each member's loss for outputs ``out``, and the gradient of their sum at ``out``."""
        task = self.settings.task
        if len(self.loss_groups) == 1:
            kind, reduction = next(iter(self.loss_groups))
            return member_loss_and_grad(kind, out, y, task, reduction)
        losses = torch.empty(len(self.numbers), device=self.device)
        grad = torch.empty_like(out)
        for (kind, reduction), idx in self.loss_groups.items():
            part, part_grad = member_loss_and_grad(
                kind, out.index_select(0, idx), y.index_select(0, idx), task, reduction
            )
            losses.index_copy_(0, idx, part)
            grad.index_copy_(0, idx, part_grad)
        return losses, grad

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return forward(x, self.layers, self.activations, None, self.active)

    def drop(self, positions: list[int]) -> None:
        if not positions:
            return
        keep = [i for i in range(len(self.numbers)) if i not in set(positions)]
        self.numbers = [self.numbers[i] for i in keep]
        self.tasks = [self.tasks[i] for i in keep]
        if not keep:
            return
        rows = torch.tensor(keep, device=self.device)
        self._order_keys = self._order_keys[rows]
        self._dropout_keys = self._dropout_keys[rows]
        self._bind(self.flat[rows])
        self._build_member_tensors()
        self.optimizer.select(keep, self.flat, self.grad)

    def weights(self, positions: Sequence[int]) -> list[dict[str, Any]]:
        if not positions:
            return []
        # One copy of the whole buffer to the host (not 2 x depth + 2 small ones per
        # member); each layer's tensor is the same view of the copy as of the buffer.
        flat = self.flat.detach()
        host = flat.to("cpu", memory_format=torch.contiguous_format, copy=True)

        def on_host(view: torch.Tensor) -> torch.Tensor:
            return host.as_strided(
                view.shape, view.stride(), view.storage_offset() - flat.storage_offset()
            )

        states = []
        for position in positions:
            layout = self._layout(position)
            out: dict[str, Any] = {}
            layers = zip(layout.names, layout.layers, self._member_layers(layout))
            for name, (fan_in, fan_out), (w, b) in layers:
                out[f"{name}.weight"] = _own(on_host(w)[position, :fan_in, :fan_out].T)
                out[f"{name}.bias"] = _own(on_host(b)[position, 0, :fan_out])
            states.append(out)
        return states

    def config(self, position: int) -> TrialConfig:
        return self.tasks[position].config

    def n_params(self, position: int) -> int:
        return self._layout(position).n_parameters

    def eval_chunk(self) -> int:
        elements = device_eval_elements(self.device)
        return eval_rows(elements, len(self.numbers), max(self.layout.widths))
