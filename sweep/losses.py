"""Training losses, computed per member of a pack.

Every function takes outputs of shape (K, B, n_outputs) - K trials trained
together, or K = 1 for a trial alone - and returns one loss per member, shape
(K,). The single-trial and packed trainers share these, so a loss is written
once.

Targets: binary (K, B, 1) floats in {0, 1}; multi-class (K, B) class ids;
regression (K, B, n_outputs).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from sweep.config._choices import LOSSES, REDUCTIONS

__all__ = ["member_loss", "member_loss_and_grad", "probabilities", "quartic"]


def quartic(pred: torch.Tensor, target: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """mean((y - y_hat) ** 4) over everything but the leading member axis (or the sum,
    with ``reduction="sum"``)."""
    return _reduce((target - pred).pow(4), reduction)


def _reduce(per: torch.Tensor, reduction: str) -> torch.Tensor:
    """Each member's mean (or sum) of its per-element losses ``per`` (K, ...)."""
    flat = per.flatten(1)
    if reduction == "mean":
        return flat.mean(dim=1)
    if reduction == "sum":
        return flat.sum(dim=1)
    raise ValueError(f"unknown reduction {reduction!r}; valid: {', '.join(REDUCTIONS)}")


def probabilities(out: torch.Tensor, task: str) -> torch.Tensor:
    """What the distance losses (MSE, quartic, L1, smooth L1) compare with the target:
    sigmoid (binary), softmax (multi-class), the raw output (regression)."""
    if task == "binary":
        return torch.sigmoid(out)
    if task == "multiclass":
        return torch.softmax(out, dim=-1)
    return out


def _dense_target(target: torch.Tensor, out: torch.Tensor, task: str) -> torch.Tensor:
    if task == "multiclass":
        return F.one_hot(target, out.shape[-1]).to(out.dtype)
    return target


def member_loss(
    kind: str, out: torch.Tensor, target: torch.Tensor, task: str, reduction: str = "mean"
) -> torch.Tensor:
    """Loss ``kind`` for each member: (K, B, n_outputs) outputs -> (K,) losses.

    ``reduction`` is torch's: ``mean`` over the member's elements (rows for
    cross-entropy, rows x outputs otherwise), or their ``sum``."""
    if kind == "cross_entropy":
        k, b, c = out.shape
        per = F.cross_entropy(out.reshape(k * b, c), target.reshape(k * b), reduction="none")
        return _reduce(per.reshape(k, b), reduction)
    dense = _dense_target(target, out, task)
    if kind == "bce":
        return _reduce(F.binary_cross_entropy_with_logits(out, dense, reduction="none"), reduction)
    pred = probabilities(out, task)
    if kind == "mse":
        return _reduce((dense - pred).pow(2), reduction)
    if kind == "quartic":
        return quartic(pred, dense, reduction)
    if kind == "l1":  # mean absolute error
        return _reduce((dense - pred).abs(), reduction)
    if kind == "smooth_l1":  # torch's, beta 1: squared below 1, absolute above
        return _reduce(F.smooth_l1_loss(pred, dense, reduction="none"), reduction)
    raise ValueError(f"unknown loss {kind!r}; valid: {', '.join(LOSSES)}")


def member_loss_and_grad(
    kind: str, out: torch.Tensor, target: torch.Tensor, task: str, reduction: str = "mean"
) -> tuple[torch.Tensor, torch.Tensor]:
    """``member_loss`` (detached), and the gradient of the members' summed losses at
    ``out``, without autograd: each step is the operation autograd's derivative of
    ``member_loss`` runs, in its order, so the gradient is the one autograd gives
    (``tests/test_losses.py`` holds the two equal, bit for bit)."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"unknown reduction {reduction!r}; valid: {', '.join(REDUCTIONS)}")
    k, b, c = out.shape
    # The reduction's gradient at each element: 1/n for a mean (as a mean's backward
    # divides, in float32), 1 for a sum; cross-entropy's elements are rows.
    scale = 1.0 if reduction == "sum" else 1.0 / (b if kind == "cross_entropy" else b * c)
    if kind == "cross_entropy":  # log_softmax, then the target's negative log-probability
        log_p = torch.log_softmax(out.reshape(k * b, c), dim=1)
        rows = target.reshape(k * b, 1)
        per = -log_p.gather(1, rows).reshape(k, b)
        grad = torch.zeros_like(log_p).scatter_(1, rows, -scale)
        grad = torch.ops.aten._log_softmax_backward_data(grad, log_p, 1, log_p.dtype)
        return _reduce(per, reduction), grad.reshape(k, b, c)
    dense = _dense_target(target, out, task)
    if kind == "bce":
        per = F.binary_cross_entropy_with_logits(out, dense, reduction="none")
        return _reduce(per, reduction), (torch.sigmoid(out) - dense) * scale
    pred = probabilities(out, task)
    diff = dense - pred
    if kind == "mse":
        per, grad = diff.pow(2), -(scale * (2 * diff))
    elif kind == "quartic":
        per, grad = diff.pow(4), -(scale * (4 * diff.pow(3)))
    elif kind == "l1":
        per, grad = diff.abs(), -(scale * diff.sgn())
    elif kind == "smooth_l1":
        per = F.smooth_l1_loss(pred, dense, reduction="none")
        grad = torch.ops.aten.smooth_l1_loss_backward(
            torch.full_like(pred, scale), pred, dense, 0, 1.0
        )  # 0: no reduction
    else:
        raise ValueError(f"unknown loss {kind!r}; valid: {', '.join(LOSSES)}")
    if task == "binary":
        grad = torch.ops.aten.sigmoid_backward(grad, pred)
    elif task == "multiclass":
        grad = torch.ops.aten._softmax_backward_data(grad, pred, -1, pred.dtype)
    return _reduce(per, reduction), grad
