"""Does a worker's memory stay flat? Runs a sweep of short trials on worker processes and
reads each worker's resident memory (VmRSS) after 50 and after N finished trials.

    python bench/memory.py [--trials 500] [--workers 2]

Prints one line per worker and exits non-zero if any grew by more than 10%.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
from optuna.trial import TrialState

STUDY = """
[study]
name = "memory"
trials = {trials}
pruner = "median"
seed = 0
[data]
source = "moons"
n_samples = 300
[train]
epochs = 3
[space]
depth = {{ low = 1, high = 3 }}
width = {{ low = 4, high = 64, log = true }}
activation = ["relu", "tanh", "split", "sum"]
loss = ["bce", "mse", "quartic"]
optimizer = ["sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta"]
lr = {{ low = 1e-4, high = 1e-1, log = true }}
batch_size = 32
"""


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--early", type=int, default=50)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sweep-memory-"))
    (work / "memory.toml").write_text(STUDY.format(trials=args.trials))
    url = f"sqlite:///{work / 'sweeps.db'}"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sweep",
            "run",
            "memory.toml",
            "--storage",
            url,
            "--per-device",
            str(args.workers),
            "--pack",
            "1",
            "--quiet",
            "--no-report",
        ],
        cwd=work,
    )
    early: dict[int, int] = {}
    late: dict[int, int] = {}
    done = 0
    while proc.poll() is None:
        time.sleep(0.5)
        try:
            ts = optuna.load_study(study_name="memory", storage=url).get_trials(deepcopy=False)
        except KeyError:
            continue
        done = sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in ts)
        pids = {int(t.user_attrs["worker_pid"]) for t in ts if "worker_pid" in t.user_attrs}
        for pid in pids:
            try:
                if done >= args.early and pid not in early:
                    early[pid] = rss_kib(pid)
                if done >= args.trials - 2 * args.workers:
                    late[pid] = rss_kib(pid)
            except (OSError, RuntimeError):
                pass
    print(f"finished {done} trials (exit {proc.returncode}) in {work}")
    worst = 0.0
    for pid in sorted(early):
        if pid in late:
            growth = late[pid] / early[pid] - 1
            worst = max(worst, growth)
            print(
                f"worker {pid}: {early[pid] / 1024:.1f} MiB after {args.early} trials, "
                f"{late[pid] / 1024:.1f} MiB near {args.trials}: {growth:+.1%}"
            )
    return 0 if worst <= 0.10 and late else 1


if __name__ == "__main__":
    sys.exit(main())
