"""Training time of packs on this checkout and another one, interleaved in one invocation.

    python bench/pack_ab.py OTHER_CHECKOUT [--repeats 5] [--epochs 40]

The packs are ``bench/steps.py``'s op-count packs (equal: two layers of 32 ReLU units,
BCE, Adam; mixed: four activations, three losses, six optimizers, depths 1-3, widths
8-32, dropout 0 or 0.1) of K = 1, 16 and 64 members, trained for ``--epochs`` epochs on
the bench study's data (600 training points, batch 64) on the CPU with two threads. Each
run is a fresh Python process importing that checkout's sweep (``PYTHONPATH``), this
checkout's ``bench/steps.py`` for the packs; the two checkouts run back to back for each
repeat, each first in turn. It prints each side's median seconds, their ranges and the
ratio of this checkout's median to the other's (above 1: this one is slower).
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

ONE_RUN = """
import json, sys, time
sys.path.insert(0, {bench!r})
import torch
import steps
import sweep
from sweep.data import load_data
from sweep.train import TrainSettings, TrialTask, make_runner, train
torch.set_num_threads(2)
data = load_data(sweep.load_spec({study!r}).data)
settings = TrainSettings(task="binary", epochs={epochs})
out = {{}}
for k in (1, 16, 64):
    for mixed in (False, True):
        tasks = [TrialTask(i, steps.ops_config(i, mixed), i) for i in range(k)]
        runner = make_runner(tasks, data.n_features, data.n_outputs, settings, torch.device("cpu"))
        start = time.perf_counter()
        for _ in train(runner, data, settings):
            pass
        out[("mixed" if mixed else "equal") + f" K={{k}}"] = time.perf_counter() - start
print(json.dumps(out))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("other", help="the other checkout (a folder with sweep/)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=40)
    args = parser.parse_args()
    trees = {"this": HERE.parent, "other": Path(args.other).resolve()}
    code = ONE_RUN.format(bench=str(HERE), study=str(HERE / "bench.toml"), epochs=args.epochs)
    times: dict[str, dict[str, list[float]]] = {}
    for repeat in range(args.repeats):
        order = ["this", "other"] if repeat % 2 == 0 else ["other", "this"]
        for side in order:
            env = {**os.environ, "PYTHONPATH": str(trees[side])}
            done = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
            )
            for pack, seconds in json.loads(done.stdout.strip().splitlines()[-1]).items():
                times.setdefault(pack, {}).setdefault(side, []).append(seconds)
    print("| pack | this (s) | range | other (s) | range | this / other |")
    print("|---|---|---|---|---|---|")
    for pack, sides in times.items():
        this, other = sides["this"], sides["other"]
        print(
            f"| {pack} | {statistics.median(this):.3f} | {min(this):.3f}-{max(this):.3f} | "
            f"{statistics.median(other):.3f} | {min(other):.3f}-{max(other):.3f} | "
            f"{statistics.median(this) / statistics.median(other):.2f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
