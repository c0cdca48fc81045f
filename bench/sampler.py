"""What choosing and recording a trial costs: Optuna's TPE on its in-memory storage
against sweep's SQLite storage, side by side in one process.

    python bench/sampler.py [--trials 200]

Runs the bench study's space through ask, sweep's sampling of a configuration, and
tell, one trial at a time, on each storage; prints the median milliseconds per trial
of each part over the second half of the trials (where TPE models the results).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import optuna

import sweep
from sweep.space import sample_config
from sweep.storage import open_storage
from sweep.study import build_sampler

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description="per-trial cost of sampling and storage")
    parser.add_argument("--trials", type=int, default=200)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spec = sweep.load_spec(HERE / "bench.toml")
    print(f"{args.trials} trials, median ms per trial over the second half")
    print(f"{'storage':10s}{'ask':>8s}{'sample':>8s}{'tell':>8s}{'total':>8s}")
    with tempfile.TemporaryDirectory() as tmp:
        storages = {
            "memory": optuna.storages.InMemoryStorage(),
            "sqlite": open_storage(f"sqlite:///{tmp}/s.db", create=True),
        }
        for name, storage in storages.items():
            study = optuna.create_study(
                storage=storage, sampler=build_sampler(spec.study), direction="maximize"
            )
            parts: list[tuple[float, float, float]] = []
            for i in range(args.trials):
                t0 = time.perf_counter()
                trial = study.ask()
                t1 = time.perf_counter()
                sample_config(spec.space, trial)
                t2 = time.perf_counter()
                study.tell(trial, 0.5 + 0.01 * (i % 37))  # a fixed, varied objective
                t3 = time.perf_counter()
                parts.append((t1 - t0, t2 - t1, t3 - t2))
            late = parts[args.trials // 2 :]
            med = [1000 * statistics.median(p[j] for p in late) for j in range(3)]
            print(f"{name:10s}" + "".join(f"{m:8.1f}" for m in med) + f"{sum(med):8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
