"""Tiny MNIST-format (IDX) files in torchvision's raw folder layout, for tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sweep.data._vision import write_idx_files


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
    written = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images = rng.integers(0, 256, size=(n, size, size), dtype=np.uint8)
        # Every class appears, so class counts do not depend on the draw.
        labels = (np.arange(n) % 10).astype(np.uint8)
        rng.shuffle(labels)
        written[split] = (images, labels)
    write_idx_files(data_dir, dataset, written, gz=gz)
    return written
