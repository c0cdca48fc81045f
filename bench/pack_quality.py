"""Search quality of a pack sampled at once against its members sampled one by one.

    python bench/pack_quality.py [--trials 200] [--seeds 5] [--pack 16] [--epochs 5]
                                 [--studies bench/bench.toml,studies/digits.toml]

For each study, each seed runs twice at an equal budget of finished trials, packs of
``--pack`` trials on the CPU: once as sweep samples a pack (TPE fits its estimators once
per pack and scores every member's candidates together), once with each member sampled
by itself seeing the ones before it (Optuna's constant liar, one member at a time). Both
arms train for ``--epochs`` epochs (an override, downward, of the study's own, the same
for both), each run in a fresh process on a fresh SQLite file. Prints the best
validation value of every seed, and per arm the median and the spread (min..max).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
WAYS = ("pack", "one by one")


def one(study: str, seed: int, way: str, trials: int, pack: int, epochs: int) -> float:
    """One run: its best validation value."""
    import optuna

    import sweep
    from sweep.study._optuna_internals import TPESampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    TPESampler.pack_at_once = way == "pack"
    spec = sweep.load_spec(study)
    spec = dataclasses.replace(spec, train=dataclasses.replace(spec.train, epochs=epochs))
    with tempfile.TemporaryDirectory() as tmp:
        summary = sweep.run_study(
            spec,
            storage=f"sqlite:///{tmp}/q.db",
            n_trials=trials,
            seed=seed,
            devices="cpu",
            pack=pack,
            display="none",
        )
    assert summary.best_value is not None
    return summary.best_value


def main() -> int:
    parser = argparse.ArgumentParser(description="pack sampling's search quality")
    parser.add_argument("--studies", default=f"{HERE / 'bench.toml'},studies/digits.toml")
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--pack", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--one", nargs=3, help=argparse.SUPPRESS)  # study seed way
    args = parser.parse_args()
    if args.one:
        study, seed, way = args.one
        print(json.dumps(one(study, int(seed), way, args.trials, args.pack, args.epochs)))
        return 0
    base = [sys.executable, str(Path(__file__).resolve())]
    for flag in ("trials", "pack", "epochs"):
        base += [f"--{flag}", str(getattr(args, flag))]
    for study in args.studies.split(","):
        best: dict[str, list[float]] = {way: [] for way in WAYS}
        for seed in range(args.seeds):
            for way in WAYS:
                done = subprocess.run(
                    [*base, "--one", study, str(seed), way],
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if done.returncode != 0:
                    raise SystemExit(f"bench: {study} seed {seed} {way} failed:\n{done.stderr}")
                best[way].append(json.loads(done.stdout.strip().splitlines()[-1]))
                print(f"  {study} seed {seed} {way:10s} best {best[way][-1]:.4f}", flush=True)
        print(
            f"\n{study}: {args.trials} trials in packs of {args.pack}, {args.epochs} epochs, "
            f"best validation value per seed (0..{args.seeds - 1})"
        )
        print(f"{'way':12s}{'per seed':>{8 * args.seeds}s}{'median':>9s}{'spread':>16s}")
        for way, values in best.items():
            cells = "".join(f"{v:8.4f}" for v in values)
            spread = f"{min(values):.4f}..{max(values):.4f}"
            print(f"{way:12s}{cells}{statistics.median(values):9.4f}{spread:>16s}")
        print(flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
