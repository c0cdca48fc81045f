"""``sweep export``: a kept model, with its scaling, in one file for deployment."""

from __future__ import annotations

import argparse

from sweep._choices import EXPORT_FORMATS
from sweep.cli._main import add_storage


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="write a kept model with its scaling for deployment (TorchScript, ONNX, state dict)",
    )
    p.add_argument("study", metavar="STUDY_NAME")
    add_storage(p)
    p.add_argument("--trial", type=int, metavar="N", help="a kept trial (default: the best)")
    p.add_argument(
        "--format",
        required=True,
        choices=EXPORT_FORMATS,
        help="torchscript (torch.jit.load), onnx (needs sweep[onnx]) or state-dict "
        "(sweep.load_export)",
    )
    p.add_argument(
        "--output", required=True, metavar="PATH", help="the file to write; its folder must exist"
    )
    p.set_defaults(func=export)


def export(args: argparse.Namespace) -> int:
    from sweep.export import check_export, export_model

    # Cheap checks first: a wrong path, format, study or trial fails before torch loads.
    path = check_export(args.output, args.format, "--output")
    from sweep.api import open_study

    study = open_study(args.study, args.storage)
    number, _ = study.model_artifact(args.trial)
    ckpt = study.checkpoint(number)
    export_model(ckpt, path, fmt=args.format)
    if ckpt.task == "regression":
        gives = "predictions in the targets' units"
    else:
        gives = f"the probabilities of {len(ckpt.classes or range(max(ckpt.n_outputs, 2)))} classes"
    print(
        f"wrote {path} ({args.format}, trial {number} of {study.name}): "
        f"float32 rows of {len(ckpt.feature_names)} columns -> {gives}"
    )
    return 0
