"""What choosing and recording a trial costs: Optuna's TPE against sweep's (which draws
the same parameters), on Optuna's in-memory storage and on sweep's SQLite storage, side
by side in one process.

    python bench/sampler.py [--trials 500]

Runs the bench study's space through ask, sweep's sampling of a configuration, and
tell, one trial at a time, for each storage and sampler; prints the median milliseconds
per trial of each part over the second half of the trials (where TPE models the
results), the ratio of the total to Optuna's TPE on the same storage, and whether the
two samplers drew the same parameters (the same choices, numbers equal to their last
digits: sweep's normal log-CDF agrees with Optuna's to 4e-13).
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
    parser.add_argument("--trials", type=int, default=500)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spec = sweep.load_spec(HERE / "bench.toml")
    print(f"{args.trials} trials, median ms per trial over the second half")
    print(
        f"{'storage':10s}{'sampler':10s}{'ask':>8s}{'sample':>8s}{'tell':>8s}{'total':>8s}{'x':>7s}"
    )
    samplers = {
        "optuna": lambda: optuna.samplers.TPESampler(**sampler_args(spec)),
        "sweep": lambda: build_sampler(spec.study),
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("memory", "sqlite"):
            drawn, totals = {}, {}
            for label, make in samplers.items():
                storage = (
                    optuna.storages.InMemoryStorage()
                    if name == "memory"
                    else open_storage(f"sqlite:///{tmp}/{label}.db", create=True)
                )
                sampler = make()
                study = optuna.create_study(storage=storage, sampler=sampler, direction="maximize")
                parts = run(study, spec, args.trials)
                drawn[label] = [t.params for t in study.get_trials()]
                late = parts[args.trials // 2 :]
                med = [1000 * statistics.median(p[j] for p in late) for j in range(3)]
                totals[label] = sum(med)
                ratio = totals["optuna"] / totals[label]
                cells = "".join(f"{m:8.1f}" for m in med) + f"{sum(med):8.1f}{ratio:6.1f}x"
                print(f"{name:10s}{label:10s}{cells}", flush=True)
            print(f"{name:10s}{agreement(drawn['optuna'], drawn['sweep'])}")
    return 0


def sampler_args(spec) -> dict:
    """The arguments ``build_sampler`` gives sweep's TPE, for Optuna's (were they to differ,
    the two would not draw the same parameters, and the script says so)."""
    return dict(
        seed=spec.study.seed, n_startup_trials=spec.study.sampler_startup, constant_liar=True
    )


def agreement(ours: list[dict], theirs: list[dict]) -> str:
    """How far apart two samplers' draws are: the same choices, and numbers that differ by
    at most a relative ``worst`` (sweep's TPE takes the normal log-CDF from SciPy, which
    agrees with Optuna's to 4e-13, so drawn numbers may differ in their last digits)."""
    worst = 0.0
    for a, b in zip(ours, theirs, strict=True):
        if a.keys() != b.keys():
            return "the two samplers drew DIFFERENT parameters"
        for name, x in a.items():
            y = b[name]
            if isinstance(x, str) or isinstance(y, str):
                if x != y:
                    return f"the two samplers drew DIFFERENT {name} values"
            elif x != y:
                worst = max(worst, abs(x - y) / max(abs(x), abs(y)))
    if worst > 1e-9:
        return f"the two samplers drew DIFFERENT numbers (relative difference {worst:.1e})"
    return f"the two samplers drew the same parameters (numbers within {worst:.1e} relative)"


def run(study: optuna.Study, spec, n: int) -> list[tuple[float, float, float]]:
    """Ask, sample and tell ``n`` trials; the seconds of each part per trial."""
    parts = []
    for i in range(n):
        t0 = time.perf_counter()
        trial = study.ask()
        t1 = time.perf_counter()
        sample_config(spec.space, trial)
        t2 = time.perf_counter()
        study.tell(trial, 0.5 + 0.01 * (i % 37))  # a fixed, varied objective
        t3 = time.perf_counter()
        parts.append((t1 - t0, t2 - t1, t3 - t2))
    return parts


if __name__ == "__main__":
    sys.exit(main())
