"""The benchmark script: its data fallback for MNIST-sized studies, and whole runs of it
(the baseline and sweep's modes) on tiny studies in a subprocess."""

from __future__ import annotations

import csv
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sweep.data import load_data
from tests.conftest import write_study
from tests.data.idx_files import write_idx_dataset

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench" / "run.py"


def _bench_module():
    if "bench_run" in sys.modules:
        return sys.modules["bench_run"]
    spec = importlib.util.spec_from_file_location("bench_run", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_run"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _mnist_study(path: Path, data_dir: Path) -> Path:
    text = (ROOT / "bench" / "mnist.toml").read_text()
    text = text.replace('data_dir = "data"', f'data_dir = "{data_dir}"')
    path.write_text(text)
    return path


def test_mnist_study_without_the_images_trains_on_random_data_of_their_shape(
    tmp_path: Path,
) -> None:
    bench = _bench_module()
    study = _mnist_study(tmp_path / "mnist.toml", tmp_path / "nothing-here")
    spec, note = bench.load_bench_spec(str(study))
    assert spec.data.source == "random_classification"
    assert note is not None and str(tmp_path / "nothing-here" / "MNIST" / "raw") in note
    data = load_data(spec.data)
    assert data.task == "multiclass" and (data.n_features, data.n_outputs) == (784, 10)
    assert (len(data.x_train), len(data.x_val), len(data.x_test)) == (54_000, 6_000, 10_000)


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_study_with_the_images_reads_them(tmp_path: Path, gz: bool) -> None:
    bench = _bench_module()
    write_idx_dataset(tmp_path / "data", n_train=50, n_test=10, gz=gz)
    spec, note = bench.load_bench_spec(str(_mnist_study(tmp_path / "m.toml", tmp_path / "data")))
    assert note is None and spec.data.source == "mnist"
    data = load_data(spec.data)
    assert len(data.x_train) + len(data.x_val) == 50 and len(data.x_test) == 10


TINY = {
    "multiclass": """
[study]
name = "tiny_multiclass"
trials = 3
pruner = "median"
seed = 0
[data]
source = "random_classification"
n_samples = 240
n_features = 12
n_classes = 3
[train]
epochs = 2
[space]
depth = { low = 1, high = 2 }
width = { low = 4, high = 16, log = true }
activation = ["relu", "tanh"]
loss = "cross_entropy"
optimizer = ["sgd", "adam"]
lr = { low = 1e-3, high = 1e-1, log = true }
batch_size = 64
""",
    "binary": """
[study]
name = "tiny_binary"
trials = 3
pruner = "median"
seed = 0
[data]
source = "moons"
n_samples = 200
[train]
epochs = 2
[space]
depth = { low = 1, high = 3 }
width = { low = 4, high = 16, log = true }
activation = ["relu", "tanh", "split", "sum"]
loss = ["bce", "mse", "quartic"]
optimizer = ["sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta"]
lr = { low = 1e-3, high = 1e-1, log = true }
weight_decay = [0.0, 1e-4]
dropout = [0.0, 0.1]
batch_size = 64
""",
}


def _bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(BENCH), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        check=False,
    )


@pytest.mark.parametrize("task", ["multiclass", "binary"])
def test_bench_runs_the_baseline_and_sweep_side_by_side(tmp_path: Path, task: str) -> None:
    study = tmp_path / "tiny.toml"
    study.write_text(TINY[task])
    results = tmp_path / "results"
    modes = ["baseline", "alone", "packed"]
    done = _bench(
        "--study", str(study), "--trials", "3", "--repeats", "1",
        "--modes", ",".join(modes), "--devices", "cpu", "--results", str(results),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    table = done.stdout.split("3 trials per run, 1 repeats")[1].splitlines()
    roofs = re.fullmatch(
        r"roofs \(median of the repeats\): 2048 x 2048 matmul (\S+) GFLOP/s; a step of the "
        r"largest network alone \((.+), batch 64, ([\d,]+) parameters\) (\S+) GFLOP/s",
        table[1],
    )
    assert roofs is not None, table[1]
    assert float(roofs[1]) > 0 and float(roofs[4]) > 0
    largest = [16] * (2 if task == "multiclass" else 3)  # the space's deepest, widest
    assert roofs[2] == " x ".join(map(str, largest))
    header = table[2].split()
    assert "x baseline" in table[2] and header[-5:] == ["GFLOP/s", "%", "matmul", "%", "step"]
    assert [line.split()[0] for line in table[3:6]] == modes
    assert table[3].split()[2] == "1.0x"
    (out,) = results.glob("*.csv")
    rows = list(csv.DictReader(out.open()))
    assert [r["mode"] for r in rows] == modes
    for r, line in zip(rows, table[3:6], strict=True):
        assert int(r["trials"]) == 3 and float(r["trials_per_minute"]) > 0
        assert 0.0 <= float(r["best"]) <= 1.0
        assert float(r["useful_gflops"]) > 0
        assert r["gpu_peak_mib"] == ""  # on the CPU there is no GPU memory to report
        # The repeat's roofs, and the mode's share of each, from its own rate.
        matmul, step = float(r["matmul_roof_gflops"]), float(r["step_roof_gflops"])
        assert matmul == pytest.approx(float(roofs[1]), abs=0.051)
        assert step == pytest.approx(float(roofs[4]), abs=0.0051)
        of_matmul, of_step = (float(cell.rstrip("%")) for cell in line.split()[-2:])
        gflops = float(r["useful_gflops"])
        assert of_matmul == pytest.approx(100 * gflops / matmul, abs=0.051)
        assert of_step == pytest.approx(100 * gflops / step, abs=0.051)
    assert rows[0]["coordinator_share"] == "" and float(rows[2]["coordinator_share"]) > 0


def test_bench_runs_the_packed_modes_once_per_pack_size(tmp_path: Path) -> None:
    study = tmp_path / "tiny.toml"
    study.write_text(TINY["binary"])
    results = tmp_path / "results"
    done = _bench(
        "--study", str(study), "--trials", "3", "--repeats", "1", "--modes", "alone,packed",
        "--pack", "1,3", "--devices", "cpu", "--results", str(results),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (out,) = results.glob("*.csv")
    rows = list(csv.DictReader(out.open()))
    assert [(r["mode"], r["pack"]) for r in rows] == [
        ("alone", "1"),
        ("packed/1", "1"),
        ("packed/3", "3"),
    ]
    table = done.stdout.split("3 trials per run, 1 repeats")[1].splitlines()
    assert [line.split()[0] for line in table[3:6]] == ["alone", "packed/1", "packed/3"]


@pytest.mark.parametrize("pack", ["0", "3,x", "auto,"])
def test_bench_names_a_bad_pack_size(pack: str) -> None:
    done = _bench("--pack", pack, "--trials", "1")
    assert done.returncode != 0
    assert done.stderr.strip().startswith("bench: --pack: expected auto or a number >= 1")
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_bench_names_a_device_that_is_not_there(tmp_path: Path) -> None:
    done = _bench("--devices", "cuda:7", "--trials", "1")
    assert done.returncode != 0
    assert done.stderr.strip().startswith("bench: ") and "cuda:7" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def _sampler_bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "bench" / "sampler.py"), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        check=False,
    )


def test_sampler_bench_compares_optunas_tpe_with_sweeps() -> None:
    done = _sampler_bench("--trials", "30")
    assert done.returncode == 0, done.stderr
    rows = [line.split() for line in done.stdout.splitlines()[2:]]
    assert [row[:2] for row in rows if row[-1].endswith("x")] == [
        ["memory", "optuna"], ["memory", "sweep"], ["sqlite", "optuna"], ["sqlite", "sweep"],
    ]  # fmt: skip
    # past the startup trials TPE models the results, and both draw the same parameters
    assert done.stdout.count("the two samplers drew the same parameters") == 2


def test_sampler_bench_times_scipys_normal_cdf_against_optunas() -> None:
    done = _sampler_bench("--cdf", "--trials", "30", "--repeats", "3")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("sampling a trial after 30 finished ones, median of 3 each")
    ways = ["Optuna's CDF and log-CDF", "SciPy's log-CDF only", "SciPy's CDF and log-CDF"]
    for line, way in zip(lines[1:4], ways, strict=True):
        assert line.strip().startswith(way) and float(line.split()[-3]) > 0
    assert lines[1].endswith("1.00x")
    assert sum("drew the same parameters" in line for line in lines[4:]) == 2


def test_sampler_bench_samples_packs_at_once_and_one_by_one() -> None:
    done = _sampler_bench("--pack", "16", "--finished", "30", "--repeats", "1")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("a pack sampled after 30 finished trials")
    assert [line.split()[0] for line in lines[2:4]] == ["1", "16"]
    assert all(
        float(cell) > 0 for cell in lines[3].replace("(", " ").replace(")", " ").split()[1:5]
    )
    # every member distinct, both ways, and a mean distance between them
    for line, way in zip(lines[5:7], ("at once", "one by one"), strict=True):
        assert line.strip().startswith(way) and "16 of 16" in line and float(line.split()[-1]) > 0


def test_the_mechanism_ab_runs_each_way_and_reports_the_ratios() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "ab.py"), "--repeats", "1", "--trials", "6"]
        + ["--epochs", "1", "--points", "120", "--ways", "records,public"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line.split() for line in done.stdout.splitlines()[-3:]}
    assert set(rows) == {"all", "records", "public"}
    assert rows["all"][-1] == "1.00x" and all(r[-1].endswith("x") for r in rows.values())
    assert done.stdout.count(" 6 trials ") == 3  # each way ran the whole budget


def test_the_two_checkout_bench_compares_a_checkout_with_itself() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "trees.py"), str(ROOT), "--trials", "4"]
        + ["--repeats", "1", "--modes", "alone", "--devices", "cpu"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    (row,) = [line.split() for line in done.stdout.splitlines() if line.startswith("alone ")]
    assert len(row) == 6 and row[-1].endswith("x")
    missing = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "trees.py"), "/nonexistent"],
        capture_output=True,
        text=True,
    )
    assert missing.returncode != 0 and "has no bench/run.py" in missing.stderr


def test_latency_bench_reports_the_share_of_a_study_spent_timing(tmp_path: Path) -> None:
    study = write_study(tmp_path, trials=3, epochs=2)
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "latency.py"), "--study", str(study)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    row = done.stdout.splitlines()[-1].strip("|").split("|")
    run, complete, wall, measuring, share, one_ms, batch_ms = (cell.strip() for cell in row)
    assert run == "1" and int(complete) >= 1
    assert 0 < float(measuring) < float(wall)
    assert share.endswith("%") and float(one_ms) > 0 and float(batch_ms) > 0


def test_step_bench_times_a_jobs_packs_against_the_roofs() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "steps.py"), "--groups", "--trials", "6"]
        + ["--samples", "2", "--rounds", "2"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "6 random trials a job" in lines[0] and "largest network's step" in lines[0]
    draws = [line.split() for line in lines[2:4]]
    assert [row[0] for row in draws] == ["0", "1"]
    for _draw, packs, alone, ms, gflops, share in draws:
        assert 1 <= int(packs) <= 6 and 0 <= int(alone) <= int(packs)
        assert float(ms) > 0 and float(gflops) > 0 and share.endswith("%")
    assert lines[-1].startswith("median ") and lines[-1].endswith("of the step roof")
