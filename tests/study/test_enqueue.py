"""A study file's ``[[enqueue]]`` configurations: tried first, once per study."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

import sweep
from sweep.config import load_spec
from tests.conftest import SMALL_STUDY, assert_one_line_error, run_cli

KNOWN = """
[[enqueue]]
depth = 1
width = 8
activation = "tanh"
loss = "bce"
optimizer = "adam"
lr = 0.01

[[enqueue]]
activation = "sum"
"""


def study_file(tmp_path: Path, trials: int, enqueue: str = KNOWN) -> Path:
    path = tmp_path / "known.toml"
    path.write_text(SMALL_STUDY.format(name="known", trials=trials, epochs=2) + enqueue)
    return path


@pytest.mark.parametrize("pack", [1, 2])
def test_enqueued_configurations_run_first_and_once(tmp_path: Path, pack) -> None:
    url = f"sqlite:///{tmp_path}/k.db"
    sweep.run_study(load_spec(study_file(tmp_path, 4)), storage=url, pack=pack, display="none")
    sweep.run_study(load_spec(study_file(tmp_path, 6)), storage=url, pack=pack, display="none")
    trials = optuna.load_study(study_name="known", storage=url).trials
    assert len(trials) == 6
    first = trials[0].params
    assert (first["depth"], first["width"], first["activation"], first["lr"]) == (
        1,
        8,
        "tanh",
        0.01,
    )
    assert (first["loss"], first["optimizer"]) == ("bce", "adam")
    assert trials[1].params["activation"] == "sum"  # the rest sampled
    queued = [t.number for t in trials if "fixed_params" in t.system_attrs]
    assert queued == [0, 1]  # the second run queued nothing again


@pytest.mark.parametrize(
    "enqueue, needles",
    [
        ("[[enqueue]]\ndepthh = 1\n", ["enqueue[0].depthh", "not a searched dimension", "depth"]),
        (
            "[[enqueue]]\ndepth = 1\n[[enqueue]]\nlr = 5.0\n",
            ["enqueue[1].lr", "5.0", "0.001..0.1"],
        ),
        ("[[enqueue]]\nactivation = 'gelu'\n", ["enqueue[0].activation", "'gelu'", "'relu'"]),
        ("[[enqueue]]\ndepth = 1.5\n", ["enqueue[0].depth", "integer range 1..2"]),
    ],
)
def test_a_bad_enqueued_configuration_is_one_line(tmp_path: Path, enqueue, needles) -> None:
    study_file(tmp_path, 4, enqueue)
    assert_one_line_error(run_cli("run", "known.toml", cwd=tmp_path), "known.toml", *needles)
    assert not (tmp_path / "sweeps.db").exists()
