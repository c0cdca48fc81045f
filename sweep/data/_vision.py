"""MNIST and FashionMNIST through torchvision's own dataset classes.

Each split is read once and turned into one tensor with the arithmetic of
``transforms.Compose([ToTensor(), Normalize(mean, std)])`` applied to the whole
uint8 array at once (the same numbers as the per-image transform, without
60,000 PIL round trips), then flattened to 784 features. Training then indexes
that tensor on the device; there is no per-batch DataLoader.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sweep.data._registry import RawData, Source, register
from sweep.errors import DataError, SpecValueError

# Mean and standard deviation of the training images' pixels in [0, 1], the
# values the tutorials pass to transforms.Normalize.
NORMALIZE = {"MNIST": (0.1307, 0.3081), "FashionMNIST": (0.2860, 0.3530)}

RAW_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


@dataclass(frozen=True)
class VisionOptions:
    """Where the data set lives and whether it may be downloaded.

    The files are torchvision's layout: ``<data_dir>/MNIST/raw/train-images-idx3-ubyte``
    and the three others (``FashionMNIST/raw/...`` for FashionMNIST), each plain or
    gzipped (``.gz``). A relative ``data_dir`` is resolved from the current directory.
    """

    data_dir: str = "data"
    download: bool = True  # fetch missing files from torchvision's mirrors (needs network)

    def __post_init__(self) -> None:
        if not self.data_dir:
            raise SpecValueError("data_dir", "empty path")


def write_idx_files(
    data_dir: str | Path,
    dataset: str,
    splits: dict[str, tuple[np.ndarray, np.ndarray]],
    gz: bool = False,
) -> Path:
    """Write images and labels as IDX files in torchvision's layout, where the ``mnist``
    and ``fashion_mnist`` sources read them.

    Args:
        data_dir: The source's ``data_dir``.
        dataset: ``MNIST`` or ``FashionMNIST``.
        splits: ``{"train": (images, labels), "test": (images, labels)}``: images
            (N, 28, 28) with values in 0..255, labels (N,) in 0..9.
        gz: Write ``<name>.gz`` files, as the mirrors ship them.

    Returns:
        The folder written (``<data_dir>/<dataset>/raw``).
    """
    import gzip

    folder = raw_folder(data_dir, dataset)
    folder.mkdir(parents=True, exist_ok=True)
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images, labels = splits[split]
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            data = _idx_bytes(np.asarray(array))
            name = folder / f"{prefix}-{kind}-ubyte"
            if gz:
                with gzip.open(f"{name}.gz", "wb") as f:
                    f.write(data)
            else:
                name.write_bytes(data)
    return folder


def _idx_bytes(array: np.ndarray) -> bytes:
    # IDX: two zero bytes, the type code (0x08 = unsigned byte), the number of
    # dimensions, then each dimension as a big-endian uint32, then the data.
    import struct

    head = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    head += b"".join(struct.pack(">I", d) for d in array.shape)
    return head + array.astype(np.uint8).tobytes()


def raw_folder(data_dir: str | Path, dataset: str) -> Path:
    """The folder torchvision reads ``dataset``'s IDX files from."""
    return Path(data_dir).expanduser().absolute() / dataset / "raw"


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def _gunzip_missing(folder: Path) -> None:
    """Decompress ``<name>.gz`` where only the gzipped file is present.

    torchvision's classes read the plain files (its download step decompresses
    what it fetches); files copied from a mirror by hand are usually gzipped.
    """
    from torchvision.datasets.utils import extract_archive

    for name in RAW_FILES:
        plain, packed = folder / name, folder / f"{name}.gz"
        if not plain.is_file() and packed.is_file():
            extract_archive(str(packed), str(folder))


def _missing_message(dataset: str, folder: Path, download: bool, why: str | None) -> str:
    files = ", ".join(RAW_FILES)
    where = f"{dataset} not found: put {files} (plain or .gz) in {folder}"
    if download:
        return f"{where} (the download failed: {why})"
    return f"{where}, or set data.download = true on a machine with network"


def _to_arrays(ds: Any, mean: float, std: float) -> tuple[np.ndarray, np.ndarray]:
    import torch

    # ToTensor: uint8 -> float in [0, 1]; Normalize: (v - mean) / std.
    x = ds.data.to(torch.float32).div_(255.0).sub_(mean).div_(std)
    return x.reshape(len(x), -1).numpy(), ds.targets.to(torch.int64).numpy()


def _load(dataset: str, options: VisionOptions) -> RawData:
    import torchvision.datasets as tvd

    cls = getattr(tvd, dataset)
    root = Path(options.data_dir).expanduser().absolute()
    folder = raw_folder(root, dataset)
    mean, std = NORMALIZE[dataset]
    try:
        if folder.is_dir():
            _gunzip_missing(folder)
        splits = []
        for train in (True, False):
            try:
                ds = cls(str(root), train=train, download=options.download)
            except (RuntimeError, OSError) as e:
                # torchvision raises RuntimeError both for "not found" and for a
                # failed download (whose message spans several lines).
                if all((folder / n).is_file() for n in RAW_FILES):
                    raise
                why = _one_line(e) if options.download else None
                raise DataError(_missing_message(dataset, folder, options.download, why)) from None
            splits.append(_to_arrays(ds, mean, std))
    except DataError:
        raise
    except Exception as e:
        # A truncated or foreign file fails torchvision's IDX checks (assertions,
        # TypeError, ValueError); name the folder rather than print a traceback.
        raise DataError(f"cannot read {dataset} from {folder}: {_one_line(e)}") from None
    (x, y), (x_test, y_test) = splits
    if x.shape[1:] != (784,) or x_test.shape[1:] != (784,):
        raise DataError(
            f"{dataset} in {folder}: expected 28x28 images, got {x.shape[1]} pixels per image"
        )
    classes = tuple(str(c) for c in cls.classes)
    names = tuple(f"px{i}" for i in range(784))
    return RawData(x, y, "multiclass", names, classes, x_test, y_test)


def load_mnist(options: VisionOptions, seed: int) -> RawData:
    """MNIST digits: 60,000 training and 10,000 test images (the test split as shipped)."""
    return _load("MNIST", options)


def load_fashion_mnist(options: VisionOptions, seed: int) -> RawData:
    """FashionMNIST clothing images: 60,000 training and 10,000 test, 10 classes."""
    return _load("FashionMNIST", options)


_HERE = __name__
register(
    Source(
        "mnist",
        VisionOptions,
        "multiclass",
        f"{_HERE}:load_mnist",
        "MNIST digits via torchvision: 784 normalised pixels, 10 classes, its own test split",
    )
)
register(
    Source(
        "fashion_mnist",
        VisionOptions,
        "multiclass",
        f"{_HERE}:load_fashion_mnist",
        "FashionMNIST via torchvision: 784 normalised pixels, 10 classes, its own test split",
    )
)
