"""How far past its time limit a run ends, against the length of one epoch.

    python bench/timeout.py [--repeats 3] [--limit 20] [--mnist-limit 30]

Two workloads, each with a budget of 1000 trials so that the limit ends the run:
``studies/default.toml`` as ``make sweep`` runs it (packs of 20-epoch trials on the half
moons), and ``bench/mnist.toml`` (MNIST-sized trials of 5 epochs,
one at a time; random data of MNIST's shape where the images are not on disk). Each
run is ``run_study(..., timeout=LIMIT)`` on a fresh SQLite file, in this process; the
time is taken from the call to its return, so it holds everything a user waits for.
It prints, per workload, the limit, the median time past it and its range over the
repeats, and the median epoch of the run's complete trials (their training time over
their epochs; for a pack, the pack's epoch): a run ends at the next epoch boundary
after the limit, so the time past it should stay under one epoch and the writes after.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

import optuna
from optuna.trial import TrialState

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import load_bench_spec  # noqa: E402

import sweep  # noqa: E402


def one_run(spec, limit: float, pack: int | str) -> tuple[float, float | None, str]:
    """(seconds past the limit, median epoch seconds of the complete trials, why it ended)."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/t.db"
        start = time.monotonic()
        summary = sweep.run_study(spec, storage=url, timeout=limit, pack=pack, display="none")
        past = time.monotonic() - start - limit
        trials = optuna.load_study(study_name=spec.name, storage=url).get_trials(deepcopy=False)
    epochs = [
        t.user_attrs["train_seconds"] / t.user_attrs["epochs_run"]
        for t in trials
        if t.state == TrialState.COMPLETE and t.user_attrs.get("epochs_run")
    ]
    return past, statistics.median(epochs) if epochs else None, summary.stopped


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--limit", type=float, default=20.0, help="seconds, default study")
    parser.add_argument("--mnist-limit", type=float, default=30.0, help="seconds, MNIST-sized")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    default = sweep.load_spec(str(HERE.parent / "studies" / "default.toml"))
    mnist, note = load_bench_spec(str(HERE / "mnist.toml"))
    if note:
        print(f"note: {note}")
    # Budgets of 1000 trials, so that the limit ends each run, not the budget.
    default, mnist = (
        dataclasses.replace(s, study=dataclasses.replace(s.study, trials=1000))
        for s in (default, mnist)
    )
    cases = [
        ("default (pack auto)", default, args.limit, "auto"),
        ("bench/mnist.toml (pack 1)", mnist, args.mnist_limit, 1),
    ]
    results: dict[str, list[tuple[float, float | None, str]]] = {name: [] for name, *_ in cases}
    for _ in range(args.repeats):  # the workloads interleaved over the repeats
        for name, spec, limit, pack in cases:
            results[name].append(one_run(spec, limit, pack))

    print("| workload | limit (s) | past the limit, median (s) | range (s) | epoch (s) | ended |")
    print("|---|---|---|---|---|---|")
    for name, _spec, limit, _pack in cases:
        runs = results[name]
        past = [r[0] for r in runs]
        epochs = [r[1] for r in runs if r[1] is not None]
        epoch = f"{statistics.median(epochs):.2f}" if epochs else "-"
        ended = ", ".join(sorted({r[2] for r in runs}))
        print(
            f"| {name} | {limit:g} | {statistics.median(past):.2f} | "
            f"{min(past):.2f} .. {max(past):.2f} | {epoch} | {ended} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
