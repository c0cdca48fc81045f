"""Losses per member of a pack, checked against hand values and torch's own losses."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from sweep.config._choices import LOSSES_FOR_TASK, REDUCTIONS
from sweep.losses import member_loss, member_loss_and_grad, quartic
from sweep.metrics import chunked_metric, member_metric, objective_for


def test_quartic_hand_value() -> None:
    pred = torch.tensor([[1.0, 2.0, 3.0]])
    target = torch.tensor([[0.0, 0.0, 1.0]])
    # ((1)^4 + (2)^4 + (2)^4) / 3 = 33 / 3 = 11
    assert quartic(pred, target).item() == pytest.approx(11.0)


def test_regression_losses_per_member() -> None:
    out = torch.tensor([[[1.0], [3.0]], [[0.0], [0.0]]])  # K=2 members, B=2
    y = torch.tensor([[[0.0], [1.0]], [[2.0], [-2.0]]])
    assert member_loss("mse", out, y, "regression").tolist() == pytest.approx([2.5, 4.0])
    assert member_loss("quartic", out, y, "regression").tolist() == pytest.approx([8.5, 16.0])
    assert member_loss("l1", out, y, "regression").tolist() == pytest.approx([1.5, 2.0])
    # smooth L1 (beta 1): 0.5 d^2 below 1, |d| - 0.5 above: member 0 (0.5 + 1.5) / 2
    assert member_loss("smooth_l1", out, y, "regression").tolist() == pytest.approx([1.0, 1.5])


def test_summed_losses_are_torchs_reduction_sum() -> None:
    torch.manual_seed(0)
    out, y = torch.randn(2, 5, 3), torch.randn(2, 5, 3)
    for kind, torch_loss in (("mse", F.mse_loss), ("l1", F.l1_loss)):
        summed = member_loss(kind, out, y, "regression", "sum")
        expected = [torch_loss(out[m], y[m], reduction="sum").item() for m in range(2)]
        assert summed.tolist() == pytest.approx(expected, rel=1e-6)
    logits, labels = torch.randn(1, 4, 3), torch.tensor([[0, 2, 1, 1]])
    assert member_loss("cross_entropy", logits, labels, "multiclass", "sum").item() == (
        pytest.approx(F.cross_entropy(logits[0], labels[0], reduction="sum").item())
    )
    with pytest.raises(ValueError, match="valid: mean, sum"):
        member_loss("mse", out, y, "regression", "max")


def test_binary_bce_matches_torch_and_mse_uses_the_sigmoid() -> None:
    out = torch.tensor([[[0.3], [-1.2], [2.0]]])
    y = torch.tensor([[[1.0], [0.0], [1.0]]])
    assert member_loss("bce", out, y, "binary").item() == pytest.approx(
        F.binary_cross_entropy_with_logits(out, y).item()
    )
    p = torch.sigmoid(out)
    assert member_loss("mse", out, y, "binary").item() == pytest.approx(
        ((p - y) ** 2).mean().item()
    )
    assert member_loss("quartic", out, y, "binary").item() == pytest.approx(
        ((p - y) ** 4).mean().item()
    )
    assert member_loss("l1", out, y, "binary").item() == pytest.approx((p - y).abs().mean().item())
    assert member_loss("smooth_l1", out, y, "binary").item() == pytest.approx(
        F.smooth_l1_loss(p, y).item()
    )


def test_multiclass_losses() -> None:
    out = torch.tensor([[[2.0, 0.5, -1.0], [0.0, 1.0, 0.0]]])
    y = torch.tensor([[0, 2]])
    assert member_loss("cross_entropy", out, y, "multiclass").item() == pytest.approx(
        F.cross_entropy(out[0], y[0]).item()
    )
    onehot = F.one_hot(y[0], 3).float()
    assert member_loss("mse", out, y, "multiclass").item() == pytest.approx(
        ((torch.softmax(out[0], -1) - onehot) ** 2).mean().item()
    )
    assert member_loss("bce", out, y, "multiclass").item() == pytest.approx(
        F.binary_cross_entropy_with_logits(out[0], onehot).item()
    )


def _outputs_and_targets(task: str, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    if task == "binary":
        return torch.randn(3, 7, 1, generator=g) * 3, (
            torch.rand(3, 7, 1, generator=g) > 0.5
        ).float()
    if task == "multiclass":
        return torch.randn(3, 7, 4, generator=g) * 3, torch.randint(0, 4, (3, 7), generator=g)
    return torch.randn(3, 7, 2, generator=g) * 3, torch.randn(3, 7, 2, generator=g)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    ("task", "kind"), [(t, k) for t, kinds in LOSSES_FOR_TASK.items() for k in kinds]
)
def test_loss_and_grad_are_autograds_bit_for_bit(task: str, kind: str, reduction: str) -> None:
    for seed in range(3):
        out, y = _outputs_and_targets(task, seed)
        leaf = out.clone().requires_grad_(True)
        expected = member_loss(kind, leaf, y, task, reduction)
        (expected_grad,) = torch.autograd.grad(expected.sum(), leaf)
        losses, grad = member_loss_and_grad(kind, out, y, task, reduction)
        assert not losses.requires_grad and not grad.requires_grad
        assert torch.equal(losses, expected.detach()), (kind, task, reduction)
        assert torch.equal(grad, expected_grad), (kind, task, reduction)


def test_loss_and_grad_name_an_unknown_loss_or_reduction() -> None:
    out, y = _outputs_and_targets("binary", 0)
    with pytest.raises(ValueError, match="unknown loss 'hinge'; valid: bce"):
        member_loss_and_grad("hinge", out, y, "binary")
    with pytest.raises(ValueError, match="unknown reduction 'max'; valid: mean, sum"):
        member_loss_and_grad("bce", out, y, "binary", "max")


def test_unknown_loss() -> None:
    with pytest.raises(ValueError, match="valid: bce"):
        member_loss("huber", torch.zeros(1, 2, 1), torch.zeros(1, 2, 1), "regression")


def test_objective_is_independent_of_the_loss() -> None:
    assert (
        objective_for("binary").name == "accuracy"
        and objective_for("binary").direction == "maximize"
    )
    assert objective_for("multiclass").name == "accuracy"
    assert (
        objective_for("regression").name == "mse"
        and objective_for("regression").direction == "minimize"
    )


def test_accuracy_and_mse_metrics() -> None:
    out = torch.tensor([[[1.0], [-1.0], [2.0], [-0.5]]])
    y = torch.tensor([[[1.0], [1.0], [1.0], [0.0]]])
    assert member_metric(out, y, "binary").item() == pytest.approx(0.75)
    out_mc = torch.tensor([[[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]]])
    assert member_metric(out_mc, torch.tensor([[1, 1, 1]]), "multiclass").item() == pytest.approx(
        2 / 3
    )
    out_r = torch.tensor([[[1.0, 2.0]]])
    assert member_metric(out_r, torch.tensor([[[0.0, 0.0]]]), "regression").item() == pytest.approx(
        2.5
    )


@pytest.mark.parametrize("chunk", [1, 3, 100])
def test_chunked_metric_does_not_depend_on_the_chunk(chunk: int) -> None:
    torch.manual_seed(0)
    x = torch.randn(10, 2)
    y = (x[:, :1] > 0).float()
    w = torch.randn(3, 2, 1)  # three members

    def predict(v: torch.Tensor) -> torch.Tensor:
        return torch.matmul(v, w)

    whole = member_metric(predict(x), y.unsqueeze(0).expand(3, 10, 1), "binary")
    assert torch.allclose(chunked_metric(predict, x, y, "binary", chunk).double(), whole.double())
