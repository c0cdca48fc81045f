"""sweep against a plain Optuna loop, side by side in one invocation.

    python bench/run.py [--trials 100] [--repeats 3] [--modes baseline,alone,packed,...]
    python bench/run.py --overhead 1000      # coordinator share at 1000 short trials
                                             # (sampling in turn, then ahead; 2 epochs
                                             # on 300 points, or --epochs, --points)
    python bench/run.py --study bench/mnist.toml --trials 20 --repeats 1
                                             # MNIST-sized trials (on a GPU: --devices cuda)
    python bench/run.py --study bench/mnist.toml --devices cuda --modes packed --pack 512 \
        --trials 1024 --repeats 1            # packs of 512 (--pack: the packed modes' size)
    python bench/run.py --study bench/random.toml --modes packed --pack 25,64,100
                                             # the packed modes at each size, interleaved

Every mode runs the same study (bench/bench.toml: search space, data split, epochs,
batch size 64, sampler, pruner and seed) on the same device (--devices):

  baseline        a hand-written objective in the tutorials' style (bench/baseline.py):
                  nn.Sequential, DataLoader(batch_size=64, shuffle=True), in-memory storage
  alone           sweep, one trial at a time in one process (pack 1)
  workers         sweep's dispatcher: one worker process per core (pack 1)
  packed          sweep, trials trained together in packs (pack auto), one process
  packed-workers  packs on one worker process per core
  packed-ahead    packed, each next pack sampled in a second process meanwhile
                  (``--sample-ahead``; not in the default modes, see --overhead)

A study on MNIST or FashionMNIST (bench/mnist.toml) reads the images where they are
on disk (<data_dir>/MNIST/raw/, never downloaded here) and otherwise trains on random
data of the same shape (54,000 training and 6,000 validation samples of 784 features,
10 classes; it says so).

Each run is its own Python process (so no mode inherits another's imports, caches or
heap), timed inside that process; the modes are interleaved over the repeats.
For each mode it prints trials per minute (median of the repeats), the ratio to
the baseline's median, the best objective value (median of the repeats), and for
sweep the coordinator's share of wall time (sampler, storage and dispatch; on
worker processes it overlaps training) and the sampler's part of it, and the useful
arithmetic rate (GFLOP/s) with its share of two roofs measured in the same run, each
repeat in a fresh process of its own before the modes: a 2048 x 2048 float32 matrix
product on the device, and whole training steps (zero the gradients, forward, loss,
backward, Adam's step) of the space's largest network alone at the study's batch size,
its FLOPs counted as the trials' are. Every repeat is written to
bench/results/<date>.csv (--results DIR for another folder). On a GPU it
also prints the peak GPU memory and the memory per trial (the peak less the data kept
on the device, over the largest pack; runs in this process only, not on workers).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from baseline import run_baseline  # noqa: E402

import sweep  # noqa: E402
from sweep._choices import DEFAULT_LOSS  # noqa: E402
from sweep.config import DataSpec  # noqa: E402
from sweep.data import load_data  # noqa: E402
from sweep.data._synthetic import RandomClassificationOptions  # noqa: E402
from sweep.data._vision import RAW_FILES, raw_folder  # noqa: E402
from sweep.dispatch._devices import (  # noqa: E402
    available_cores,
    largest_network,
    resolve_devices,
)
from sweep.model import parameter_count  # noqa: E402
from sweep.space import TrialConfig  # noqa: E402
from sweep.train import ModuleRunner, TrainSettings, TrialTask  # noqa: E402

VISION = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}
MATMUL_SIZE = 2048  # the roof's matrix product: MATMUL_SIZE x MATMUL_SIZE, float32
ROOF_TIMES = {"matmul": (2, 5), "step": (5, 50)}  # (untimed, timed) per roof
VISION_SIZES = (60_000, 10_000)  # the images in the training and the test file

MODES: dict[str, dict[str, Any]] = {
    "alone": {"pack": 1, "per_device": 1},
    "workers": {"pack": 1, "per_device": None},
    "packed": {"pack": "auto", "per_device": 1},
    "packed-workers": {"pack": "auto", "per_device": None},
    "packed-ahead": {"pack": "auto", "per_device": 1, "ahead": True},
}


@dataclasses.dataclass
class Row:
    mode: str
    repeat: int
    trials: int
    wall_seconds: float
    trials_per_minute: float
    best: float
    coordinator_share: float | None = None
    sampler_share: float | None = None
    pack: int | None = None
    slots: int | None = None
    useful_gflops: float | None = None  # 6 x parameters x training samples / wall time
    ahead_share: float | None = None  # sampling in the proposer process, meanwhile
    gpu_peak_mib: float | None = None  # peak GPU memory allocated during the run
    gpu_mib_per_trial: float | None = None  # the peak less the data, over the largest pack
    matmul_roof_gflops: float | None = None  # the repeat's roofs (see ``Roofs``)
    step_roof_gflops: float | None = None


@dataclasses.dataclass
class Roofs:
    """Two rates measured on the device, in GFLOP/s: a large matrix product's, and whole
    training steps' of the space's largest network alone (what one trial at a time can
    reach at best, the five steps of the tutorials' loop on device-resident data)."""

    matmul_gflops: float
    step_gflops: float
    widths: list[int]
    batch: int
    n_params: int


def load_bench_spec(path: str) -> tuple[Any, str | None]:
    """The bench study, and a note when its data were replaced: a study on MNIST or
    FashionMNIST whose files are not on disk trains on random data of the same shape."""
    spec = sweep.load_spec(path)
    dataset = VISION.get(spec.data.source)
    if dataset is None:
        return spec, None
    folder = raw_folder(spec.data.options.data_dir, dataset)
    if all((folder / n).is_file() or (folder / f"{n}.gz").is_file() for n in RAW_FILES):
        return spec, None
    train, test = VISION_SIZES
    total = train + test
    data = DataSpec(
        source="random_classification",
        options=RandomClassificationOptions(n_samples=total, n_features=784, n_classes=10),
        val_fraction=spec.data.val_fraction * train / total,
        test_fraction=test / total,
        seed=spec.data.seed,
        standardize=False,
    )
    note = (
        f"{dataset} is not in {folder}: random data of its shape instead "
        f"({round(train * (1 - spec.data.val_fraction))} training samples of 784 features, "
        "10 classes)"
    )
    return dataclasses.replace(spec, data=data), note


class GpuMemory:
    """Peak GPU memory allocated between ``start`` and ``stop`` (nothing on the CPU)."""

    def __init__(self, device: str) -> None:
        self.device = torch.device(device) if device.startswith("cuda") else None

    def start(self) -> None:
        if self.device is not None:
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)

    def stop(self, resident_bytes: int, largest_pack: int) -> tuple[float | None, float | None]:
        """(peak MiB, MiB per trial: the peak less ``resident_bytes`` over the pack)."""
        if self.device is None:
            return None, None
        peak = torch.cuda.max_memory_allocated(self.device)
        per_trial = max(0, peak - resident_bytes) / max(1, largest_pack)
        return peak / 2**20, per_trial / 2**20


def nbytes(*tensors: torch.Tensor) -> int:
    return sum(t.nbytes for t in tensors)


def useful_flops(n_params: int, epochs: int, n_train: int) -> float:
    """The arithmetic a trial's training needs: 6 FLOPs per parameter per sample
    (forward, backward for inputs and weights), whatever the implementation."""
    return 6.0 * n_params * epochs * n_train


def _median_seconds(run, device: torch.device, untimed: int, timed: int) -> float:
    """The median time of ``run()`` over ``timed`` calls, after ``untimed`` to warm up."""
    for _ in range(untimed):
        run()
    times = []
    for _ in range(timed):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        run()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure_roofs(spec, devices: str, data) -> Roofs:
    """The two roofs on the study's device, with every core's threads (as the baseline)."""
    device = torch.device(resolve_devices(devices)[0])
    torch.set_num_threads(available_cores())
    a, b = (torch.randn(MATMUL_SIZE, MATMUL_SIZE, device=device) for _ in range(2))
    matmul = _median_seconds(lambda: a @ b, device, *ROOF_TIMES["matmul"])
    widths, batch = largest_network(spec.space)
    batch = min(batch, len(data.x_train))
    config = TrialConfig(tuple(widths), "relu", DEFAULT_LOSS[data.task], "adam", 1e-3, batch)
    settings = TrainSettings(task=data.task, epochs=1)
    runner = ModuleRunner(
        TrialTask(0, config, 0), data.n_features, data.n_outputs, settings, device
    )
    x = data.x_train[:batch].to(device).unsqueeze(0)
    y = data.y_train[:batch].to(device).unsqueeze(0)
    step = _median_seconds(lambda: runner.step(x, y), device, *ROOF_TIMES["step"])
    n_params = parameter_count([data.n_features, *widths, data.n_outputs])
    return Roofs(
        2 * MATMUL_SIZE**3 / matmul / 1e9,
        useful_flops(n_params, 1, batch) / step / 1e9,
        widths,
        batch,
        n_params,
    )


def run_sweep(
    spec, mode: str, trials: int, repeat: int, devices: str, data, pack: str = "auto"
) -> Row:
    options = MODES[mode]
    size: int | str = options["pack"] if options["pack"] != "auto" else _pack(pack)
    per_device = options["per_device"] or available_cores()
    names = resolve_devices(devices)
    memory = GpuMemory(names[0] if per_device == 1 and len(names) == 1 else "cpu")  # in process
    n_train = len(data.x_train)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        memory.start()
        start = time.perf_counter()
        s = sweep.run_study(
            spec,
            storage=url,
            n_trials=trials,
            pack=size,
            per_device=per_device,
            devices=devices,
            display="none",
            sample_ahead=options.get("ahead", False),
        )
        wall = time.perf_counter() - start  # everything: workers' start-up, data, storage
        frame = sweep.open_study(spec.name, storage=url).trials()
        largest = int(frame["pack_size"].max()) if frame["pack_size"].notna().any() else 1
        resident = nbytes(data.x_train, data.y_train, data.x_val, data.y_val, data.x_test)
        peak, per_trial = memory.stop(resident + nbytes(data.y_test), largest)
        flops = sum(
            useful_flops(int(r.n_params), int(r.epochs_run), n_train)
            for r in frame.itertuples()
            if r.n_params == r.n_params and r.epochs_run == r.epochs_run  # not NaN
        )
    finished = s.finished
    return Row(
        mode,
        repeat,
        finished,
        wall,
        60 * finished / wall,
        s.best_value or float("nan"),
        s.coordinator_seconds / wall,
        s.sampler_seconds / wall,
        s.pack,
        len(s.slots),
        flops / wall / 1e9,
        s.ahead_seconds / wall,
        peak,
        per_trial,
    )


def _pack(text: str) -> int | str:
    return "auto" if text == "auto" else int(text)


def measure(
    spec, mode: str, trials: int, repeat: int, devices: str, pack: str = "auto"
) -> Row | Roofs:
    """One run of one mode, in this process."""
    data = load_data(spec.data)
    if mode == "roofs":
        return measure_roofs(spec, devices, data)
    if mode != "baseline":
        return run_sweep(spec, mode, trials, repeat, devices, data, pack)
    device = resolve_devices(devices)[0]  # the baseline trains on one device
    torch.set_num_threads(available_cores())
    memory = GpuMemory(device)
    memory.start()
    wall, best, n, flops = run_baseline(
        data,
        spec.space,
        n_trials=trials,
        epochs=spec.train.epochs,
        seed=spec.study.seed,
        startup=spec.study.sampler_startup,
        pruner_startup=spec.study.pruner_startup,
        pruner_warmup=spec.study.pruner_warmup,
        sampler=spec.study.sampler,
        pruner=spec.study.pruner,
        device=device,
    )
    peak, per_trial = memory.stop(nbytes(data.x_val, data.y_val), 1)
    return Row(
        mode,
        repeat,
        n,
        wall,
        60 * n / wall,
        best,
        useful_gflops=flops / wall / 1e9,
        gpu_peak_mib=peak,
        gpu_mib_per_trial=per_trial,
    )


def measure_apart(args: argparse.Namespace, mode: str, repeat: int, pack: str) -> Row:
    """One run of one mode in a fresh Python process, so that no mode inherits another's
    state (imports, caches, a heap grown by earlier runs). The time counted is the run's
    own, measured inside that process, not its start-up."""
    options = ["--repeat", str(repeat), "--trials", str(args.trials), "--pack", pack]
    _lines, result = run_apart(mode, args.study, args.devices, options)
    return Row(**result)


def roofs_apart(args: argparse.Namespace) -> Roofs:
    """The roofs, measured in a fresh Python process as the modes are."""
    _lines, result = run_apart("roofs", args.study, args.devices, [])
    return Roofs(**result)


def run_apart(one: str, study: str, devices: str, options: list[str]) -> tuple[list[str], dict]:
    """This script with ``--one ONE`` in a fresh process: the lines it printed, and the
    JSON object on its last line."""
    command = [sys.executable, str(Path(__file__).resolve()), "--one", one, "--study", study]
    command += ["--devices", devices, *options]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"bench: {one} failed (exit {done.returncode}):\n{done.stderr}")
    *lines, last = done.stdout.strip().splitlines()
    return lines, json.loads(last)


def main() -> int:
    parser = argparse.ArgumentParser(description="sweep against a plain Optuna loop")
    parser.add_argument("--study", default=str(HERE / "bench.toml"))
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--modes", default="baseline,alone,workers,packed,packed-workers")
    parser.add_argument("--devices", default="auto")
    parser.add_argument(
        "--pack",
        default="auto",
        help="the packed modes' pack size: auto or K, or several (25,64,auto), each its own "
        "row (default auto)",
    )
    parser.add_argument("--results", default=str(HERE / "results"), help="folder for the CSV")
    parser.add_argument(
        "--overhead",
        type=int,
        default=0,
        metavar="N",
        help="instead: N short trials packed, and the coordinator's share",
    )
    parser.add_argument("--epochs", type=int, default=2, help="with --overhead: epochs")
    parser.add_argument(
        "--points", type=int, default=300, help="with --overhead: the data set's points"
    )
    parser.add_argument("--one", default="", help=argparse.SUPPRESS)  # see measure_apart
    parser.add_argument("--repeat", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    packs = [p.strip() for p in args.pack.split(",")]
    for p in packs:
        if p != "auto" and not (p.isdigit() and int(p) >= 1):
            raise SystemExit(f"bench: --pack: expected auto or a number >= 1, got {p!r}")
    if args.one and len(packs) != 1:
        raise SystemExit("bench: --one takes one --pack")
    try:
        resolve_devices(args.devices)
        spec, note = load_bench_spec(args.study)
    except sweep.SweepError as e:
        raise SystemExit(f"bench: {e}") from None
    if note and not args.one:
        print(f"bench: {note}", flush=True)
    if args.overhead:
        return overhead(spec, args)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    # (row label, mode, pack): a packed mode once per --pack size, labelled with it
    # where there are several.
    runs = [
        (f"{m}/{p}" if len(packs) > 1 and m.startswith("packed") else m, m, p)
        for m in modes
        for p in (packs if m.startswith("packed") else packs[:1])
    ]
    if args.one:
        row = measure(spec, args.one, args.trials, args.repeat, args.devices, args.pack)
        print(json.dumps(dataclasses.asdict(row)))
        return 0
    rows: list[Row] = []
    roofs: list[Roofs] = []
    for repeat in range(args.repeats):
        roofs.append(roofs_apart(args))
        print(
            f"  repeat {repeat + 1} roofs: matmul {roofs[-1].matmul_gflops:.1f} GFLOP/s, "
            f"largest network's step {roofs[-1].step_gflops:.2f} GFLOP/s",
            flush=True,
        )
        for label, mode, pack in runs:  # interleaved: drift on the machine hits all alike
            row = measure_apart(args, mode, repeat, pack)
            row.mode = label
            row.matmul_roof_gflops = roofs[-1].matmul_gflops
            row.step_roof_gflops = roofs[-1].step_gflops
            rows.append(row)
            print(
                f"  repeat {repeat + 1} {label:15s} {row.trials_per_minute:9.1f} trials/min"
                f"  best {row.best:.4f}",
                flush=True,
            )
    report(rows, [label for label, _mode, _pack in runs], roofs, args)
    return 0


def report(rows: list[Row], modes: list[str], roofs: list[Roofs], args: argparse.Namespace) -> None:
    med = {m: statistics.median(r.trials_per_minute for r in rows if r.mode == m) for m in modes}
    base = med.get("baseline")
    matmul = statistics.median(r.matmul_gflops for r in roofs)
    step = statistics.median(r.step_gflops for r in roofs)
    largest = roofs[0]
    print(
        f"\n{args.trials} trials per run, {args.repeats} repeats, {available_cores()} cores, "
        f"torch {torch.__version__}"
    )
    print(
        f"roofs (median of the repeats): {MATMUL_SIZE} x {MATMUL_SIZE} matmul "
        f"{matmul:.1f} GFLOP/s; a step of the largest network alone "
        f"({' x '.join(map(str, largest.widths))}, batch {largest.batch}, "
        f"{largest.n_params:,} parameters) {step:.2f} GFLOP/s"
    )
    header = (
        "mode",
        "trials/min",
        "x baseline",
        "best (median)",
        "coordinator",
        "sampler",
        "pack",
        "GFLOP/s",
        "% matmul",
        "% step",
    )
    on_gpu = any(r.gpu_peak_mib is not None for r in rows)
    if on_gpu:
        header += ("GPU peak MiB", "MiB/trial")
    wide = max(16, *(len(m) + 1 for m in modes))
    print(f"{header[0]:{wide}s}" + "".join(f"{h:>14s}" for h in header[1:]))
    for m in modes:
        rs = [r for r in rows if r.mode == m]
        best = statistics.median(r.best for r in rs)
        ratio = f"{med[m] / base:.1f}x" if base else "-"
        is_sweep = rs[0].coordinator_share is not None
        coord = (
            f"{statistics.median(r.coordinator_share or 0 for r in rs):.1%}" if is_sweep else "-"
        )
        samp = f"{statistics.median(r.sampler_share or 0 for r in rs):.1%}" if is_sweep else "-"
        pack = str(rs[0].pack) if rs[0].pack is not None else "-"
        gflops = statistics.median(r.useful_gflops or 0 for r in rs)
        cells: tuple[str, ...] = (f"{med[m]:.1f}", ratio, f"{best:.4f}", coord, samp, pack)
        cells += (f"{gflops:.2f}", f"{gflops / matmul:.1%}", f"{gflops / step:.1%}")
        if on_gpu:
            peaks = [r.gpu_peak_mib for r in rs if r.gpu_peak_mib is not None]
            each = [r.gpu_mib_per_trial for r in rs if r.gpu_mib_per_trial is not None]
            cells += (
                f"{statistics.median(peaks):.1f}" if peaks else "-",
                f"{statistics.median(each):.1f}" if each else "-",
            )
        print(f"{m:{wide}s}" + "".join(f"{c:>14s}" for c in cells))
    out = Path(args.results) / f"{time.strftime('%Y%m%d-%H%M%S')}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=[f.name for f in dataclasses.fields(Row)])
        writer.writeheader()
        for r in rows:
            writer.writerow(dataclasses.asdict(r))
    print(f"wrote {out}")


def overhead(spec, args: argparse.Namespace) -> int:
    """Short trials (2 epochs on 300 points by default), packed: how much of the wall time
    is the coordinator's (sampler, storage, dispatch)? Sampled in turn, then ahead (the
    next pack sampled in a second process while one trains), each in a fresh process."""
    n, epochs, points = args.overhead, args.epochs, args.points
    if not hasattr(spec.data.options, "n_samples"):
        raise SystemExit(
            f"bench: --overhead needs a data source with n_samples, not {spec.data.source!r}"
        )
    if args.one:
        wall = overhead_run(spec, n, epochs, points, args.devices, ahead=args.one == "ahead")
        print(json.dumps({"wall": wall}))
        return 0
    walls = []
    options = ["--overhead", str(n), "--epochs", str(epochs), "--points", str(points)]
    for way in ("turn", "ahead"):
        lines, result = run_apart(way, args.study, args.devices, options)
        print("\n".join(lines), flush=True)
        walls.append(result["wall"])
    print(f"ahead: {walls[0] / walls[1]:.2f}x the trials per minute of in turn")
    return 0


def overhead_study(
    spec, n: int, epochs: int, points: int, devices: str, ahead: bool, alone: bool = False
):
    """``n`` trials of ``epochs`` epochs on ``points`` points of the bench study, packed (or
    with ``alone`` one at a time in this process, the bench's ``alone`` mode), on a fresh
    SQLite file: (wall seconds, the run's summary)."""
    short = dataclasses.replace(
        spec,
        study=dataclasses.replace(spec.study, name="overhead", trials=n),
        train=dataclasses.replace(spec.train, epochs=epochs),
        data=dataclasses.replace(
            spec.data, options=dataclasses.replace(spec.data.options, n_samples=points)
        ),
    )
    load_data(short.data)  # its imports and generation are not the run's
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        s = sweep.run_study(
            short,
            storage=f"sqlite:///{tmp}/o.db",
            pack=1 if alone else "auto",
            per_device=1 if alone else None,
            devices=devices,
            display="none",
            sample_ahead=ahead,
        )
        return time.perf_counter() - start, s


def overhead_run(spec, n: int, epochs: int, points: int, devices: str, ahead: bool) -> float:
    wall, s = overhead_study(spec, n, epochs, points, devices, ahead)
    coord, samp = s.coordinator_seconds, s.sampler_seconds
    print(
        f"{'ahead' if ahead else 'in turn':8s} {s.finished} trials of {epochs} epochs on "
        f"{points} points in {wall:.1f} s "
        f"(pack {s.pack}, {', '.join(s.slots)}): coordinator {coord:.1f} s = "
        f"{coord / wall:.1%} of wall time (sampler {samp:.1f} s = {samp / wall:.1%}; "
        f"storage and dispatch {(coord - samp) / wall:.1%})"
        + (f"; sampled ahead meanwhile {s.ahead_seconds:.1f} s" if ahead else "")
    )
    return wall


if __name__ == "__main__":
    sys.exit(main())
