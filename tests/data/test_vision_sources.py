"""MNIST and FashionMNIST through torchvision's real dataset classes, reading tiny IDX
files written here in torchvision's raw folder layout (plain and gzipped)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torchvision import datasets, transforms

from sweep.config import parse_spec
from sweep.data import SOURCES, load_data
from sweep.data._vision import NORMALIZE, RAW_FILES, VisionOptions
from sweep.errors import DataError
from tests.data.idx_files import write_idx_dataset


def _load(source: str, data_dir: Path, download: bool = False):
    return SOURCES[source].load(VisionOptions(data_dir=str(data_dir), download=download), 0)


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_mnist_reads_idx_files_with_to_tensor_and_normalize(tmp_path: Path, gz: bool) -> None:
    written = write_idx_dataset(tmp_path, "MNIST", n_train=30, n_test=12, gz=gz)
    raw = _load("mnist", tmp_path)
    assert raw.task == "multiclass" and len(raw.classes or ()) == 10
    assert raw.x.shape == (30, 784) and raw.x.dtype == np.float32
    assert raw.x_test is not None and raw.y_test is not None
    assert raw.x_test.shape == (12, 784) and raw.y.dtype == np.int64
    np.testing.assert_array_equal(raw.y, written["train"][1])
    np.testing.assert_array_equal(raw.y_test, written["test"][1])
    # The very numbers torchvision's per-image transform pipeline gives.
    mean, std = NORMALIZE["MNIST"]
    pipeline = transforms.Compose([transforms.ToTensor(), transforms.Normalize((mean,), (std,))])
    reference = datasets.MNIST(str(tmp_path), train=False, transform=pipeline)
    for i in (0, 5, 11):
        image, label = reference[i]
        torch.testing.assert_close(torch.as_tensor(raw.x_test[i]), image.reshape(-1))
        assert label == raw.y_test[i]


def test_fashion_mnist_uses_its_own_folder_and_statistics(tmp_path: Path) -> None:
    written = write_idx_dataset(tmp_path, "FashionMNIST", n_train=20, n_test=10, gz=True)
    raw = _load("fashion_mnist", tmp_path)
    mean, std = NORMALIZE["FashionMNIST"]
    expected = (written["train"][0].reshape(20, -1) / 255.0 - mean) / std
    np.testing.assert_allclose(raw.x, expected, rtol=0, atol=1e-5)
    assert raw.classes is not None and raw.classes[0] == "T-shirt/top"


def test_a_missing_data_set_is_one_line_naming_the_folder_and_files(tmp_path: Path) -> None:
    write_idx_dataset(tmp_path, "MNIST", n_train=10, n_test=10)  # MNIST is not FashionMNIST
    with pytest.raises(DataError) as info:
        _load("fashion_mnist", tmp_path)
    message = str(info.value)
    assert "\n" not in message
    assert str(tmp_path / "FashionMNIST" / "raw") in message
    assert all(name in message for name in RAW_FILES)
    assert "download = true" in message


def test_a_partial_data_set_is_missing_too(tmp_path: Path) -> None:
    write_idx_dataset(tmp_path, "MNIST", n_train=10, n_test=10)
    (tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataError, match="MNIST not found"):
        _load("mnist", tmp_path)


def test_a_corrupt_file_is_a_data_error_not_a_traceback(tmp_path: Path) -> None:
    write_idx_dataset(tmp_path, "MNIST", n_train=10, n_test=10)
    (tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte").write_bytes(b"\x00\x01")
    with pytest.raises(DataError, match="cannot read MNIST from") as info:
        _load("mnist", tmp_path)
    assert "\n" not in str(info.value)


def test_images_that_are_not_28x28_are_refused(tmp_path: Path) -> None:
    write_idx_dataset(tmp_path, "MNIST", n_train=10, n_test=10, size=8)
    with pytest.raises(DataError, match="expected 28x28 images"):
        _load("mnist", tmp_path)


def test_the_shipped_test_split_is_kept_and_validation_comes_from_train(tmp_path: Path) -> None:
    write_idx_dataset(tmp_path, "MNIST", n_train=50, n_test=20)
    spec = parse_spec(
        {
            "study": {"name": "m"},
            "data": {
                "source": "mnist",
                "data_dir": str(tmp_path),
                "download": False,
                "val_fraction": 0.2,
                "standardize": False,
                "max_samples": 40,
            },
        }
    )
    data = load_data(spec.data)
    # max_samples applies to each file: 40 of the 50 training images, all 20 test images.
    assert (len(data.x_train), len(data.x_val), len(data.x_test)) == (32, 8, 20)
    assert data.n_features == 784 and data.n_outputs == 10
    assert data.y_train.dtype == torch.int64 and data.x_train.dtype == torch.float32
    raw = _load("mnist", tmp_path)
    torch.testing.assert_close(data.x_test, torch.as_tensor(raw.x_test))


def test_a_bad_data_dir_option_names_the_key() -> None:
    from sweep.errors import ConfigError

    with pytest.raises(ConfigError, match=r"data\.data_dir: empty path"):
        parse_spec({"study": {"name": "m"}, "data": {"source": "mnist", "data_dir": ""}})


def test_the_command_line_prints_the_missing_data_set_as_one_line(tmp_path: Path) -> None:
    from tests.conftest import run_cli

    study = tmp_path / "digits.toml"
    study.write_text(
        '[study]\nname = "m"\n\n[data]\nsource = "mnist"\ndata_dir = "nowhere"\ndownload = false\n'
    )
    out = run_cli("run", str(study), "--quiet", cwd=tmp_path)
    assert out.returncode == 2
    assert out.stderr.startswith("error: MNIST not found: put train-images-idx3-ubyte")
    assert str(tmp_path / "nowhere" / "MNIST" / "raw") in out.stderr
    assert out.stderr.count("\n") == 1
