"""The packable optimizers, applied to a pack's flat parameters: one step for a whole pack.

A pack keeps all its parameters in one (K, P) tensor, a row per member, and its
gradients in another of the same shape (see ``StackedRunner``). Each member keeps
its own optimizer family, learning rate, weight decay and momentum; the update
formulas are PyTorch's (``torch.optim``'s single-tensor code, defaults included),
elementwise, with per-member coefficients broadcast along the rows. The members
of one family are consecutive rows, so each family updates one slice of the
buffer in place: a step costs a few operations per family, whatever the depth.
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
    RPROP_ETAS,
    RPROP_STEP_SIZES,
)
from sweep.space import TrialConfig

_STATE = {
    "sgd": ("buf",),
    "adam": ("exp_avg", "exp_avg_sq"),
    "adamw": ("exp_avg", "exp_avg_sq"),
    "rmsprop": ("square_avg", "buf"),
    "adagrad": ("sum",),
    "adadelta": ("square_avg", "acc_delta"),
    "rprop": ("prev", "step_size"),
}


# sqrt of an exact zero is several times slower than of any other value on the CPU,
# and padded or idle units keep zero optimizer state. Clamping to the smallest normal
# float first gives the same denominators: its root (1e-19) vanishes beside every eps
# it is added to (1e-8, 1e-10) in float32.
_TINY = torch.finfo(torch.float32).tiny


def _root(state: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """sqrt(state) into ``out``, as used beside an eps (see ``_TINY``)."""
    return torch.clamp(state, min=_TINY, out=out).sqrt_()


def _b(coef: torch.Tensor) -> torch.Tensor:
    """A per-member float64 coefficient cast to float32 (as torch casts a Python scalar),
    shaped to broadcast along the rows of a (k, P) slice."""
    return coef.to(torch.float32).view(-1, 1)


def family_order(configs: Sequence[TrialConfig]) -> list[int]:
    """Member positions reordered so members of one optimizer family are consecutive
    (families in order of first appearance, members in their order within each)."""
    first: dict[str, int] = {}
    for pos, c in enumerate(configs):
        first.setdefault(c.optimizer, pos)
    return sorted(range(len(configs)), key=lambda pos: (first[configs[pos].optimizer], pos))


class _Family:
    """The members of a pack that share one optimizer family: rows start..stop."""

    def __init__(
        self, name: str, start: int, stop: int, configs: Sequence[TrialConfig], flat: torch.Tensor
    ) -> None:
        device = flat.device
        self.name = name
        self.start, self.stop = start, stop
        members = configs[start:stop]

        def f64(values: list[float]) -> torch.Tensor:
            return torch.tensor(values, dtype=torch.float64, device=device)

        self.lr = f64([c.lr for c in members])
        self.wd = f64([c.weight_decay for c in members])
        self.momentum = f64([c.momentum or 0.0 for c in members])
        self.any_wd = bool((self.wd != 0).any())
        self.any_momentum = bool((self.momentum != 0).any())
        self.steps = 0
        self.coef: dict[str, torch.Tensor] = {}
        self._buffers: list[torch.Tensor] = []
        self._fixed: dict[str, torch.Tensor] | None = None  # see begin_step
        k = stop - start
        self.state = {s: torch.zeros((k, flat.shape[1]), device=device) for s in _STATE[name]}

    def select(self, keep: list[int], start: int) -> None:
        """Keep only the family's members at ``keep`` (indices within the family), which
        now begin at row ``start``."""
        idx = torch.tensor(keep, device=self.lr.device)
        self.lr, self.wd, self.momentum = self.lr[idx], self.wd[idx], self.momentum[idx]
        self._fixed = None
        self.state = {s: t[idx] for s, t in self.state.items()}
        self._buffers = []
        self.start, self.stop = start, start + len(keep)

    def begin_step(self) -> None:
        """Count the step and compute this step's per-member coefficients (in float64,
        like torch's Python-scalar arithmetic, then cast). Those that change only with
        the learning rate are kept until it changes."""
        self.steps += 1
        if self._fixed is None:
            self._fixed = {
                "lr": _b(self.lr),
                "neg_lr": _b(-self.lr),
                "wd": _b(self.wd),
                "momentum": _b(self.momentum),
                "decay": _b(1 - self.lr * self.wd),
            }
        c = dict(self._fixed)
        if self.name in ("adam", "adamw"):
            beta1, beta2 = ADAM_BETAS
            c["neg_step"] = _b(-(self.lr / (1 - beta1**self.steps)))
            self.bc2_sqrt = (1 - beta2**self.steps) ** 0.5
        self.coef = c

    def _scratch(self, like: torch.Tensor, n: int) -> list[torch.Tensor]:
        """``n`` reusable buffers shaped like ``like``. A pack's parameters can be many
        megabytes; fresh temporaries that large cost more than the arithmetic."""
        if len(self._buffers) < n or self._buffers[0].shape != like.shape:
            self._buffers = [torch.empty_like(like) for _ in range(n)]
        return self._buffers[:n]

    def _decay(self, p: torch.Tensor, g: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """The gradient with weight decay (g + wd * p) in ``out``, or g itself."""
        if not self.any_wd:
            return g
        return torch.mul(p, self.coef["wd"], out=out).add_(g)

    def update(self, p: torch.Tensor, g: torch.Tensor) -> None:
        """Update ``p`` (this family's rows of the pack's parameters) in place. Every
        operation is torch's own, in its order; temporaries live in reused buffers."""
        st, c, name = self.state, self.coef, self.name
        a, b, d = self._scratch(p, 3)
        if name == "sgd":
            g = self._decay(p, g, d)
            if self.any_momentum:
                # A zero buffer times momentum plus g is g: the first step matches torch's clone.
                g = st["buf"].mul_(c["momentum"]).add_(g)
            p.sub_(torch.mul(g, c["lr"], out=a))
        elif name in ("adam", "adamw"):
            beta1, beta2 = ADAM_BETAS
            if name == "adamw":
                p.mul_(c["decay"])
            else:
                g = self._decay(p, g, d)
            st["exp_avg"].lerp_(g, 1 - beta1)
            st["exp_avg_sq"].mul_(beta2).addcmul_(g, g, value=1 - beta2)
            denom = _root(st["exp_avg_sq"], a).div_(self.bc2_sqrt).add_(ADAM_EPS)
            p.addcdiv_(torch.mul(st["exp_avg"], c["neg_step"], out=b), denom)
        elif name == "rmsprop":
            g = self._decay(p, g, d)
            st["square_avg"].mul_(RMSPROP_ALPHA).addcmul_(g, g, value=1 - RMSPROP_ALPHA)
            avg = _root(st["square_avg"], a).add_(RMSPROP_EPS)
            if self.any_momentum:
                buf = st["buf"].mul_(c["momentum"]).addcdiv_(g, avg)
                p.add_(torch.mul(buf, c["neg_lr"], out=b))
            else:
                p.addcdiv_(torch.mul(g, c["neg_lr"], out=b), avg)
        elif name == "adagrad":
            g = self._decay(p, g, d)
            st["sum"].addcmul_(g, g, value=1)
            std = _root(st["sum"], a).add_(ADAGRAD_EPS)
            p.addcdiv_(torch.mul(g, c["neg_lr"], out=b), std)
        elif name == "adadelta":
            g = self._decay(p, g, d)
            st["square_avg"].mul_(ADADELTA_RHO).addcmul_(g, g, value=1 - ADADELTA_RHO)
            std = torch.add(st["square_avg"], ADADELTA_EPS, out=a).sqrt_()
            delta = torch.add(st["acc_delta"], ADADELTA_EPS, out=b).sqrt_().div_(std).mul_(g)
            st["acc_delta"].mul_(ADADELTA_RHO).addcmul_(delta, delta, value=1 - ADADELTA_RHO)
            p.add_(delta.mul_(c["neg_lr"]))
        elif name == "rprop":  # no weight decay, as torch.optim.Rprop
            etaminus, etaplus = RPROP_ETAS
            if self.steps == 1:  # torch: the step sizes start at the learning rate
                st["step_size"].copy_(c["lr"].expand_as(p))
            sign = torch.mul(g, st["prev"], out=a).sign_()
            sign = torch.where(sign > 0, etaplus, torch.where(sign < 0, etaminus, 1.0))
            st["step_size"].mul_(sign).clamp_(*RPROP_STEP_SIZES)
            kept = torch.where(sign == etaminus, 0.0, g)  # a gradient that changed sign: 0
            p.addcmul_(kept.sign(), st["step_size"], value=-1)
            st["prev"].copy_(kept)
        else:  # pragma: no cover - guarded in StackedOptimizer.__init__
            raise ValueError(name)


class StackedOptimizer:
    """One optimizer step for every member of a pack.

    Args:
        flat: The pack's parameters, (K, P), a row per member.
        grad: Their gradients, the same shape (the buffer backward accumulates into).
        configs: One TrialConfig per member, in row order, members of one family
            consecutive (``family_order``); every optimizer must be packable
            (``sweep.config.PACKABLE_OPTIMIZERS``).
    """

    def __init__(
        self, flat: torch.Tensor, grad: torch.Tensor, configs: Sequence[TrialConfig]
    ) -> None:
        self.flat, self.grad = flat, grad
        self.families: list[_Family] = []
        start = 0
        for pos in range(1, len(configs) + 1):
            if pos < len(configs) and configs[pos].optimizer == configs[start].optimizer:
                continue
            name = configs[start].optimizer
            if name not in PACKABLE_OPTIMIZERS:
                raise ValueError(f"optimizer {name!r} cannot be packed")
            if any(f.name == name for f in self.families):
                raise ValueError(f"the members using {name!r} are not consecutive rows")
            self.families.append(_Family(name, start, pos, configs, flat))
            start = pos

    def set_lr(self, lrs: Sequence[float]) -> None:
        """Set each member's learning rate (row order)."""
        for fam in self.families:
            lr = torch.tensor(lrs[fam.start : fam.stop], dtype=torch.float64, device=fam.lr.device)
            if not torch.equal(lr, fam.lr):  # a schedule's step: coefficients follow
                fam.lr, fam._fixed = lr, None

    @torch.no_grad()
    def step(self) -> None:
        for fam in self.families:
            fam.begin_step()
            fam.update(self.flat[fam.start : fam.stop], self.grad[fam.start : fam.stop])

    def select(self, keep: list[int], flat: torch.Tensor, grad: torch.Tensor) -> None:
        """Keep the rows at ``keep`` (ascending); ``flat`` and ``grad`` are the new buffers."""
        self.flat, self.grad = flat, grad
        new_row = {old: new for new, old in enumerate(keep)}
        families = []
        for fam in self.families:
            mine = [j for j, row in enumerate(range(fam.start, fam.stop)) if row in new_row]
            if mine:
                fam.select(mine, new_row[fam.start + mine[0]])
                families.append(fam)
        self.families = families
