"""The sections of bench/gpu.sh, each appending one JSON line to the results file.

    python bench/gpu_checks.py SECTION --out FILE --work DIR [--quick] [--dry-run]
    python bench/gpu_checks.py record --out FILE --section NAME --status STATUS ...

SECTION is one of ``environment``, ``tests``, ``two_slots``, ``out_of_memory``, ``bench``.
Each line is an object: ``section``, ``status`` (passed, failed, timeout, skipped or
dry-run), ``seconds``, ``command`` (what it ran) and ``figures`` (what it measured).
With ``--dry-run`` a section does what needs no GPU (it writes and loads its study
files, collects the tests) and records what it would run.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ("environment", "tests", "two_slots", "out_of_memory", "bench")
STATUSES = ("passed", "failed", "timeout", "skipped", "dry-run")

# Two worker slots on one GPU: trials long enough to overlap.
TWO_SLOTS = """
[study]
name = "two_slots"
trials = {trials}
pruner = "none"
sampler = "random"
[data]
source = "moons"
n_samples = 20000
[train]
epochs = 10
[space]
depth = 2
width = [64, 128]
optimizer = "adam"
lr = 0.01
batch_size = 64
"""

# Full-batch training of 200,000 points: width 1,000,000 needs about 800 GB of activations
# (no GPU holds it); width 8 trains normally, on the same workers, after it.
OUT_OF_MEMORY = """
[study]
name = "out_of_memory"
trials = {trials}
pruner = "none"
sampler = "random"
seed = 0
[data]
source = "moons"
n_samples = 200000
[train]
epochs = 1
[space]
depth = 1
width = [8, 1000000]
optimizer = "adam"
lr = 0.01
batch_size = 200000
"""


def record(out: Path, section: str, status: str, seconds: float, command: str, **figures: Any):
    """Append one section's line to ``out``."""
    if status not in STATUSES:
        raise ValueError(f"status {status!r}; valid: {', '.join(STATUSES)}")
    line = {
        "section": section,
        "status": status,
        "seconds": round(seconds, 2),
        "command": command,
        "figures": figures,
    }
    with out.open("a") as fh:
        fh.write(json.dumps(line, sort_keys=True) + "\n")


def _env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{path}" if path else str(ROOT)}


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=_env(), capture_output=True, text=True)


def _tail(text: str, lines: int = 5) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def write_study(work: Path, name: str, trials: int) -> Path:
    """Write the study file of a section and check that sweep reads it."""
    import sweep

    template = {"two_slots": TWO_SLOTS, "out_of_memory": OUT_OF_MEMORY}[name]
    path = work / f"{name}.toml"
    path.write_text(template.format(trials=trials))
    sweep.load_spec(path)  # a bad file fails here, before any GPU time
    return path


def _two_workers(args: argparse.Namespace, name: str, trials: int) -> list[str]:
    """Write the study ``name`` and return the command that runs it on two worker slots
    of the first GPU, one trial at a time each, into its own SQLite file."""
    path = write_study(args.work, name, trials)
    url = f"sqlite:///{args.work / (name + '.db')}"
    options = ["--devices", "cuda:0", "--per-device", "2", "--pack", "1", "--quiet"]
    command = [sys.executable, "-m", "sweep", "run", str(path), "--storage", url]
    return [*command, *options, "--no-report"]


def _trials(work: Path, name: str) -> list[Any]:
    import optuna

    url = f"sqlite:///{work / (name + '.db')}"
    return optuna.load_study(study_name=name, storage=url).get_trials(deepcopy=False)


def environment(args: argparse.Namespace) -> tuple[str, str, dict[str, Any]]:
    import torch

    figures: dict[str, Any] = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "devices": torch.cuda.device_count() if torch.cuda.is_available() else 0,
    }
    if figures["devices"]:
        free, total = torch.cuda.mem_get_info(0)
        props = torch.cuda.get_device_properties(0)
        figures.update(name=props.name, total_gib=total / 2**30, free_gib=free / 2**30)
    return "passed", "torch.cuda", figures


def tests(args: argparse.Namespace) -> tuple[str, str, dict[str, Any]]:
    junit = args.work / "tests.xml"
    command = [sys.executable, "-m", "pytest", "-q", "-m", "gpu", "-p", "no:cacheprovider"]
    command += ["tests", f"--junitxml={junit}"]
    if args.dry_run:
        done = _run([*command[:-1], "--collect-only"], ROOT)
        collected = done.stdout.count("::")
        return "dry-run", shlex.join(command), {"collected": collected}
    done = _run(command, ROOT)
    suite = ET.parse(junit).getroot()
    suite = suite if suite.tag == "testsuite" else suite[0]
    counts = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    status = "passed" if done.returncode == 0 and counts["skipped"] == 0 else "failed"
    return status, shlex.join(command), {**counts, "tail": _tail(done.stdout)}


def two_slots(args: argparse.Namespace) -> tuple[str, str, dict[str, Any]]:
    trials = 4 if args.quick else 8
    command = _two_workers(args, "two_slots", trials)
    if args.dry_run:
        return "dry-run", shlex.join(command), {"trials": trials}
    start = time.perf_counter()
    done = _run(command, args.work)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        return "failed", shlex.join(command), {"exit": done.returncode, "tail": _tail(done.stderr)}
    complete = [t for t in _trials(args.work, "two_slots") if t.state.name == "COMPLETE"]
    workers = sorted({t.user_attrs.get("worker", "") for t in complete})
    spans = [(t.datetime_start, t.datetime_complete, t.user_attrs.get("worker")) for t in complete]
    overlap = max(
        (
            (min(a[1], b[1]) - max(a[0], b[0])).total_seconds()
            for i, a in enumerate(spans)
            for b in spans[i + 1 :]
            if a[2] != b[2]
        ),
        default=0.0,
    )
    ok = len(complete) == trials and len(workers) == 2 and overlap > 0
    figures = {
        "complete": len(complete),
        "workers": workers,
        "longest_overlap_s": round(overlap, 2),
        "wall_s": round(wall, 2),
        "trials_per_minute": round(60 * len(complete) / wall, 1),
    }
    return ("passed" if ok else "failed"), shlex.join(command), figures


def out_of_memory(args: argparse.Namespace) -> tuple[str, str, dict[str, Any]]:
    trials = 4 if args.quick else 6
    command = _two_workers(args, "out_of_memory", trials)
    if args.dry_run:
        return "dry-run", shlex.join(command), {"trials": trials}
    done = _run(command, args.work)
    trials_run = _trials(args.work, "out_of_memory")
    failed = [t for t in trials_run if t.state.name == "FAIL"]
    complete = [t for t in trials_run if t.state.name == "COMPLETE"]
    reasons = sorted({t.user_attrs.get("fail_reason", "")[:120] for t in failed})
    # The memory went back: a worker that ran out trained a small trial after it.
    after = {
        t.user_attrs.get("worker_pid")
        for t in complete
        for f in failed
        if t.user_attrs.get("worker_pid") == f.user_attrs.get("worker_pid")
        and t.datetime_start > f.datetime_start
    }
    ok = (
        bool(failed)
        and all("out of memory" in r for r in reasons)
        and all(t.params["width"] == 1000000 for t in failed)
        and len(complete) == trials
        and all(t.params["width"] == 8 for t in complete)
        and bool(after)
    )
    figures = {
        "exit": done.returncode,
        "failed": len(failed),
        "complete": len(complete),
        "reasons": reasons,
        "workers_that_went_on": len(after),
    }
    return ("passed" if ok else "failed"), shlex.join(command), figures


def bench(args: argparse.Namespace) -> tuple[str, str, dict[str, Any]]:
    packs = [64] if args.quick else [64, 512]
    results = args.work / "bench"
    commands = [
        [sys.executable, str(ROOT / "bench" / "run.py"), "--study", str(ROOT / "bench/mnist.toml")]
        + ["--devices", "cuda", "--modes", "packed", "--pack", str(k), "--trials", str(2 * k)]
        + ["--repeats", "1", "--results", str(results / str(k))]
        for k in packs
    ]
    text = " ; ".join(shlex.join(c) for c in commands)
    if args.dry_run:
        return "dry-run", text, {"packs": packs}
    rows: list[dict[str, Any]] = []
    for k, command in zip(packs, commands):
        done = _run(command, ROOT)
        if done.returncode != 0:
            return "failed", text, {"pack": k, "exit": done.returncode, "tail": _tail(done.stderr)}
        for path in sorted((results / str(k)).glob("*.csv")):
            with path.open() as fh:
                for row in csv.DictReader(fh):
                    rows.append({key: _number(value) for key, value in row.items() if value})
    return "passed", text, {"runs": rows}


def _number(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        try:
            return round(float(text), 4)
        except ValueError:
            return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("section", choices=[*SECTIONS, "record"])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--work", type=Path, default=Path("."))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--dry-run", action="store_true")
    # for ``record``: a line bench/gpu.sh writes itself (a section past its time limit)
    parser.add_argument("--section", dest="name", default="")
    parser.add_argument("--status", choices=STATUSES, default="failed")
    parser.add_argument("--seconds", type=float, default=0.0)
    parser.add_argument("--command", default="")
    parser.add_argument("--figures", default="{}", help="a JSON object")
    args = parser.parse_args(argv)
    if args.section == "record":
        record(
            args.out, args.name, args.status, args.seconds, args.command, **json.loads(args.figures)
        )
        return 0
    args.work.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    status, command, figures = globals()[args.section](args)
    record(args.out, args.section, status, time.perf_counter() - start, command, **figures)
    print(f"{args.section}: {status} {json.dumps(figures)[:300]}", flush=True)
    return 0 if status in ("passed", "dry-run") else 1


if __name__ == "__main__":
    sys.exit(main())
