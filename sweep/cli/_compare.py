"""``sweep compare``: studies side by side (best values, trial counts, time spent)."""

from __future__ import annotations

import argparse
import json
import math

from sweep.cli._main import add_storage


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("compare", help="studies side by side: best values, trials, time")
    p.add_argument("studies", metavar="STUDY_NAME", nargs="+", help="two or more studies")
    add_storage(p)
    p.add_argument("--csv", metavar="PATH", help="also write the comparison to PATH")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.set_defaults(func=compare)


def compare(args: argparse.Namespace) -> int:
    from sweep._output import check_file
    from sweep.api import compare_studies
    from sweep.report import compare_table, wide_console, write_csv

    if args.csv:
        check_file(args.csv, "--csv")
    frame = compare_studies(list(dict.fromkeys(args.studies)), args.storage)
    if args.json:
        rows = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
        clean = [
            {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
            for row in rows
        ]
        print(json.dumps(clean))
    else:
        wide_console().print(compare_table(frame))
    if args.csv:
        path = write_csv(frame, args.csv)
        if not args.json:
            wide_console().print(f"wrote {path}")
    return 0
