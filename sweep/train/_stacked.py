"""Many trials trained as one: stacked weights, batched matmuls, one step per batch.

Members may differ in width (padded with zeros, which every activation keeps
at zero, so padding is exact), in activation, loss, learning rate, weight
decay, momentum, dropout, schedule and optimizer family. All parameters of a
member lie in one row of a (K, P) buffer, members of one optimizer family in
consecutive rows, so each family's update is a few operations on one slice.
They may differ in depth: a shallower member passes its hidden state through
the extra layers unchanged (selected with ``where``, so no gradient reaches
the unused weights). They must share the batch size.

Initial weights are each member's own (``initial_weights`` with its seed, as its
``MLP`` alone gets them), and each member draws batch order and dropout masks from
its own generators, so a member's numbers match the same trial trained alone.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import torch

from sweep.losses import member_loss
from sweep.model import activation_masks, dropout_scale, initial_weights
from sweep.optim import lr_at
from sweep.space import TrialConfig
from sweep.train._runner import EVAL_ELEMENTS, derived_seed, generator
from sweep.train._stacked_optim import StackedOptimizer, family_order
from sweep.train._types import TrainSettings, TrialTask

# A pack's parameters and gradients are column views of one (K, P) buffer each: rows
# are P apart, so they are not dense and torch notes it on every accumulation.
warnings.filterwarnings("ignore", message="grad and param do not obey the gradient layout")


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
        widths = pack_widths(configs)
        depth = len(widths)
        self.mixed_depth = any(c.depth != depth for c in configs)
        self.widths = widths
        dims = [n_inputs, *widths]
        # Every parameter of a member lies in one row of a (K, P) buffer: the hidden
        # weights (in, out) and biases (1, out) per layer, then the output layer's.
        self._shapes = [
            *((a, b) for a, b in zip(dims[:-1], dims[1:])),
            *((1, b) for b in widths),
            (widths[-1], n_outputs),
            (1, n_outputs),
        ]
        flat = torch.zeros(len(self.tasks), sum(a * b for a, b in self._shapes))
        self._bind(flat)
        for m, t in enumerate(self.tasks):
            *hidden, (w_out, b_out) = initial_weights(t.config, n_inputs, n_outputs, t.seed)
            for layer, (weight, bias) in enumerate(hidden):
                b, a = weight.shape
                self.weights_[layer].data[m, :a, :b] = weight.T
                self.biases[layer].data[m, 0, :b] = bias
            self.w_out.data[m, : w_out.shape[1]] = w_out.T
            self.b_out.data[m, 0] = b_out
        self._bind(flat.to(device))
        self._build_member_tensors()
        self.optimizer = StackedOptimizer(self.flat, self.grad, configs)
        self._orders = [generator(derived_seed(t.seed, 1), device) for t in self.tasks]
        self._dropout_gens = [generator(derived_seed(t.seed, 2), device) for t in self.tasks]

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
        depth = len(self.widths)
        self.weights_ = views[:depth]
        self.biases = views[depth : 2 * depth]
        self.w_out, self.b_out = views[-2], views[-1]

    # -- per-member constants, rebuilt when members leave ---------------------------------
    def _build_member_tensors(self) -> None:
        configs = [t.config for t in self.tasks]
        self.kinds = []
        self.relu_w: list[torch.Tensor | None] = []
        self.tanh_w: list[torch.Tensor | None] = []
        self.active: list[torch.Tensor | None] = []
        for layer, width in enumerate(self.widths):
            present = [c for c in configs if layer < c.depth]
            kinds = {c.activation for c in present}
            padded_split = any(c.activation == "split" for c in present)
            if len(kinds) == 1 and not padded_split:
                self.kinds.append(kinds.pop())
                self.relu_w.append(None)
                self.tanh_w.append(None)
            else:
                relu, tanh = [], []
                for c in configs:
                    w = c.widths[layer] if layer < c.depth else 0
                    r, t = activation_masks(c.activation, w, c.split_fraction) if w else ([], [])
                    relu.append(r + [0.0] * (width - w))
                    tanh.append(t + [0.0] * (width - w))
                self.kinds.append("mask")
                self.relu_w.append(torch.tensor(relu, device=self.device).unsqueeze(1))
                self.tanh_w.append(torch.tensor(tanh, device=self.device).unsqueeze(1))
            if self.mixed_depth and layer > 0:
                flags = [layer < c.depth for c in configs]
                self.active.append(torch.tensor(flags, device=self.device).view(-1, 1, 1))
            else:
                self.active.append(None)
        self.dropout = [c.dropout for c in configs]
        groups: dict[str, list[int]] = {}
        for m, c in enumerate(configs):
            groups.setdefault(c.loss, []).append(m)
        self.loss_groups = {
            kind: torch.tensor(ms, device=self.device) for kind, ms in groups.items()
        }

    # -- Runner ------------------------------------------------------------------------------
    def start_epoch(self, epoch: int) -> None:
        self.optimizer.set_lr([lr_at(t.config, epoch, self.settings.epochs) for t in self.tasks])

    def batch_order(self, n: int) -> torch.Tensor:
        return torch.stack(
            [torch.randperm(n, generator=g, device=self.device) for g in self._orders]
        )

    def _activate(self, layer: int, z: torch.Tensor) -> torch.Tensor:
        kind = self.kinds[layer]
        if kind == "relu":
            return torch.relu(z)
        if kind == "tanh":
            return torch.tanh(z)
        if kind == "sum":
            return torch.relu(z) + torch.tanh(z)
        relu_w, tanh_w = self.relu_w[layer], self.tanh_w[layer]
        assert relu_w is not None and tanh_w is not None
        return torch.relu(z) * relu_w + torch.tanh(z) * tanh_w

    def _dropout_mask(self, layer: int, shape: torch.Size) -> torch.Tensor | None:
        mask: torch.Tensor | None = None
        for m, (p, t) in enumerate(zip(self.dropout, self.tasks)):
            if p == 0.0 or layer >= t.config.depth:
                continue
            if mask is None:
                mask = torch.ones(shape, device=self.device)
            w = t.config.widths[layer]
            keep = (
                torch.rand((shape[1], w), generator=self._dropout_gens[m], device=self.device) >= p
            )
            mask[m, :, :w] = dropout_scale(keep, p)
        return mask

    def _forward(self, x: torch.Tensor, train: bool) -> torch.Tensor:
        h = x
        for layer, (w, b) in enumerate(zip(self.weights_, self.biases)):
            if h.dim() == 2:  # evaluation: one input set shared by every member
                z = torch.matmul(h, w) + b
            else:
                z = torch.baddbmm(b, h, w)
            a = self._activate(layer, z)
            if train:
                mask = self._dropout_mask(layer, a.shape)
                if mask is not None:
                    a = a * mask
            active = self.active[layer]
            h = torch.where(active, a, h) if active is not None else a
        return torch.baddbmm(self.b_out, h, self.w_out)

    def step(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        self.optimizer.zero_grad()
        out = self._forward(x, train=True)
        task = self.settings.task
        if len(self.loss_groups) == 1:
            kind = next(iter(self.loss_groups))
            losses = member_loss(kind, out, y, task)
            losses.sum().backward()
            self.optimizer.step()
            return losses.detach()
        vector = torch.empty(len(self.numbers), device=self.device)
        total = None
        for kind, idx in self.loss_groups.items():
            part = member_loss(kind, out.index_select(0, idx), y.index_select(0, idx), task)
            vector.index_copy_(0, idx, part.detach())
            total = part.sum() if total is None else total + part.sum()
        assert total is not None
        total.backward()
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
        self._orders = [self._orders[i] for i in keep]
        self._dropout_gens = [self._dropout_gens[i] for i in keep]
        if not keep:
            return
        self._bind(self.flat[torch.tensor(keep, device=self.device)])
        self._build_member_tensors()
        self.optimizer.select(keep, self.flat, self.grad)

    def weights(self, position: int) -> dict[str, Any]:
        config = self.tasks[position].config
        dims = [self.n_inputs, *config.widths]
        out: dict[str, Any] = {}
        for layer in range(config.depth):
            a, b = dims[layer], dims[layer + 1]
            out[f"hidden.{layer}.weight"] = (
                self.weights_[layer][position, :a, :b].detach().T.contiguous().cpu()
            )
            out[f"hidden.{layer}.bias"] = self.biases[layer][position, 0, :b].detach().clone().cpu()
        out["out.weight"] = self.w_out[position, : dims[-1]].detach().T.contiguous().cpu()
        out["out.bias"] = self.b_out[position, 0].detach().clone().cpu()
        return out

    def n_params(self, position: int) -> int:
        dims = [self.n_inputs, *self.tasks[position].config.widths, self.n_outputs]
        return sum(a * b + b for a, b in zip(dims[:-1], dims[1:]))

    def eval_chunk(self) -> int:
        return max(1, EVAL_ELEMENTS // (len(self.numbers) * max(self.widths)))
