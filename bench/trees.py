"""``bench/run.py``'s modes on two checkouts of sweep, interleaved in one invocation.

    python bench/trees.py OTHER_CHECKOUT [--trials 100] [--repeats 3]
                          [--modes baseline,alone,workers,packed,packed-workers]
                          [--study bench/bench.toml]

Each run is ``bench/run.py --one MODE`` of one checkout in a fresh Python process that
imports that checkout's sweep (``PYTHONPATH``); for each repeat and mode the two
checkouts run back to back, each first in turn (the first of a pair runs just after the
previous mode, whose worker processes may still be exiting), so drift on the machine hits
both alike. It prints, per mode, the median trials per minute of each checkout, their
ranges over the repeats, and the ratio of this checkout's median to the other's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_one(tree: Path, mode: str, repeat: int, args: argparse.Namespace) -> dict:
    command = [sys.executable, str(tree / "bench" / "run.py"), "--one", mode]
    command += ["--study", str(tree / args.study), "--devices", args.devices]
    command += ["--repeat", str(repeat), "--trials", str(args.trials)]
    # From the checkout's own folder: `python -m` (as the workers start) puts the current
    # folder first on the path, before PYTHONPATH.
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tree, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench: {mode} in {tree} failed (exit {done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description="bench/run.py on two checkouts, interleaved")
    parser.add_argument("other", help="the other checkout (a folder with sweep/ and bench/)")
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--modes", default="baseline,alone,workers,packed,packed-workers")
    parser.add_argument("--devices", default="auto")
    parser.add_argument("--study", default="bench/bench.toml", help="in each checkout")
    args = parser.parse_args()
    trees = {"this": HERE.parent, "other": Path(args.other).resolve()}
    if not (trees["other"] / "bench" / "run.py").is_file():
        raise SystemExit(f"bench: {trees['other']} has no bench/run.py")
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    rates: dict[tuple[str, str], list[float]] = {}
    for repeat in range(args.repeats):
        for i, mode in enumerate(modes):
            order = list(trees.items())
            for name, tree in order if (repeat + i) % 2 == 0 else order[::-1]:
                row = run_one(tree, mode, repeat, args)
                rates.setdefault((mode, name), []).append(row["trials_per_minute"])
                print(
                    f"  repeat {repeat + 1} {mode:15s} {name:5s} "
                    f"{row['trials_per_minute']:8.1f} trials/min  best {row['best']:.4f}",
                    flush=True,
                )
    print(f"\n{args.trials} trials per run, {args.repeats} repeats; trials per minute")
    print(f"{'mode':16s}{'this':>10s}{'range':>18s}{'other':>10s}{'range':>18s}{'x':>8s}")
    for mode in modes:
        this, other = rates[(mode, "this")], rates[(mode, "other")]
        a, b = statistics.median(this), statistics.median(other)
        print(
            f"{mode:16s}{a:10.1f}{min(this):9.1f}-{max(this):<8.1f}"
            f"{b:10.1f}{min(other):9.1f}-{max(other):<8.1f}{a / b:7.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
