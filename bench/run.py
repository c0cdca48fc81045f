"""sweep against a plain Optuna loop, side by side in one invocation.

    python bench/run.py [--trials 100] [--repeats 3] [--modes baseline,alone,packed,...]
    python bench/run.py --overhead 1000      # coordinator share at 1000 short trials
                                             # (sampling in turn, then ahead)

Every mode runs the same study (bench/bench.toml: search space, data split, epochs,
batch size 64, sampler, pruner and seed):

  baseline        a hand-written objective in the tutorials' style (bench/baseline.py):
                  nn.Sequential, DataLoader(batch_size=64, shuffle=True), in-memory storage
  alone           sweep, one trial at a time in one process (pack 1)
  workers         sweep's dispatcher: one worker process per core (pack 1)
  packed          sweep, trials trained together in packs (pack auto), one process
  packed-workers  packs on one worker process per core
  packed-ahead    packed, each next pack sampled in a second process meanwhile
                  (``--sample-ahead``; not in the default modes, see --overhead)

Each run is its own Python process (so no mode inherits another's imports, caches or
heap), timed inside that process; the modes are interleaved over the repeats.
For each mode it prints trials per minute (median of the repeats), the ratio to
the baseline's median, the best objective value (median of the repeats), and for
sweep the coordinator's share of wall time (sampler, storage and dispatch; on
worker processes it overlaps training) and the sampler's part of it. Every repeat
is written to bench/results/<date>.csv.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from baseline import run_baseline  # noqa: E402

import sweep  # noqa: E402
from sweep.data import load_data  # noqa: E402
from sweep.dispatch._devices import available_cores  # noqa: E402

MODES: dict[str, dict[str, Any]] = {
    "alone": {"pack": 1, "per_device": 1},
    "workers": {"pack": 1, "per_device": None},
    "packed": {"pack": "auto", "per_device": 1},
    "packed-workers": {"pack": "auto", "per_device": None},
    "packed-ahead": {"pack": "auto", "per_device": 1, "ahead": True},
}


@dataclasses.dataclass
class Row:
    mode: str
    repeat: int
    trials: int
    wall_seconds: float
    trials_per_minute: float
    best: float
    coordinator_share: float | None = None
    sampler_share: float | None = None
    pack: int | None = None
    slots: int | None = None
    useful_gflops: float | None = None  # 6 x parameters x training samples / wall time
    ahead_share: float | None = None  # sampling in the proposer process, meanwhile


def useful_flops(n_params: int, epochs: int, n_train: int) -> float:
    """The arithmetic a trial's training needs: 6 FLOPs per parameter per sample
    (forward, backward for inputs and weights), whatever the implementation."""
    return 6.0 * n_params * epochs * n_train


def run_sweep(spec, mode: str, trials: int, repeat: int, devices: str, n_train: int) -> Row:
    options = MODES[mode]
    per_device = options["per_device"] or available_cores()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        start = time.perf_counter()
        s = sweep.run_study(
            spec,
            storage=url,
            n_trials=trials,
            pack=options["pack"],
            per_device=per_device,
            devices=devices,
            display="none",
            sample_ahead=options.get("ahead", False),
        )
        wall = time.perf_counter() - start  # everything: workers' start-up, data, storage
        frame = sweep.open_study(spec.name, storage=url).trials()
        flops = sum(
            useful_flops(int(r.n_params), int(r.epochs_run), n_train)
            for r in frame.itertuples()
            if r.n_params == r.n_params and r.epochs_run == r.epochs_run  # not NaN
        )
    finished = s.finished
    return Row(
        mode,
        repeat,
        finished,
        wall,
        60 * finished / wall,
        s.best_value or float("nan"),
        s.coordinator_seconds / wall,
        s.sampler_seconds / wall,
        s.pack,
        len(s.slots),
        flops / wall / 1e9,
        s.ahead_seconds / wall,
    )


def measure(spec, mode: str, trials: int, repeat: int, devices: str) -> Row:
    """One run of one mode, in this process."""
    data = load_data(spec.data)
    if mode != "baseline":
        return run_sweep(spec, mode, trials, repeat, devices, len(data.x_train))
    torch.set_num_threads(available_cores())
    wall, best, n, flops = run_baseline(
        data,
        n_trials=trials,
        epochs=spec.train.epochs,
        seed=spec.study.seed,
        startup=spec.study.sampler_startup,
        pruner_startup=spec.study.pruner_startup,
        pruner_warmup=spec.study.pruner_warmup,
        depth_range=(spec.space.depth.low, spec.space.depth.high),
        width_range=(spec.space.width.low, spec.space.width.high),
        sampler=spec.study.sampler,
        pruner=spec.study.pruner,
    )
    return Row(mode, repeat, n, wall, 60 * n / wall, best, useful_gflops=flops / wall / 1e9)


def measure_apart(args: argparse.Namespace, mode: str, repeat: int) -> Row:
    """One run of one mode in a fresh Python process, so that no mode inherits another's
    state (imports, caches, a heap grown by earlier runs). The time counted is the run's
    own, measured inside that process, not its start-up."""
    options = ["--repeat", str(repeat), "--trials", str(args.trials)]
    _lines, result = run_apart(mode, args.study, args.devices, options)
    return Row(**result)


def run_apart(one: str, study: str, devices: str, options: list[str]) -> tuple[list[str], dict]:
    """This script with ``--one ONE`` in a fresh process: the lines it printed, and the
    JSON object on its last line."""
    command = [sys.executable, str(Path(__file__).resolve()), "--one", one, "--study", study]
    command += ["--devices", devices, *options]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench: {one} failed (exit {done.returncode}):\n{done.stderr}")
    *lines, last = done.stdout.strip().splitlines()
    return lines, json.loads(last)


def main() -> int:
    parser = argparse.ArgumentParser(description="sweep against a plain Optuna loop")
    parser.add_argument("--study", default=str(HERE / "bench.toml"))
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--modes", default="baseline,alone,workers,packed,packed-workers")
    parser.add_argument("--devices", default="auto")
    parser.add_argument(
        "--overhead",
        type=int,
        default=0,
        metavar="N",
        help="instead: N short trials packed, and the coordinator's share",
    )
    parser.add_argument("--one", default="", help=argparse.SUPPRESS)  # see measure_apart
    parser.add_argument("--repeat", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    spec = sweep.load_spec(args.study)
    if args.overhead:
        return overhead(spec, args.study, args.overhead, args.devices, args.one)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if args.one:
        row = measure(spec, args.one, args.trials, args.repeat, args.devices)
        print(json.dumps(dataclasses.asdict(row)))
        return 0
    rows: list[Row] = []
    for repeat in range(args.repeats):
        for mode in modes:  # interleaved, so drift on the machine hits every mode alike
            row = measure_apart(args, mode, repeat)
            rows.append(row)
            print(
                f"  repeat {repeat + 1} {mode:15s} {row.trials_per_minute:9.1f} trials/min"
                f"  best {row.best:.4f}",
                flush=True,
            )
    report(rows, modes, args)
    return 0


def report(rows: list[Row], modes: list[str], args: argparse.Namespace) -> None:
    med = {m: statistics.median(r.trials_per_minute for r in rows if r.mode == m) for m in modes}
    base = med.get("baseline")
    print(
        f"\n{args.trials} trials per run, {args.repeats} repeats, {available_cores()} cores, "
        f"torch {torch.__version__}"
    )
    header = (
        "mode",
        "trials/min",
        "x baseline",
        "best (median)",
        "coordinator",
        "sampler",
        "pack",
        "GFLOP/s",
    )
    print(f"{header[0]:16s}" + "".join(f"{h:>14s}" for h in header[1:]))
    for m in modes:
        rs = [r for r in rows if r.mode == m]
        best = statistics.median(r.best for r in rs)
        ratio = f"{med[m] / base:.1f}x" if base else "-"
        is_sweep = rs[0].coordinator_share is not None
        coord = (
            f"{statistics.median(r.coordinator_share or 0 for r in rs):.1%}" if is_sweep else "-"
        )
        samp = f"{statistics.median(r.sampler_share or 0 for r in rs):.1%}" if is_sweep else "-"
        pack = str(rs[0].pack) if rs[0].pack is not None else "-"
        gflops = f"{statistics.median(r.useful_gflops or 0 for r in rs):.2f}"
        cells = (f"{med[m]:.1f}", ratio, f"{best:.4f}", coord, samp, pack, gflops)
        print(f"{m:16s}" + "".join(f"{c:>14s}" for c in cells))
    out = HERE / "results" / f"{time.strftime('%Y%m%d-%H%M%S')}.csv"
    out.parent.mkdir(exist_ok=True)
    with out.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=[f.name for f in dataclasses.fields(Row)])
        writer.writeheader()
        for r in rows:
            writer.writerow(dataclasses.asdict(r))
    print(f"wrote {out}")


def overhead(spec, study: str, n: int, devices: str, one: str) -> int:
    """Short trials (2 epochs on 300 points), packed: how much of the wall time is the
    coordinator's (sampler, storage, dispatch)? Sampled in turn, then ahead (the next
    pack sampled in a second process while one trains), each in a fresh process."""
    if one:
        wall = overhead_run(spec, n, devices, ahead=one == "ahead")
        print(json.dumps({"wall": wall}))
        return 0
    walls = []
    for way in ("turn", "ahead"):
        lines, result = run_apart(way, study, devices, ["--overhead", str(n)])
        print("\n".join(lines), flush=True)
        walls.append(result["wall"])
    print(f"ahead: {walls[0] / walls[1]:.2f}x the trials per minute of in turn")
    return 0


def overhead_run(spec, n: int, devices: str, ahead: bool) -> float:
    short = dataclasses.replace(
        spec,
        study=dataclasses.replace(spec.study, name="overhead", trials=n),
        train=dataclasses.replace(spec.train, epochs=2),
        data=dataclasses.replace(
            spec.data, options=dataclasses.replace(spec.data.options, n_samples=300)
        ),
    )
    load_data(short.data)  # its imports and generation are not the run's
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        s = sweep.run_study(
            short,
            storage=f"sqlite:///{tmp}/o.db",
            pack="auto",
            devices=devices,
            display="none",
            sample_ahead=ahead,
        )
        wall = time.perf_counter() - start
    coord, samp = s.coordinator_seconds, s.sampler_seconds
    print(
        f"{'ahead' if ahead else 'in turn':8s} {s.finished} short trials in {wall:.1f} s "
        f"(pack {s.pack}, {', '.join(s.slots)}): coordinator {coord:.1f} s = "
        f"{coord / wall:.1%} of wall time (sampler {samp:.1f} s = {samp / wall:.1%}; "
        f"storage and dispatch {(coord - samp) / wall:.1%})"
        + (f"; sampled ahead meanwhile {s.ahead_seconds:.1f} s" if ahead else "")
    )
    return wall


if __name__ == "__main__":
    sys.exit(main())
