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
"""

from __future__ import annotations

import functools
import operator
import warnings
from collections.abc import Sequence
from typing import Any

import torch

from sweep import draws
from sweep.losses import member_loss
from sweep.model import (
    LayerActivation,
    Layout,
    activation_masks,
    forward,
    initial_weights,
)
from sweep.optim import lr_at
from sweep.space import TrialConfig
from sweep.train._runner import device_eval_elements, eval_rows
from sweep.train._stacked_optim import StackedOptimizer, family_order
from sweep.train._types import TrainSettings, TrialTask

# A pack's parameters and gradients are column views of one (K, P) buffer each: their
# rows are P apart, so they are not dense, and autograd notes that (once a process) when
# it accumulates into them. Expected here, so backward runs with that check relaxed: a
# thread-local switch that changes no gradient; on a torch without it, the note is
# filtered for the call instead.
_LAYOUT_NOTE = "grad and param do not obey the gradient layout"
_relaxed_layout = getattr(torch.autograd, "enforce_grad_layout_policy", None)


def _backward(loss: torch.Tensor) -> None:
    if _relaxed_layout is not None:
        with _relaxed_layout(False):
            loss.backward()
        return
    with warnings.catch_warnings():  # pragma: no cover - older torch releases
        warnings.filterwarnings("ignore", message=_LAYOUT_NOTE)
        loss.backward()


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
        views of its columns, with their gradients views of a buffer of the same shape,
        which backward adds into (the optimizer steps both buffers at once)."""
        self.flat = flat
        self.grad = torch.zeros_like(flat)
        views: list[torch.Tensor] = []
        start = 0
        for a, b in self._shapes:
            cols = slice(start, start + a * b)
            view = flat[:, cols].view(-1, a, b).requires_grad_(True)
            view.grad = self.grad[:, cols].view(-1, a, b)
            views.append(view)
            start += a * b
        depth = self.layout.depth
        # (weight, bias) per layer, the output layer last, as ``forward`` takes them.
        self.layers = [*zip(views[:depth], views[depth : 2 * depth]), (views[-2], views[-1])]

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

    def _dropout(self, layer: int, a: torch.Tensor) -> torch.Tensor:
        """``a`` after each member's own dropout (each unit as the member draws it alone)."""
        spec = self._drops[layer]
        if spec is None:
            return a
        thresholds, scales, widths = spec
        rows = a.shape[1]
        index = self._unit_index.get((layer, rows))
        if index is None:
            index = draws.unit_index(rows, widths, a.shape[2])
            self._unit_index[(layer, rows)] = index
        return a * draws.dropout_mask(
            self._dropout_keys, self._steps, layer, index, thresholds, scales
        )

    def _forward(self, x: torch.Tensor, train: bool) -> torch.Tensor:
        dropout = self._dropout if train else None
        return forward(x, self.layers, self.activations, dropout, self.active)

    def step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        self.optimizer.zero_grad()
        out = self._forward(x, train=True)
        self._steps += 1
        task = self.settings.task
        if len(self.loss_groups) == 1:
            kind, reduction = next(iter(self.loss_groups))
            losses = member_loss(kind, out, y, task, reduction)
            _backward(losses.sum())
            self.optimizer.step()
            return losses.detach()
        vector = torch.empty(len(self.numbers), device=self.device)
        parts: list[torch.Tensor] = []
        for (kind, reduction), idx in self.loss_groups.items():
            part = member_loss(
                kind, out.index_select(0, idx), y.index_select(0, idx), task, reduction
            )
            vector.index_copy_(0, idx, part.detach())
            parts.append(part.sum())
        _backward(functools.reduce(operator.add, parts))
        self.optimizer.step()
        return vector

    @torch.no_grad()
    def predict(self, x: torch.Tensor) -> torch.Tensor:
        return self._forward(x, train=False)

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
