"""bench/gpu.sh on the CPU: its arguments, its refusal without CUDA, and a dry run's
results file (every section's JSON line, the study files it writes and sweep reads)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import sweep

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "gpu.sh"


def _gpu_sh(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    command = ["bash", str(SCRIPT), "--python", sys.executable, *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=240)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--frobnicate"],
            "unknown argument '--frobnicate'; valid: --out FILE, --wheels DIR, --work DIR, "
            "--python PY, --quick, --dry-run, --help",
        ),
        (["--out"], "--out needs a file"),
        (["--wheels", "/nonexistent/wheels"], "--wheels: '/nonexistent/wheels' is not a folder"),
    ],
)
def test_a_bad_argument_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    done = _gpu_sh(*args)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"gpu.sh: {message}"]


def test_an_empty_wheels_folder_is_one_line(tmp_path: Path) -> None:
    done = _gpu_sh("--wheels", str(tmp_path), "--out", str(tmp_path / "r.jsonl"))
    assert done.returncode == 2
    assert done.stderr.strip() == f"gpu.sh: --wheels: no .whl files in '{tmp_path}'"


def test_help_names_every_option_and_section() -> None:
    done = _gpu_sh("--help")
    assert done.returncode == 0
    for word in ("--out", "--wheels", "--quick", "--dry-run", "pip download", "out_of_memory"):
        assert word in done.stdout


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal on a CPU machine")
def test_without_cuda_it_says_so_in_one_line(tmp_path: Path) -> None:
    done = _gpu_sh("--out", str(tmp_path / "r.jsonl"), "--work", str(tmp_path / "w"))
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("gpu.sh: no CUDA device here")
    assert not (tmp_path / "w" / "two_slots.toml").exists()


def test_a_dry_run_writes_every_sections_line(tmp_path: Path) -> None:
    out, work = tmp_path / "results" / "gpu.jsonl", tmp_path / "work"
    done = _gpu_sh("--dry-run", "--quick", "--out", str(out), "--work", str(work))
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    sections = [line["section"] for line in lines]
    assert sections == ["environment", "tests", "two_slots", "out_of_memory", "bench", "total"]
    assert all(
        set(line) == {"section", "status", "seconds", "command", "figures"} for line in lines
    )
    by = {line["section"]: line for line in lines}
    assert by["environment"]["status"] == "passed"
    assert by["environment"]["figures"]["torch"] == torch.__version__
    assert all(by[s]["status"] == "dry-run" for s in sections[1:])
    assert by["tests"]["figures"]["collected"] >= 4  # the gpu-marked tests
    assert by["bench"]["figures"]["packs"] == [64]  # --quick
    assert "--pack 64" in by["bench"]["command"] and "--devices cuda" in by["bench"]["command"]
    # The study files the GPU sections run are written and read by sweep.
    oom = sweep.load_spec(work / "out_of_memory.toml")
    assert oom.space.batch_size.value == 200000  # type: ignore[union-attr]
    assert "--per-device 2" in by["out_of_memory"]["command"]
    assert sweep.load_spec(work / "two_slots.toml").study.trials == 4
    assert f"results in {out}" in done.stdout
