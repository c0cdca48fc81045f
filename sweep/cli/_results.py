"""Reading results: ``sweep report`` (table, CSV, HTML, PNG, effects), ``sweep best`` and
``sweep studies``."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from sweep.cli._main import add_storage
from sweep.cli._run import _positive


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a number of at least 0, got {text}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report", help="rank a study's trials; write CSV, HTML or PNG reports; show effects"
    )
    p.add_argument("study", metavar="STUDY_NAME", nargs="?", help="the study (omit with --all)")
    add_storage(p)
    p.add_argument("--top", type=_positive, default=10, metavar="K", help="rows of the table")
    p.add_argument(
        "--csv",
        metavar="PATH",
        help="write every trial, ranked, to PATH (with --all: a folder, one file per study)",
    )
    p.add_argument("--html", metavar="PATH", help="write the self-contained HTML report")
    p.add_argument("--png", metavar="DIR", help="write the report's plots as PNG files in DIR")
    p.add_argument(
        "--effects", action="store_true", help="show the effect of each categorical choice"
    )
    p.add_argument(
        "--curves", type=_positive, default=10, metavar="N", help="learning curves of the N best"
    )
    p.add_argument(
        "--pareto", action="store_true", help="show the front of the metric against the size"
    )
    p.add_argument("--all", action="store_true", help="export every study of the database")
    p.set_defaults(func=report)

    p = sub.add_parser("best", help="the best trial's parameters and metrics")
    p.add_argument("study", metavar="STUDY_NAME")
    add_storage(p)
    p.add_argument(
        "--within",
        type=_non_negative,
        metavar="D",
        help="the smallest network whose metric is within D of the best",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=best)

    p = sub.add_parser("studies", help="the studies in a database")
    add_storage(p)
    p.set_defaults(func=studies)


def report(args: argparse.Namespace) -> int:
    from sweep._output import check_file, check_folder, write_text
    from sweep.errors import SweepError

    if args.all:
        if args.study or args.html or args.png or args.effects:
            raise SweepError(
                "report --all exports every study as CSV: give --csv DIR and no study name, "
                "--html, --png or --effects"
            )
        if not args.csv:
            raise SweepError("report --all needs --csv DIR (one file per study)")
        check_folder(args.csv, "--csv")
        return _export_all(args)
    if not args.study:
        raise SweepError("report needs a study name (or --all --csv DIR for every study)")
    # Before the study is read or the table printed: a path that cannot be written
    # is one line, and nothing is written.
    if args.csv:
        check_file(args.csv, "--csv")
    if args.html:
        check_file(args.html, "--html")
    if args.png:
        check_folder(args.png, "--png")

    from sweep.api import open_study
    from sweep.report import print_effects, print_ranked, wide_console, write_csv

    study = open_study(args.study, args.storage)
    data = study.report_data()
    console = wide_console()
    print_ranked(
        data.frame,
        title=f"{study.name}: top {args.top}",
        metric=study.objective.name,
        top=args.top,
        console=console,
    )
    if args.pareto:
        from sweep.report._pareto import pareto_frame

        front = pareto_frame(data.frame, data.objective)
        print_ranked(
            front,
            title=f"{study.name}: the Pareto front of val {study.objective.name} against "
            f"parameters ({len(front)} trials)",
            metric=study.objective.name,
            top=len(front),
            console=console,
        )
    if args.effects:
        from sweep.report import depth_width, effects

        print_effects(
            effects(data.frame, data.objective),
            depth_width(data.frame, data.objective),
            metric=data.metric,
            console=console,
        )
    if args.csv:
        path = write_csv(data.frame, args.csv)
        console.print(f"wrote {path} ({len(data.frame)} trials)")
    if args.html:
        from sweep.report import html_report

        path = write_text(args.html, html_report(data, top=max(args.top, 20), curves=args.curves))
        console.print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, opens offline)")
    if args.png:
        import matplotlib

        matplotlib.use("Agg")  # files only: never open a window
        from sweep.report import png_report

        for key, result in png_report(data, args.png, curves=args.curves).items():
            if isinstance(result, Path):
                console.print(f"wrote {result}")
            else:
                console.print(f"skipped {key}: {result}")
    return 0


def _export_all(args: argparse.Namespace) -> int:
    from sweep.report import export_all, wide_console

    console = wide_console()
    written = export_all(args.storage, args.csv)
    for name, path in written.items():
        console.print(f"wrote {path} (study {name})")
    if not written:
        console.print("the database holds no study; nothing written")
    return 0


def best(args: argparse.Namespace) -> int:
    from sweep.api import open_study

    study = open_study(args.study, args.storage)
    b = study.best if args.within is None else study.smallest_within(args.within)
    what = (
        "best trial"
        if args.within is None
        else f"smallest network within {args.within:g} of the best: trial"
    )
    if args.json:
        print(
            json.dumps(
                {
                    "study": study.name,
                    "trial": b.number,
                    "value": b.value,
                    "objective": study.objective.name,
                    "params": b.params,
                    "metrics": b.metrics,
                }
            )
        )
        return 0
    print(f"study {study.name}: {what} {b.number}, val {study.objective.name} {b.value:.6g}")
    print("params:")
    for key, value in b.params.items():
        if value is not None:
            print(f"  {key}: {value}")
    print("metrics:")
    for key, value in b.metrics.items():
        print(f"  {key}: {value:.6g}")
    return 0


def studies(args: argparse.Namespace) -> int:
    from rich.table import Table

    from sweep.api import list_studies
    from sweep.report import wide_console
    from sweep.storage import redact

    frame = list_studies(args.storage)
    table = Table(title=f"studies in {redact(args.storage)}", title_justify="left")
    for col in frame.columns:
        table.add_column(
            col, justify="left" if col in ("study", "objective", "direction") else "right"
        )
    for _, row in frame.iterrows():
        table.add_row(
            *[
                "-"
                if (isinstance(v, float) and math.isnan(v)) or v is None
                else (f"{v:.4f}" if isinstance(v, float) else str(v))
                for v in row
            ]
        )
    wide_console().print(table)
    return 0
