"""The packable optimizers, applied to stacked parameters: one step for a whole pack.

Every parameter of a pack has the members on its leading axis, shape (K, a, b).
Each member keeps its own optimizer family, learning rate, weight decay and
momentum; the update formulas are PyTorch's (``torch.optim``'s single-tensor
code, defaults included), with per-member coefficients broadcast over the
leading axis. Members of different families are updated on their own slices.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from sweep.config._choices import PACKABLE_OPTIMIZERS
from sweep.optim import (
    ADADELTA_EPS,
    ADADELTA_RHO,
    ADAGRAD_EPS,
    ADAM_BETAS,
    ADAM_EPS,
    RMSPROP_ALPHA,
    RMSPROP_EPS,
)
from sweep.space import TrialConfig

_STATE = {
    "sgd": ("buf",),
    "adam": ("exp_avg", "exp_avg_sq"),
    "adamw": ("exp_avg", "exp_avg_sq"),
    "rmsprop": ("square_avg", "buf"),
    "adagrad": ("sum",),
    "adadelta": ("square_avg", "acc_delta"),
}


def _b(coef: torch.Tensor) -> torch.Tensor:
    """A per-member float64 coefficient cast to float32 (as torch casts a Python scalar),
    shaped to broadcast over stacked (K, a, b) parameters."""
    return coef.to(torch.float32).view(-1, 1, 1)


class _Family:
    """The members of a pack that share one optimizer family."""

    def __init__(
        self,
        name: str,
        positions: list[int],
        configs: Sequence[TrialConfig],
        params: Sequence[torch.Tensor],
    ) -> None:
        device = params[0].device
        self.name = name
        self.positions = positions
        self.index = torch.tensor(positions, device=device)

        def f64(values: list[float]) -> torch.Tensor:
            return torch.tensor(values, dtype=torch.float64, device=device)

        self.lr = f64([configs[i].lr for i in positions])
        self.wd = f64([configs[i].weight_decay for i in positions])
        self.momentum = f64([configs[i].momentum or 0.0 for i in positions])
        self.any_wd = bool((self.wd != 0).any())
        self.any_momentum = bool((self.momentum != 0).any())
        self.steps = 0
        self.coef: dict[str, torch.Tensor] = {}
        k = len(positions)
        self.state = [
            {s: torch.zeros((k, *p.shape[1:]), dtype=p.dtype, device=device) for s in _STATE[name]}
            for p in params
        ]

    def select(self, keep: list[int]) -> None:
        """Keep only the family's members at ``keep`` (indices into ``positions``)."""
        idx = torch.tensor(keep, device=self.lr.device)
        self.lr, self.wd, self.momentum = self.lr[idx], self.wd[idx], self.momentum[idx]
        self.state = [{s: t[idx] for s, t in st.items()} for st in self.state]

    def begin_step(self) -> None:
        """Count the step and compute this step's per-member coefficients once for all
        parameters (in float64, like torch's Python-scalar arithmetic, then cast)."""
        self.steps += 1
        c = {
            "lr": _b(self.lr),
            "neg_lr": _b(-self.lr),
            "wd": _b(self.wd),
            "momentum": _b(self.momentum),
        }
        if self.name in ("adam", "adamw"):
            beta1, beta2 = ADAM_BETAS
            c["neg_step"] = _b(-(self.lr / (1 - beta1**self.steps)))
            c["decay"] = _b(1 - self.lr * self.wd)
            self.bc2_sqrt = (1 - beta2**self.steps) ** 0.5
        self.coef = c

    def _decay(self, p: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return g + self.coef["wd"] * p if self.any_wd else g

    def update(self, i: int, p: torch.Tensor, g: torch.Tensor) -> None:
        """Update slice ``p`` (this family's members of parameter ``i``) in place."""
        st, c, name = self.state[i], self.coef, self.name
        if name == "sgd":
            g = self._decay(p, g)
            if self.any_momentum:
                # A zero buffer times momentum plus g is g: the first step matches torch's clone.
                g = st["buf"].mul_(c["momentum"]).add_(g)
            p.sub_(c["lr"] * g)
        elif name in ("adam", "adamw"):
            beta1, beta2 = ADAM_BETAS
            if name == "adamw":
                p.mul_(c["decay"])
            else:
                g = self._decay(p, g)
            st["exp_avg"].lerp_(g, 1 - beta1)
            st["exp_avg_sq"].mul_(beta2).addcmul_(g, g, value=1 - beta2)
            denom = (st["exp_avg_sq"].sqrt() / self.bc2_sqrt).add_(ADAM_EPS)
            p.addcdiv_(st["exp_avg"] * c["neg_step"], denom)
        elif name == "rmsprop":
            g = self._decay(p, g)
            st["square_avg"].mul_(RMSPROP_ALPHA).addcmul_(g, g, value=1 - RMSPROP_ALPHA)
            avg = st["square_avg"].sqrt().add_(RMSPROP_EPS)
            if self.any_momentum:
                buf = st["buf"].mul_(c["momentum"]).addcdiv_(g, avg)
                p.add_(buf * c["neg_lr"])
            else:
                p.addcdiv_(g * c["neg_lr"], avg)
        elif name == "adagrad":
            g = self._decay(p, g)
            st["sum"].addcmul_(g, g, value=1)
            std = st["sum"].sqrt().add_(ADAGRAD_EPS)
            p.addcdiv_(g * c["neg_lr"], std)
        elif name == "adadelta":
            g = self._decay(p, g)
            st["square_avg"].mul_(ADADELTA_RHO).addcmul_(g, g, value=1 - ADADELTA_RHO)
            std = st["square_avg"].add(ADADELTA_EPS).sqrt_()
            delta = st["acc_delta"].add(ADADELTA_EPS).sqrt_().div_(std).mul_(g)
            st["acc_delta"].mul_(ADADELTA_RHO).addcmul_(delta, delta, value=1 - ADADELTA_RHO)
            p.add_(delta * c["neg_lr"])
        else:  # pragma: no cover - guarded in StackedOptimizer.__init__
            raise ValueError(name)


class StackedOptimizer:
    """One optimizer step for every member of a pack.

    Args:
        params: Stacked parameters, members on the leading axis.
        configs: One TrialConfig per member, in member order; every optimizer must be
            packable (``sweep.config.PACKABLE_OPTIMIZERS``).
    """

    def __init__(self, params: list[torch.Tensor], configs: Sequence[TrialConfig]) -> None:
        self.params = params
        names: dict[str, list[int]] = {}
        for pos, config in enumerate(configs):
            if config.optimizer not in PACKABLE_OPTIMIZERS:
                raise ValueError(f"optimizer {config.optimizer!r} cannot be packed")
            names.setdefault(config.optimizer, []).append(pos)
        self.families = [_Family(n, pos, configs, params) for n, pos in names.items()]
        self._k = len(configs)

    def set_lr(self, lrs: Sequence[float]) -> None:
        """Set each member's learning rate (member order)."""
        for fam in self.families:
            fam.lr = torch.tensor(
                [lrs[i] for i in fam.positions], dtype=torch.float64, device=fam.lr.device
            )

    @torch.no_grad()
    def step(self) -> None:
        whole = len(self.families) == 1
        for fam in self.families:
            fam.begin_step()
            for i, p in enumerate(self.params):
                assert p.grad is not None
                if whole:
                    fam.update(i, p.data, p.grad)
                else:
                    part = p.data.index_select(0, fam.index)
                    fam.update(i, part, p.grad.index_select(0, fam.index))
                    p.data.index_copy_(0, fam.index, part)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def select(self, keep: list[int], params: list[torch.Tensor]) -> None:
        """Keep the members at ``keep`` (ascending); ``params`` are the re-stacked tensors."""
        self.params = params
        new_pos = {old: new for new, old in enumerate(keep)}
        families = []
        for fam in self.families:
            mine = [j for j, pos in enumerate(fam.positions) if pos in new_pos]
            if not mine:
                continue
            fam.select(mine)
            fam.positions = [new_pos[fam.positions[j]] for j in mine]
            fam.index = torch.tensor(fam.positions, device=fam.index.device)
            families.append(fam)
        self.families = families
        self._k = len(keep)
