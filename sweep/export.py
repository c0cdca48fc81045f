"""A kept model exported for deployment: raw rows in, predictions in the data's units out.

``export_model`` writes one file in one of three formats, each holding the network with
its input standardisation (and, for regression, its target scaling) inside:

  torchscript  a traced ``sweep.predict.ExportedModel``; ``torch.jit.load`` runs it
               without sweep;
  onnx         the same graph for ONNX runtimes (needs the ``onnx`` package);
  state-dict   the checkpoint's contents as a ``torch.save``'d dict; ``load_export``
               rebuilds the ``ExportedModel`` from it.

The exported model takes float32 rows (n, n_inputs), columns in ``feature_names`` order,
and returns, for regression, the predictions in the targets' units (n, n_outputs); for
classification, the class probabilities (n, n_classes), columns in the order of
``classes`` (binary: two columns, the sigmoid of its logit as 1 - p and p), so that the
argmax is the index of the predicted class. The feature names, class labels, task,
study and trial go with the file: ``sweep.json`` among TorchScript's extra files, the
ONNX model's metadata, the dict's own keys.
"""

from __future__ import annotations

import importlib.util
import json
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sweep._choices import EXPORT_FORMATS as FORMATS
from sweep._output import atomic_path, check_file
from sweep.errors import ModelError, OutputError

if TYPE_CHECKING:  # torch loads on writing or loading a model, not to check the arguments
    import torch

    from sweep.checkpoint import Checkpoint
    from sweep.predict import ExportedModel

__all__ = ["FORMATS", "check_export", "export_model", "load_export", "metadata"]

ONNX_OPSET = 17  # every op the network uses is in it; onnxruntime 1.16+ runs it
EXPORT_KEY = "sweep_export"  # marks a state-dict export among torch.save'd dicts
EXPORT_VERSION = 1
METADATA_FILE = "sweep.json"  # TorchScript's extra file holding ``metadata``


def metadata(ckpt: Checkpoint) -> dict[str, Any]:
    """What a deployment needs besides the graph: the columns, the labels, what it returns."""
    return {
        "study": ckpt.study,
        "trial": ckpt.trial,
        "task": ckpt.task,
        "feature_names": list(ckpt.feature_names),
        "classes": None if ckpt.classes is None else list(ckpt.classes),
        "outputs": "values" if ckpt.task == "regression" else "probabilities",
    }


_NO_ONNX = "ONNX export needs the onnx package, which is not installed: pip install 'sweep[onnx]'"


def check_export(path: str | Path, fmt: str, option: str | None = None) -> Path:
    """Check an export before anything is loaded: the format, what it needs, the path.

    Args:
        path: The file to write; its folder must exist.
        fmt: One of ``FORMATS``.
        option: The command-line flag that named ``path``, for the message.

    Returns:
        ``path`` as a Path.

    Raises:
        ModelError: an unknown format, or ``onnx`` without the onnx package.
        OutputError: the folder does not exist or cannot be written, or ``path`` is a
            directory or a read-only file.
    """
    if fmt not in FORMATS:
        raise ModelError(f"unknown export format {fmt!r}; valid: {', '.join(FORMATS)}")
    if fmt == "onnx" and importlib.util.find_spec("onnx") is None:
        raise ModelError(_NO_ONNX)
    target = Path(path)
    if not target.parent.is_dir():
        raise OutputError(path, f"{target.parent}: no such directory", option)
    return check_file(target, option)


def export_model(ckpt: Checkpoint, path: str | Path, *, fmt: str) -> Path:
    """Write ``ckpt``'s network with its scaling to ``path`` in format ``fmt``.

    The file is written beside ``path`` under a temporary name and renamed onto it, so a
    failure leaves no file (or the old one).

    Args:
        ckpt: A kept model (``SweepStudy.checkpoint``).
        path: The file to write; its folder must exist.
        fmt: ``torchscript``, ``onnx`` or ``state-dict`` (see the module docstring).

    Returns:
        ``path`` as a Path.

    Raises:
        ModelError: an unknown format, or ``onnx`` without the onnx package.
        OutputError: ``path`` cannot be written.
    """
    target = check_export(path, fmt)
    import torch

    with atomic_path(target) as temp:
        if fmt == "state-dict":
            info = {EXPORT_KEY: EXPORT_VERSION, "outputs": metadata(ckpt)["outputs"]}
            torch.save({**ckpt.to_dict(), **info}, temp)
        elif fmt == "torchscript":
            _write_torchscript(ckpt, temp)
        else:
            _write_onnx(ckpt, temp)
    return target


# torch 2.14 marks torch.jit and the TorchScript-based ONNX exporter deprecated; they are
# what runs offline with torch and onnx alone (see docs/design.md), and a user can do
# nothing about the notices, so they are not shown.
@contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        yield


def _to_trace(ckpt: Checkpoint) -> tuple[ExportedModel, torch.Tensor]:
    """The module to trace and an input to trace it with."""
    import torch

    from sweep.predict import ExportedModel

    # Two rows: a batch of one could let a tracer specialise a size-1 dimension. The
    # forward has no data-dependent branches, so a trace is the whole network.
    return ExportedModel.from_checkpoint(ckpt), torch.zeros(2, ckpt.n_inputs)


def _write_torchscript(ckpt: Checkpoint, temp: Path) -> None:
    import torch

    model, example = _to_trace(ckpt)
    with _quiet():
        traced = torch.jit.trace(model, example)
        extra = {METADATA_FILE: json.dumps(metadata(ckpt), default=str)}
        torch.jit.save(traced, str(temp), _extra_files=extra)


def _write_onnx(ckpt: Checkpoint, temp: Path) -> None:
    import torch

    try:
        import onnx
    except ImportError:
        raise ModelError(_NO_ONNX) from None
    model, example = _to_trace(ckpt)
    output = "predictions" if ckpt.task == "regression" else "probabilities"
    with _quiet():
        # dynamo=False: the TorchScript-based exporter needs only onnx; torch's default
        # (dynamo) exporter needs onnxscript as well.
        torch.onnx.export(
            model,
            (example,),
            str(temp),
            dynamo=False,
            opset_version=ONNX_OPSET,
            input_names=["x"],
            output_names=[output],
            dynamic_axes={"x": {0: "rows"}, output: {0: "rows"}},
        )
    graph = onnx.load_model(str(temp))
    for key, value in metadata(ckpt).items():
        entry = graph.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value, default=str)
    onnx.save_model(graph, str(temp))


def load_export(path: str | Path) -> ExportedModel:
    """Rebuild the model of a ``state-dict`` export: raw float32 rows -> predictions.

    Only tensors and plain values are unpickled (``weights_only``), so the file cannot run
    code when it is loaded. A TorchScript export loads with ``torch.jit.load``, an ONNX one
    with an ONNX runtime.

    Raises:
        ModelError: no such file, or not a sweep state-dict export.
    """
    import torch

    from sweep.checkpoint import Checkpoint
    from sweep.predict import ExportedModel

    source = Path(path)
    if not source.is_file():
        raise ModelError(f"{source}: no such export file")
    refused = (
        f"{source} is not a sweep state-dict export (TorchScript exports load with torch.jit.load)"
    )
    if _is_torchscript(source):  # torch.load would hand it to torch.jit.load
        raise ModelError(refused)
    try:
        raw = torch.load(source, weights_only=True)
    except Exception:
        raise ModelError(refused) from None
    if not isinstance(raw, dict) or EXPORT_KEY not in raw:
        raise ModelError(refused)
    if raw[EXPORT_KEY] != EXPORT_VERSION:
        raise ModelError(
            f"{source} has export version {raw[EXPORT_KEY]!r}; this sweep reads {EXPORT_VERSION}"
        )
    return ExportedModel.from_checkpoint(Checkpoint.from_dict(raw, source=str(source)))


def _is_torchscript(source: Path) -> bool:
    """Whether ``source`` is a TorchScript archive: a zip with the ``constants.pkl`` that
    ``torch.jit.save`` writes and ``torch.save`` does not."""
    try:
        with zipfile.ZipFile(source) as archive:
            return any(name.rsplit("/", 1)[-1] == "constants.pkl" for name in archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False
