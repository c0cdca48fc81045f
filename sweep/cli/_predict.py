"""``sweep predict``: a kept model's predictions for the rows of a CSV file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sweep.cli._main import add_storage

if TYPE_CHECKING:
    import pandas as pd


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="predict the rows of a CSV file with a saved model")
    p.add_argument("study", metavar="STUDY_NAME")
    add_storage(p)
    p.add_argument(
        "--input",
        required=True,
        metavar="CSV",
        help="rows to predict; columns named as the study's features (others are kept "
        "in the output but not used)",
    )
    p.add_argument(
        "--output", required=True, metavar="CSV", help="where the predictions go ('-': stdout)"
    )
    p.add_argument("--trial", type=int, metavar="N", help="a kept trial (default: the best)")
    p.add_argument("--proba", action="store_true", help="add class probabilities (classification)")
    p.add_argument(
        "--no-header",
        action="store_true",
        help="the input has no header line: columns are the features in order",
    )
    p.add_argument("--device", default="cpu", help="where the network runs (default: cpu)")
    p.set_defaults(func=predict)


def read_rows(path: str, *, header: bool = True) -> pd.DataFrame:
    """The rows of a CSV file (a header line names the columns unless ``header`` is False).

    Raises:
        ModelError: the file is missing, empty or not valid CSV.
    """
    import pandas as pd

    from sweep.errors import ModelError

    source = Path(path)
    if not source.is_file():
        raise ModelError(f"{source}: no such input file")
    try:
        return pd.read_csv(source, header=0 if header else None)
    except pd.errors.EmptyDataError:
        raise ModelError(f"{source}: the input file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelError(f"{source}: not a valid CSV file: {first}") from None


def predict(args: argparse.Namespace) -> int:
    from sweep._output import atomic_path, check_file
    from sweep.api import open_study
    from sweep.inputs import input_matrix

    # Cheap checks first: a wrong file, study, trial or column fails before torch loads.
    if args.output != "-":
        check_file(args.output, "--output")
    rows = read_rows(args.input, header=not args.no_header)
    study = open_study(args.study, args.storage)
    number, _ = study.model_artifact(args.trial)
    names = study.data_summary.get("feature_names")
    if names:
        input_matrix(rows, names, trial=number)
    predictor = study.predictor(number, device=args.device)
    out = rows.copy()
    values = predictor.predict(rows)
    if values.ndim == 2:
        for j in range(values.shape[1]):
            out[f"prediction_{j}"] = values[:, j]
    else:
        out["prediction"] = values
    if args.proba:
        proba = predictor.predict_proba(rows)
        labels = predictor.classes or list(range(proba.shape[1]))
        for j, label in enumerate(labels):
            out[f"p_{label}"] = proba[:, j]
    if args.output == "-":
        out.to_csv(sys.stdout, index=False)
        return 0
    path = Path(args.output)
    with atomic_path(path) as temp:
        out.to_csv(temp, index=False)
    print(f"wrote {path} ({len(out)} rows, predicted by trial {predictor.trial} of {study.name})")
    return 0
