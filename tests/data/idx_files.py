"""Tiny MNIST-format (IDX) files in torchvision's raw folder layout, for tests."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

SPLITS = {"train": "train", "test": "t10k"}


def _idx_bytes(array: np.ndarray) -> bytes:
    # IDX: two zero bytes, the type code (0x08 = unsigned byte), the number of
    # dimensions, then each dimension as a big-endian uint32, then the data.
    head = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    head += b"".join(struct.pack(">I", d) for d in array.shape)
    return head + array.astype(np.uint8).tobytes()


def write_idx_dataset(
    data_dir: Path,
    dataset: str = "MNIST",
    n_train: int = 60,
    n_test: int = 20,
    gz: bool = False,
    seed: int = 0,
    size: int = 28,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Write random images and labels as ``<data_dir>/<dataset>/raw/*-idx?-ubyte[.gz]``.

    Returns the arrays written, by split: ``{"train": (images, labels), "test": ...}``.
    """
    rng = np.random.default_rng(seed)
    folder = data_dir / dataset / "raw"
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images = rng.integers(0, 256, size=(n, size, size), dtype=np.uint8)
        # Every class appears, so class counts do not depend on the draw.
        labels = (np.arange(n) % 10).astype(np.uint8)
        rng.shuffle(labels)
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            name = f"{SPLITS[split]}-{kind}-ubyte"
            data = _idx_bytes(array)
            if gz:
                with gzip.open(folder / f"{name}.gz", "wb") as f:
                    f.write(data)
            else:
                (folder / name).write_bytes(data)
        written[split] = (images, labels)
    return written
