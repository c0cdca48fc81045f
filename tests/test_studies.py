"""Every study file in studies/ parses, and it and each of its pinned configurations
run one short trial (one epoch on a small subset; MNIST from tiny IDX files)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

import sweep
from sweep.config import parse_spec
from tests.data.idx_files import write_idx_dataset

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

STUDIES = sorted((Path(__file__).resolve().parents[1] / "studies").glob("*.toml"))
EXPECTED = {
    "moons",
    "classification5",
    "random_regression",
    "sine",
    "mnist_mlp",
    "mnist_ffn",
    "fashion_mnist",
    "breast_cancer",
    "digits",
    "diabetes",
}
# The tutorials' networks as written, by study (see each file's comments).
TUTORIALS = {
    "classification5": {"tutorial", "tutorial_sum"},
    "regression5": {"tutorial"},
    "sine": {"tutorial", "tutorial_deep"},
    "random_regression": {"tutorial", "tutorial_adam"},
    "mnist_ffn": {"tutorial"},
    "mnist_mlp": {"tutorial"},
}
RUNS = [
    pytest.param(path, pinned, id=f"{path.stem}.{pinned}" if pinned else path.stem)
    for path in STUDIES
    for pinned in [
        None,
        *tomllib.loads(path.read_text(encoding="utf-8")).get("pinned", {}),
    ]
]


@pytest.fixture(scope="module")
def idx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("vision")
    write_idx_dataset(root, "MNIST", n_train=60, n_test=20)
    write_idx_dataset(root, "FashionMNIST", n_train=60, n_test=20, gz=True)
    return root


def _short(path: Path, idx_dir: Path) -> dict[str, Any]:
    """The study file as written, cut to one trial of one epoch on at most 60 samples."""
    table = tomllib.loads(path.read_text(encoding="utf-8"))
    table["study"].update(trials=1, keep_models=0)
    table["train"] = {**table.get("train", {}), "epochs": 1}
    for pinned in table.get("pinned", {}).values():
        if "epochs" in pinned:  # a tutorial's own epochs
            pinned.update(epochs=1, eval_every=1)
    table["data"]["max_samples"] = 60
    if table["data"]["source"] in ("mnist", "fashion_mnist"):
        table["data"].update(data_dir=str(idx_dir), download=False)
    return table


def test_every_issue_study_is_there_with_a_reference() -> None:
    names = {p.stem for p in STUDIES}
    assert EXPECTED <= names
    for path in STUDIES:
        spec = sweep.load_spec(path)
        assert spec.name == path.stem  # reports/<name>.csv matches the file
        if path.stem in EXPECTED:
            assert "reference" in [p.name for p in spec.pinned]
        assert TUTORIALS.get(path.stem, set()) <= {p.name for p in spec.pinned}


@pytest.mark.parametrize(("path", "pinned"), RUNS)
def test_study_runs_one_short_trial(
    path: Path, pinned: str | None, idx_dir: Path, tmp_path: Path
) -> None:
    spec = parse_spec(_short(path, idx_dir), source=str(path))
    summary = sweep.run_study(
        spec,
        storage=f"sqlite:///{tmp_path / 'sweeps.db'}",
        display="none",
        devices="cpu",
        pinned=pinned,
    )
    assert summary.study == (f"{spec.name}.{pinned}" if pinned else spec.name)
    assert summary.finished == 1 and summary.complete == 1, summary
    assert summary.best_value is not None
