"""Predictions from a saved model, with the input scaling it was trained with.

A checkpoint holds the network and the training split's statistics: inputs are
standardised with ``x_mean``/``x_std`` before the network sees them, and
regression outputs are mapped back to the targets' units with ``y_mean``/
``y_std``. Input is checked first (see ``sweep.inputs``): what does not fit
the model is one ``ModelError`` line. ``ExportedModel`` is the same network and
scaling as one ``nn.Module`` on tensors, for ``sweep.export`` to trace.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from sweep.data import Scaling
from sweep.errors import ModelError
from sweep.inputs import check_shape, expects, input_matrix

if TYPE_CHECKING:
    from sweep.checkpoint import Checkpoint
    from sweep.model import MLP

__all__ = ["CHUNK", "ExportedModel", "Predictor", "probabilities"]

CHUNK = 65_536  # rows per forward pass: bounds memory on large inputs


def probabilities(task: str, out: torch.Tensor) -> torch.Tensor:
    """Class probabilities from a classifier's raw outputs ``out`` (N, n_outputs), shape
    (N, n_classes): binary, the sigmoid ``p`` of its one logit as the columns 1 - p and p;
    multi-class, the softmax of the logits."""
    if task == "binary":
        p = torch.sigmoid(out[:, 0])
        return torch.stack([1 - p, p], dim=1)
    return torch.softmax(out, dim=1)


class Predictor:
    """A trained network ready to predict: the model, its scaling and its labels.

    Get one from ``SweepStudy.predictor(trial)``.

    Attributes:
        model: The network (``nn.Module`` in eval mode) on ``device``.
        task: ``binary``, ``multiclass`` or ``regression``.
        feature_names: The input columns, in the order the network takes them.
        classes: The class labels (classification), else None.
        trial: The trial the weights come from.
        device: Where the network runs.
    """

    def __init__(self, checkpoint: Checkpoint, device: str | torch.device = "cpu") -> None:
        from sweep.checkpoint import model_from_checkpoint

        self.device = torch.device(device)
        self.model: MLP = model_from_checkpoint(checkpoint).to(self.device)
        self.task: str = checkpoint.task
        self.trial: int = checkpoint.trial
        self.n_inputs: int = checkpoint.n_inputs
        self.n_outputs: int = checkpoint.n_outputs
        self.feature_names: list[str] = list(checkpoint.feature_names)
        self.classes: list[Any] | None = (
            None if checkpoint.classes is None else list(checkpoint.classes)
        )

        def here(s: Scaling) -> Scaling:
            return Scaling(
                s.mean.to(self.device, torch.float32), s.std.to(self.device, torch.float32)
            )

        self._x = here(checkpoint.x_scaling)
        self._y = here(checkpoint.y_scaling)

    # -- input ---------------------------------------------------------------------------------
    def _tensor(self, x: torch.Tensor) -> torch.Tensor:
        if x.dtype.is_complex or x.dtype == torch.bool:
            raise ModelError(f"input tensor has dtype {x.dtype}; expected real numbers")
        tensor = x.detach()
        if tensor.ndim == 1 and self.n_inputs == 1:
            tensor = tensor.reshape(-1, 1)
        check_shape(tuple(tensor.shape), self.feature_names, self.trial)
        tensor = tensor.to(self.device, torch.float32)
        finite = torch.isfinite(tensor)
        if not bool(finite.all()):
            i, j = (int(v) for v in torch.nonzero(~finite)[0])
            raise ModelError(
                f"input has a missing or non-finite value in row {i + 1}, "
                f"column {self.feature_names[j]!r}"
            )
        return tensor

    def transform(self, x: Any) -> torch.Tensor:
        """Check ``x`` and standardise it as the training inputs were.

        Args:
            x: Samples as rows, in the units of the original data: a NumPy array, a
                tensor, a DataFrame (columns by feature name; extra columns ignored) or
                anything ``np.asarray`` takes.

        Returns:
            A float32 tensor (N, n_inputs) on ``device``.

        Raises:
            ModelError: wrong column count, missing columns, non-numeric or missing values.
        """
        if isinstance(x, torch.Tensor):
            matrix = self._tensor(x)
        else:
            array = input_matrix(x, self.feature_names, trial=self.trial)
            matrix = torch.from_numpy(array).to(self.device)
        return self._x.apply(matrix)

    # -- output --------------------------------------------------------------------------------
    def outputs(self, x: Any) -> torch.Tensor:
        """The network's raw outputs for ``x`` (logits, or regression values in the
        scaled units the network was trained on), shape (N, n_outputs).

        Raises:
            ModelError: the input does not fit the model.
        """
        inputs = self.transform(x)
        with torch.inference_mode():
            if len(inputs) == 0:
                return torch.empty(0, self.n_outputs, device=self.device)
            parts = [self.model(inputs[i : i + CHUNK]) for i in range(0, len(inputs), CHUNK)]
            return torch.cat(parts)

    def predict(self, x: Any) -> np.ndarray:
        """Predictions for the rows of ``x``.

        Returns:
            Classification: the class label of each row, shape (N,). Regression: values in
            the targets' original units, shape (N,) for one output, else (N, n_outputs).

        Raises:
            ModelError: the input does not fit the model (see ``transform``).
        """
        out = self.outputs(x)
        if self.task == "regression":
            values = self._y.invert(out).cpu().numpy()
            return values[:, 0] if self.n_outputs == 1 else values
        if self.task == "binary":
            index = (out[:, 0] > 0).long().cpu().numpy()
        else:
            index = out.argmax(dim=1).cpu().numpy()
        labels = np.asarray(self.classes if self.classes else range(max(self.n_outputs, 2)))
        return labels[index]

    def predict_proba(self, x: Any) -> np.ndarray:
        """Class probabilities for the rows of ``x``, shape (N, n_classes), columns in the
        order of ``classes`` (binary: the probabilities of ``classes[0]`` and ``classes[1]``).

        Raises:
            ModelError: a regression model, or input that does not fit the model.
        """
        if self.task == "regression":
            raise ModelError(f"trial {self.trial} is a regression model: it has no probabilities")
        return probabilities(self.task, self.outputs(x)).cpu().numpy()

    def describe(self) -> str:
        """What the model takes, e.g. ``the model of trial 3 takes 2 (x0, x1)``."""
        return expects(self.feature_names, self.trial)

    def __repr__(self) -> str:
        return (
            f"Predictor(trial={self.trial}, task={self.task!r}, inputs={self.n_inputs}, "
            f"outputs={self.n_outputs}, device={str(self.device)!r})"
        )


class ExportedModel(nn.Module):
    """A trained network with its scaling: raw float32 rows -> predictions.

    Attributes:
        network: The ``MLP`` as ``model_from_checkpoint`` builds it (eval mode).
        task: ``binary``, ``multiclass`` or ``regression``.
        x_mean, x_std: The input standardisation (buffers).
        y_mean, y_std: The target scaling (buffers; identity unless regression targets
            were scaled).
    """

    x_mean: torch.Tensor
    x_std: torch.Tensor
    y_mean: torch.Tensor
    y_std: torch.Tensor

    def __init__(self, network: MLP, task: str, x_scaling: Scaling, y_scaling: Scaling) -> None:
        super().__init__()
        self.network = network
        self.task = task
        for name, value in (
            ("x_mean", x_scaling.mean),
            ("x_std", x_scaling.std),
            ("y_mean", y_scaling.mean),
            ("y_std", y_scaling.std),
        ):
            self.register_buffer(name, value.detach().to("cpu", torch.float32).clone())

    @classmethod
    def from_checkpoint(cls, ckpt: Checkpoint) -> ExportedModel:
        """The checkpoint's network and scaling, in eval mode on the CPU, without gradients."""
        from sweep.checkpoint import model_from_checkpoint

        model = cls(model_from_checkpoint(ckpt), ckpt.task, ckpt.x_scaling, ckpt.y_scaling)
        return model.eval().requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predictions for raw rows ``x`` (n, n_inputs): regression values in the targets'
        units (n, n_outputs), or class probabilities (n, n_classes)."""
        out = self.network(Scaling(self.x_mean, self.x_std).apply(x))
        if self.task == "regression":
            return Scaling(self.y_mean, self.y_std).invert(out)
        return probabilities(self.task, out)
