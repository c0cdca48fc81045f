"""``sweep run``: run or resume a study, then rank its trials and write the CSV report."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from sweep.cli._main import add_storage

STUDY_STOPS = ("target reached", "plateau")  # stops that belong to the study, not the run


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _pack(text: str) -> str:
    if text == "auto":
        return text
    return str(_positive(text))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run or resume a study from a study file")
    p.add_argument(
        "study_file", metavar="STUDY_FILE", help="a study definition, e.g. studies/default.toml"
    )
    p.add_argument(
        "--trials",
        type=_positive,
        metavar="N",
        help="budget: total finished trials (not an increment)",
    )
    p.add_argument(
        "--timeout",
        metavar="DURATION",
        help="time limit of this run: seconds, or 90s, 30m, 2h (running trials stop, queued again)",
    )
    p.add_argument(
        "--target",
        type=float,
        metavar="VALUE",
        help="stop the study once a complete trial reaches VALUE (override of study.target)",
    )
    p.add_argument(
        "--continue",
        dest="go_on",
        action="store_true",
        help="run a study that stopped at its target or plateau anyway",
    )
    p.add_argument(
        "--warm-start",
        metavar="OTHER[:K]",
        help="try the best K (10) complete trials of study OTHER first, once per study",
    )
    p.add_argument(
        "--warm-start-storage", metavar="URL", help="where OTHER lives (default: --storage)"
    )
    p.add_argument(
        "--warm-start-clip",
        action="store_true",
        help="move OTHER's values outside this study's space into it instead of the error",
    )
    add_storage(p)
    p.add_argument("--seed", type=int, metavar="S", help="the sampler's seed (trial k uses S + k)")
    p.add_argument("--devices", metavar="LIST", help="auto | cpu | cuda | cuda:0,cuda:1")
    p.add_argument("--per-device", type=_positive, metavar="K", help="worker slots per device")
    p.add_argument(
        "--pack", type=_pack, metavar="auto|K", help="trials trained together per slot (1: alone)"
    )
    p.add_argument(
        "--pinned", metavar="NAME", help="run the study file's [pinned.NAME] configuration"
    )
    p.add_argument(
        "--sample-ahead",
        action="store_true",
        help="sample the next pack in a second process while one trains (one slot, TPE)",
    )
    p.add_argument("--top", type=_positive, default=10, metavar="K", help="rows of the final table")
    p.add_argument("--report-dir", default="reports", metavar="DIR", help="where <study>.csv goes")
    p.add_argument("--no-report", action="store_true", help="skip the final table and CSV")
    p.add_argument("--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sweep.config import load_spec

    spec = load_spec(args.study_file)  # a bad file fails here, before torch loads
    if not args.no_report:
        from sweep._output import check_folder

        check_folder(args.report_dir, "--report-dir")  # before the trials, not after

    from sweep.api import open_study
    from sweep.report import print_ranked, wide_console, write_csv
    from sweep.run import run_study

    try:
        summary = run_study(
            spec,
            storage=args.storage,
            n_trials=args.trials,
            seed=args.seed,
            devices=args.devices,
            per_device=args.per_device,
            pack=args.pack,
            pinned=args.pinned,
            display="none" if args.quiet else "auto",
            sample_ahead=args.sample_ahead,
            timeout=args.timeout,
            target=args.target,
            go_on=args.go_on,
            warm_start=args.warm_start,
            warm_start_storage=args.warm_start_storage,
            warm_start_clip=args.warm_start_clip,
        )
    except KeyboardInterrupt:
        if os.environ.get("SWEEP_DEBUG"):
            raise
        print(
            "stopped: Ctrl-C; the trials it stopped are queued again for the next run",
            file=sys.stderr,
        )
        return 130
    console = wide_console()
    ran = summary.complete + summary.pruned + summary.failed
    if ran == 0 and summary.stopped in STUDY_STOPS:
        console.print(
            f"study {summary.study} stopped ({summary.stopped}: {summary.stop_detail}); "
            "nothing to run (--continue goes on, as does a changed target or patience)"
        )
    elif ran == 0:
        console.print(
            f"study {summary.study}: budget of {summary.budget} finished trials already met "
            f"({summary.finished} in {summary.storage}); nothing to run"
        )
    else:
        s = summary
        console.print(
            f"study {s.study}: ran {ran} trials ({s.complete} complete, {s.pruned} pruned, "
            f"{s.failed} failed) in {s.wall_seconds:.1f} s on {', '.join(s.slots)} "
            f"(pack {s.pack}); {s.finished}/{s.budget} finished in {s.storage}"
        )
        if s.stopped == "time limit":
            limit = args.timeout if args.timeout is not None else f"{spec.study.timeout:g} s"
            console.print(
                f"stopped: time limit ({limit}); the trials it stopped are queued again "
                "for the next run"
            )
        elif s.stopped in STUDY_STOPS:
            console.print(
                f"stopped: {s.stopped} ({s.stop_detail}); later runs of the study do "
                "nothing unless given --continue or a changed target or patience"
            )
    if summary.recovered:
        console.print(
            f"re-queued trials of an earlier run that ended early: {list(summary.recovered)}"
        )
    if args.no_report:
        return 0
    study = open_study(summary.study, args.storage)
    frame = study.trials()
    print_ranked(
        frame,
        title=f"{summary.study}: top {args.top}",
        metric=study.objective.name,
        top=args.top,
        console=console,
    )
    out = write_csv(frame, Path(args.report_dir) / f"{summary.study}.csv")
    console.print(f"wrote {out}")
    return 0
