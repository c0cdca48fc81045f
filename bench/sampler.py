"""What choosing and recording a trial costs: Optuna's TPE against sweep's (which draws
the same parameters), on Optuna's in-memory storage and on sweep's SQLite storage, side
by side in one process.

    python bench/sampler.py [--trials 500]
    python bench/sampler.py --cdf [--trials 500]
    python bench/sampler.py --pack 256 [--finished 1000] [--repeats 3]

Runs the bench study's space through ask, sweep's sampling of a configuration, and
tell, one trial at a time, for each storage and sampler; prints the median milliseconds
per trial of each part over the second half of the trials (where TPE models the
results), the ratio of the total to Optuna's TPE on the same storage, and whether the
two samplers drew the same parameters (the same choices, numbers equal to their last
digits: sweep's normal CDF and log-CDF agree with Optuna's to 4e-13).

With ``--cdf`` it measures what SciPy's normal CDF and log-CDF save sweep's TPE: on a
study of ``--trials`` finished trials, it samples the next trial's parameters over and
over, in turn with Optuna's element-by-element functions, with SciPy's log-CDF only
and with both SciPy's, and prints the median milliseconds of each, their ratio to the
first, and whether the draws agree.

With ``--pack K`` it measures sampling a pack: on a study of ``--finished`` finished
trials it samples packs of 1, 16, 64 ... up to K trials through a ``PackView`` (as the
coordinator does, each member seeing the ones before it running), in turn at once (as
sweep's TPE samples a pack) and one by one (each member sampled alone, Optuna's constant
liar), and prints the median milliseconds per member of each: the process's CPU time
(sampling runs on one thread; on a shared machine the wall time counts the others' work
too), and the wall time. Of the packs of K it prints
how many members are distinct and their mean pairwise distance in TPE's internal
representation: Euclidean, each parameter one dimension scaled to 0..1 across its range
(the log of the value for a log range), a categorical one 0 where two members agree and
1 where they differ, and a parameter one member has and the other lacks (a conditional
one) 1.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import optuna
from optuna.samplers._tpe import _truncnorm

import sweep
from sweep.space import sample_config
from sweep.storage import open_storage
from sweep.study import build_sampler
from sweep.study._optuna_internals import vectorised_normal_cdf

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description="per-trial cost of sampling and storage")
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--cdf", action="store_true", help="SciPy's normal CDF against Optuna's")
    parser.add_argument("--repeats", type=int, help="samples of each (--cdf: 300, --pack: 3)")
    parser.add_argument("--pack", type=int, help="largest pack to sample at once and one by one")
    parser.add_argument("--finished", type=int, default=1000, help="finished trials, with --pack")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spec = sweep.load_spec(HERE / "bench.toml")
    if args.cdf:
        return compare_cdf(spec, args.trials, args.repeats or 300)
    if args.pack:
        return compare_packs(spec, args.pack, args.finished, args.repeats or 3)
    print(f"{args.trials} trials, median ms per trial over the second half")
    print(
        f"{'storage':10s}{'sampler':10s}{'ask':>8s}{'sample':>8s}{'tell':>8s}{'total':>8s}{'x':>7s}"
    )
    samplers = {
        "optuna": lambda: optuna.samplers.TPESampler(**sampler_args(spec)),
        "sweep": lambda: build_sampler(spec.study, spec.space),
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
    at most a relative ``worst`` (sweep's TPE takes the normal CDF and log-CDF from SciPy,
    which agree with Optuna's to 4e-13, so drawn numbers may differ in their last digits)."""
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


def compare_cdf(spec, n: int, repeats: int) -> int:
    """Sample one trial's parameters ``repeats`` times each way, interleaved, against one
    study of ``n`` finished trials, each way from the same random state: sweep's TPE with
    Optuna's normal CDF and log-CDF, with SciPy's log-CDF only, and with both SciPy's (as
    sweep samples)."""
    sampler = build_sampler(spec.study, spec.space)
    study = optuna.create_study(sampler=sampler, direction="maximize")
    run(study, spec, n)
    trial = study._storage.get_trial(study.ask()._trial_id)
    space = sampler.infer_relative_search_space(study, trial)
    optunas_cdf = _truncnorm._ndtr

    def log_only() -> dict:
        with vectorised_normal_cdf():
            _truncnorm._ndtr = optunas_cdf
            return sampler._sample_kept(study, trial, space)

    ways = {
        "Optuna's CDF and log-CDF": lambda: sampler._sample_kept(study, trial, space),
        "SciPy's log-CDF only": log_only,
        "SciPy's CDF and log-CDF": lambda: sampler._sample(study, trial, space),
    }
    drawn: dict[str, list[dict]] = {name: [] for name in ways}
    times: dict[str, list[float]] = {name: [] for name in ways}
    rng = sampler._rng.rng
    for _ in range(repeats):
        state = rng.get_state()
        for name, sample in ways.items():
            rng.set_state(state)
            t0 = time.perf_counter()
            drawn[name].append(sample())
            times[name].append(time.perf_counter() - t0)
    med = {name: 1000 * statistics.median(t) for name, t in times.items()}
    first = next(iter(med.values()))
    print(f"sampling a trial after {n} finished ones, median of {repeats} each, interleaved")
    for name, ms in med.items():
        print(f"  {name:26s}{ms:8.3f} ms{first / ms:6.2f}x")
    last = list(drawn.values())
    for name, draws in list(drawn.items())[1:]:
        print(f"  {name}, against Optuna's: {agreement(draws, last[0])}")
    return 0


def compare_packs(spec, largest: int, finished: int, repeats: int) -> int:
    """Packs of 1, 16, 64 ... ``largest`` members sampled at once and one by one, against
    one study of ``finished`` trials, ``repeats`` times each, interleaved."""
    from sweep.study import PackView

    sampler = build_sampler(spec.study, spec.space)
    study = optuna.create_study(sampler=sampler, direction="maximize")
    run(study, spec, finished)
    sizes = sorted({k for k in (1, 16, 64, 256) if k < largest} | {largest})
    ways = {"at once": True, "one by one": False}
    times: dict[tuple[str, int], list[tuple[float, float]]] = {}
    last: dict[str, list[dict]] = {}
    for _ in range(repeats):
        for k in sizes:
            for way, at_once in ways.items():
                sampler.pack_at_once = at_once
                view = PackView(study, {})
                ids = view.imagine(k, [])
                wall, cpu = time.perf_counter(), time.process_time()
                trials, _ = view.sample(spec.space, ids)
                cost = ((time.process_time() - cpu) / k, (time.perf_counter() - wall) / k)
                times.setdefault((way, k), []).append(cost)
                if k == largest:
                    last[way] = [t.params for t in trials]
    print(
        f"a pack sampled after {finished} finished trials: median ms per member of {repeats}, "
        "the process's CPU time (and wall time)"
    )
    print(f"{'K':>6s}" + "".join(f"{way:>22s}" for way in ways) + f"{'x':>8s}")
    for k in sizes:
        cpu = [1000 * statistics.median(c for c, _ in times[(way, k)]) for way in ways]
        wall = [1000 * statistics.median(w for _, w in times[(way, k)]) for way in ways]
        cells = "".join(f"{c:12.3f} ({w:7.3f})" for c, w in zip(cpu, wall))
        print(f"{k:6d}{cells}{cpu[1] / cpu[0]:7.1f}x")
    space = study.trials[-1].distributions | {
        name: d for t in study.trials for name, d in t.distributions.items()
    }
    print(f"the last packs of {largest}: distinct members, mean pairwise distance")
    for way, members in last.items():
        distinct = len({tuple(sorted(m.items())) for m in members})
        print(f"  {way:12s}{distinct:5d} of {largest}{mean_distance(members, space):10.3f}")
    return 0


def mean_distance(members: list[dict], space: dict) -> float:
    """The mean Euclidean distance between members in TPE's internal representation (see
    the module's docstring)."""
    names = sorted(space)
    rows = np.full((len(members), len(names)), np.nan)
    for i, params in enumerate(members):
        for j, name in enumerate(names):
            if name in params:
                d = space[name]
                x = d.to_internal_repr(params[name])
                if isinstance(d, optuna.distributions.CategoricalDistribution):
                    rows[i, j] = x
                else:
                    low, high, x = (np.log(v) if d.log else v for v in (d.low, d.high, x))
                    rows[i, j] = (x - low) / (high - low)
    categorical = np.array(
        [isinstance(space[n], optuna.distributions.CategoricalDistribution) for n in names]
    )
    total, pairs = 0.0, 0
    for i in range(len(members)):
        a, b = rows[i], rows[i + 1 :]
        diff = np.where(categorical, (a != b).astype(float), np.abs(a - b))
        diff = np.where(
            np.isnan(a) & np.isnan(b), 0.0, np.where(np.isnan(a) | np.isnan(b), 1.0, diff)
        )
        total += float(np.sqrt((diff**2).sum(axis=1)).sum())
        pairs += len(b)
    return total / max(pairs, 1)


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
