"""Each of the coordinator's mechanisms against the simple path, in one invocation.

    python bench/ab.py [--repeats 5] [--trials 300] [--epochs 2] [--points 300]
                       [--ways all,hold,records,tpe,ahead,public] [--alone]

The workload is the overhead run of ``bench/run.py --overhead``: many short trials of
the bench study, packed, where the coordinator's own work is the largest share of the
wall time, which is where each mechanism is meant to pay (``--alone``: one trial at a
time in the coordinator's process, as the bench's ``alone`` mode). ``all`` runs the code as it
is; every other way changes one thing:

  hold     epoch values written at every report instead of held back for up to
           HOLD_SECONDS and written together
  records  attributes, epoch values, ends and a pack's parameters written through
           Optuna's storage API, one call each, instead of one transaction per batch
  tpe      Optuna's TPESampler instead of sweep's
  ahead    (turned on, not off) the next pack sampled in a second process meanwhile
  public   every private Optuna name off (SWEEP_OPTUNA_PUBLIC=1): Optuna's TPE, its
           storage API, and each pack's trials asked one by one with Study.ask

Each run is a fresh Python process; the ways are interleaved over the repeats. It
prints, per way, the median wall time, the range over the repeats, and the ratio of
its median to that of ``all`` (above 1: what is turned off pays that much).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WAYS = ("all", "hold", "records", "tpe", "ahead", "public")


def simple_path(way: str) -> None:
    """Turn one mechanism off (in this process) before the run."""
    import optuna

    from sweep.study import _optuna_internals as internals

    if way == "hold":
        from sweep.dispatch import _recorder

        _recorder.HOLD_SECONDS = 0.0
    elif way == "records":
        internals.rdb = lambda storage: None
    elif way == "tpe":
        internals.TPESampler = optuna.samplers.TPESampler


def one(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    from run import load_bench_spec, overhead_study

    simple_path(args.one)
    spec, _ = load_bench_spec(args.study)
    wall, s = overhead_study(
        spec,
        args.trials,
        args.epochs,
        args.points,
        args.devices,
        ahead=args.one == "ahead",
        alone=args.alone,
    )
    return {"wall": wall, "finished": s.finished, "best": s.best_value}


def main() -> int:
    parser = argparse.ArgumentParser(description="each mechanism against the simple path")
    parser.add_argument("--study", default=str(HERE / "bench.toml"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--trials", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--points", type=int, default=300)
    parser.add_argument("--devices", default="cpu")
    parser.add_argument("--ways", default=",".join(WAYS))
    parser.add_argument("--alone", action="store_true", help="one trial at a time, in process")
    parser.add_argument("--one", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args)))
        return 0
    ways = [w.strip() for w in args.ways.split(",") if w.strip()]
    unknown = [w for w in ways if w not in WAYS]
    if unknown:
        raise SystemExit(f"bench: unknown way {unknown[0]!r}; valid: {', '.join(WAYS)}")
    if "all" not in ways:
        ways.insert(0, "all")
    walls: dict[str, list[float]] = {w: [] for w in ways}
    base = [sys.executable, str(Path(__file__).resolve())]
    for flag in ("study", "trials", "epochs", "points", "devices"):
        base += [f"--{flag}", str(getattr(args, flag))]
    base += ["--alone"] if args.alone else []
    for repeat in range(args.repeats):
        for way in ways:
            done = subprocess.run(
                [*base, "--one", way],
                capture_output=True,
                text=True,
                check=False,
                env={
                    **os.environ,
                    "PYTHONUNBUFFERED": "1",
                    **({"SWEEP_OPTUNA_PUBLIC": "1"} if way == "public" else {}),
                },
            )
            if done.returncode != 0:
                raise SystemExit(f"bench: {way} failed (exit {done.returncode}):\n{done.stderr}")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            walls[way].append(result["wall"])
            print(
                f"  repeat {repeat + 1} {way:8s} {result['wall']:7.2f} s"
                f"  {result['finished']} trials  best {result['best']:.4f}",
                flush=True,
            )
    ref = statistics.median(walls["all"])
    how = "one at a time" if args.alone else "packed"
    print(
        f"\n{args.trials} trials of {args.epochs} epochs on {args.points} points, {how}, "
        f"{args.repeats} repeats"
    )
    print(f"{'way':10s}{'median s':>10s}{'range s':>16s}{'all is x faster':>18s}")
    for way in ways:
        w = walls[way]
        med = statistics.median(w)
        ratio = med / ref
        print(f"{way:10s}{med:10.2f}{min(w):8.2f}-{max(w):<7.2f}{ratio:17.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
