"""Each of the coordinator's mechanisms against the simple path, in one invocation.

    python bench/ab.py [--repeats 5] [--trials 1000] [--epochs 2] [--points 300]
                       [--ways all,hold,pruners,bulk,records,ahead,tpe]

The workload is the overhead run of ``bench/run.py --overhead``: many short trials of
the bench study, packed, where the coordinator's own work is the largest share of the
wall time, which is where each mechanism is meant to pay. ``all`` runs the code as it
is; every other way turns one mechanism off and takes the simple path instead:

  hold     epoch values and trials' ends written as they arrive, not held back
  pruners  Optuna's own median pruner against the study read once per report, instead
           of sweep's pruners against a view kept up to date
  bulk     a pack's trials created one at a time (RDBStorage.create_new_trial)
  records  attributes, epoch values, ends and sampled parameters written through
           Optuna's storage API, one call each, instead of one transaction per batch
  ahead    (turned on, not off) the next pack sampled in a second process meanwhile
  tpe      Optuna's TPESampler instead of sweep's

Each run is a fresh Python process; the ways are interleaved over the repeats. It
prints, per way, the median wall time, the range over the repeats, and the ratio of
the medians to ``all`` (above 1: the mechanism pays that much).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WAYS = ("all", "hold", "pruners", "bulk", "records", "ahead", "tpe")


class _Public:
    """A storage seen without its RDB backend, so sweep's writers take the public path."""

    def __init__(self, storage: Any) -> None:
        self._inner = storage
        self._backend = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def simple_path(way: str) -> None:
    """Turn one mechanism off (in this process) before the run."""
    import optuna

    import sweep.dispatch._coordinator as coordinator
    import sweep.study as study_module

    if way == "hold":
        coordinator._HOLD_STEPS = 0.0
    elif way == "pruners":
        build = study_module.build_pruner

        def stock(section: Any, epochs: int) -> Any:
            if section.pruner == "median":
                return optuna.pruners.MedianPruner(
                    n_startup_trials=section.pruner_startup, n_warmup_steps=section.pruner_warmup
                )
            return build(section, epochs)

        study_module.build_pruner = stock

        def fresh_view(self: Any) -> Any:
            self._write_ends()
            return study_module.Snapshot(self.study)

        coordinator.Coordinator._pruning_view = fresh_view
    elif way == "bulk":
        study_module._create_trials = lambda storage, study_id, k: [
            storage.create_new_trial(study_id) for _ in range(k)
        ]
    elif way == "records":
        attrs, steps = study_module.write_attrs, study_module.write_intermediate
        finish = study_module.finish_trials

        def attrs_public(storage: Any, user: Any, system: Any = None, **k: Any) -> None:
            attrs(_Public(storage), user, system)
            if k.get("first_heartbeat"):  # as RDBStorage.record_heartbeat, one call each
                for trial_id in {*user, *(system or {})}:
                    storage.record_heartbeat(trial_id)

        coordinator.write_attrs = attrs_public
        coordinator.write_intermediate = lambda storage, v: steps(_Public(storage), v)

        def finish_public(study: Any, ends: Any, held: Any = None) -> None:
            real = study._storage
            study._storage = _Public(real)
            try:
                finish(study, ends, held)
            finally:
                study._storage = real

        coordinator.finish_trials = finish_public

        def flush_public(self: Any) -> None:
            params, self.params = self.params, []
            for args in params:
                self.storage.set_trial_param(*args)

        study_module.PackView.flush = flush_public
    elif way == "tpe":
        build = study_module.build_sampler

        def stock_tpe(section: Any, *, offset: int = 0) -> Any:
            if section.sampler != "tpe":
                return build(section, offset=offset)
            return optuna.samplers.TPESampler(
                seed=section.seed + offset * 7_919,
                n_startup_trials=section.sampler_startup,
                constant_liar=True,
            )

        study_module.build_sampler = stock_tpe


def one(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    from run import load_bench_spec

    import sweep
    from sweep.data import load_data

    simple_path(args.one)
    spec, _ = load_bench_spec(args.study)
    short = dataclasses.replace(
        spec,
        study=dataclasses.replace(spec.study, name="ab", trials=args.trials),
        train=dataclasses.replace(spec.train, epochs=args.epochs),
        data=dataclasses.replace(
            spec.data, options=dataclasses.replace(spec.data.options, n_samples=args.points)
        ),
    )
    load_data(short.data)  # its imports and generation are not the run's
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        s = sweep.run_study(
            short,
            storage=f"sqlite:///{tmp}/ab.db",
            pack="auto",
            devices=args.devices,
            display="none",
            sample_ahead=args.one == "ahead",
        )
        wall = time.perf_counter() - start
    return {"wall": wall, "finished": s.finished, "best": s.best_value}


def main() -> int:
    parser = argparse.ArgumentParser(description="each mechanism against the simple path")
    parser.add_argument("--study", default=str(HERE / "bench.toml"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--points", type=int, default=300)
    parser.add_argument("--devices", default="cpu")
    parser.add_argument("--ways", default=",".join(WAYS))
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
    for repeat in range(args.repeats):
        for way in ways:
            done = subprocess.run(
                [*base, "--one", way],
                capture_output=True,
                text=True,
                check=False,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
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
    print(
        f"\n{args.trials} trials of {args.epochs} epochs on {args.points} points, "
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
