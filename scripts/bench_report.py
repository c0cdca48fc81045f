#!/usr/bin/env python3
"""How long reports take on a large study.

    python scripts/bench_report.py                 # 10,000 trials in an SQLite file
    python scripts/bench_report.py --memory        # the same trials in memory
    python scripts/bench_report.py --optuna        # also time Optuna's own get_trials

The study is built through Optuna's API (``tests/report/large_study.py``: trials
shaped like sweep's, with configs, metrics and per-epoch values). Writing
10,000 trials into SQLite through Optuna takes minutes, so the file is kept
(``--db``, default in the temp folder) and reused by later runs. Each step is
timed on its own, in one process, after the study file exists.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import optuna  # noqa: E402

from sweep.report import (  # noqa: E402
    collect,
    depth_width,
    effects,
    html_report,
    png_report,
    read_trials,
    trials_frame,
    write_csv,
)
from sweep.storage import open_storage  # noqa: E402
from tests.report.large_study import build_large_study  # noqa: E402


def timed(label: str, fn: Callable[[], Any], rows: list[tuple[str, float]]) -> Any:
    start = time.perf_counter()
    out = fn()
    rows.append((label, time.perf_counter() - start))
    print(f"{label:<44} {rows[-1][1]:8.2f} s", flush=True)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--db", type=Path, help="the SQLite file (built once, then reused)")
    parser.add_argument("--memory", action="store_true", help="in-memory study, no database")
    parser.add_argument("--optuna", action="store_true", help="also time Optuna's get_trials")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "sweep-bench")
    args = parser.parse_args()
    rows: list[tuple[str, float]] = []
    name = "big"
    if args.memory:
        study = timed(
            f"build {args.trials} trials in memory", lambda: build_large_study(args.trials), rows
        )
        url = None
    else:
        db = args.db or Path(tempfile.gettempdir()) / f"sweep-bench-{args.trials}.db"
        url = f"sqlite:///{db}"
        if not db.exists():
            print(f"building {db} (once; minutes for 10,000 trials)...", flush=True)
            partial = db.with_name(db.name + ".partial")
            partial.unlink(missing_ok=True)
            timed(
                f"build {args.trials} trials in SQLite",
                lambda: build_large_study(
                    args.trials, storage=open_storage(f"sqlite:///{partial}"), name=name
                ),
                rows,
            )
            partial.rename(db)
        study = timed(
            "open the study",
            lambda: optuna.load_study(study_name=name, storage=open_storage(url, create=False)),
            rows,
        )
        if args.optuna:
            fresh = optuna.load_study(study_name=name, storage=open_storage(url, create=False))
            timed(
                "Optuna get_trials (for comparison)", lambda: fresh.get_trials(deepcopy=False), rows
            )
        timed("read_trials", lambda: read_trials(study), rows)
        timed("trials_frame (reads the study again)", lambda: trials_frame(study), rows)
    start = time.perf_counter()
    report = timed(
        "collect (read once for every report)", lambda: collect(study, storage=url), rows
    )
    timed(
        "effects + depth x width",
        lambda: (
            effects(report.frame, report.objective),
            depth_width(report.frame, report.objective),
        ),
        rows,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    timed("CSV", lambda: write_csv(report.frame, args.out / "big.csv"), rows)
    text = timed("HTML report", lambda: html_report(report), rows)
    (args.out / "big.html").write_text(text, encoding="utf-8")
    timed("PNG report (importances reused)", lambda: png_report(report, args.out / "png"), rows)
    print(f"{'collect + effects + CSV + HTML + PNG':<44} {time.perf_counter() - start:8.2f} s")
    print(f"files in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
