"""What timing every complete trial's inference costs a study, against its wall time.

    python bench/latency.py [--study studies/default.toml] [--runs 1] [--trials N]
                            [--devices cpu]

Each run is ``run_study`` of the study (``make sweep``'s, by default) on a fresh SQLite
file in a temporary folder, in this process, timed from the call to its return. Each
complete trial records how long its own latency measurement took
(``latency_measure_seconds``, from ``sweep.train._latency``: building its MLP, the
warm-ups and the timed calls); their sum over the run's wall time is the share of the
study spent measuring latency. With several slots the measurements overlap, so that
share is an upper bound. It prints one Markdown row per run: complete trials, wall
time, time measuring, the share, and the median latency_ms and latency_batch_ms.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

import optuna
from optuna.trial import TrialState

import sweep
from sweep.train._latency import REPEATS, WARMUP

HERE = Path(__file__).resolve().parent


@dataclasses.dataclass(frozen=True)
class Run:
    """One run of the study: its wall time and its complete trials' latency attributes."""

    wall: float
    measured: list[float]  # latency_measure_seconds per complete trial
    one_ms: list[float]
    batch_ms: list[float]


def one_run(spec: sweep.StudySpec, devices: str | None) -> Run:
    """Run ``spec`` on a fresh SQLite file and read its complete trials back."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/latency.db"
        start = time.perf_counter()
        sweep.run_study(spec, storage=url, devices=devices, display="none")
        wall = time.perf_counter() - start
        trials = optuna.load_study(study_name=spec.name, storage=url).get_trials(deepcopy=False)
    done = [t.user_attrs for t in trials if t.state == TrialState.COMPLETE]
    return Run(
        wall,
        [a["latency_measure_seconds"] for a in done],
        [a["latency_ms"] for a in done],
        [a["latency_batch_ms"] for a in done],
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--study", default=str(HERE.parent / "studies" / "default.toml"))
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--trials", type=int, default=None, help="override study.trials")
    parser.add_argument("--devices", default=None, help="as sweep run --devices")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spec = sweep.load_spec(args.study)
    if args.trials is not None:
        spec = dataclasses.replace(spec, study=dataclasses.replace(spec.study, trials=args.trials))

    print(f"{spec.name}: {WARMUP} warm-up and {REPEATS} timed calls per figure")
    print("| run | complete | wall (s) | measuring (s) | share | latency_ms | latency_batch_ms |")
    print("|---|---|---|---|---|---|---|")
    for i in range(args.runs):
        run = one_run(spec, args.devices)
        measured = sum(run.measured)
        one = statistics.median(run.one_ms) if run.one_ms else float("nan")
        batch = statistics.median(run.batch_ms) if run.batch_ms else float("nan")
        print(
            f"| {i + 1} | {len(run.measured)} | {run.wall:.1f} | {measured:.3f} | "
            f"{measured / run.wall:.2%} | {one:.3g} | {batch:.3g} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
