"""The GP, CMA-ES and grid samplers: real small studies, packed and alone."""

from __future__ import annotations

import logging
from pathlib import Path

import optuna
import pytest

import sweep
from sweep.config import load_spec
from sweep.study import build_sampler, grid_size
from tests.conftest import SMALL_STUDY, assert_one_line_error, run_cli

GRID_SPACE = """
[space]
depth = [1, 2]
width = {{ low = 4, high = 8, step = 4 }}
activation = ["relu", "tanh"]
loss = "bce"
optimizer = "adam"
lr = 0.01
batch_size = 32
"""


def study_file(tmp_path: Path, sampler: str, trials: int, space: str | None = None) -> Path:
    text = SMALL_STUDY.format(name=f"s_{sampler}", trials=trials, epochs=2)
    text = text.replace("seed = 0\n", f'seed = 0\nsampler = "{sampler}"\n')
    if space is not None:
        text = text[: text.index("[space]")] + space.format()
    path = tmp_path / f"{sampler}.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("pack", [1, 4])
@pytest.mark.parametrize(
    "sampler, kind",
    [("gp", optuna.samplers.GPSampler), ("cmaes", optuna.samplers.CmaEsSampler)],
)
def test_a_model_sampler_completes_a_small_study(tmp_path: Path, sampler, kind, pack) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    path = study_file(tmp_path, sampler, 8)
    # Every trial complete and two start-up trials: the model samples the last six.
    path.write_text(
        path.read_text().replace("sampler_startup = 4", 'sampler_startup = 2\npruner = "none"')
    )
    spec = load_spec(path)
    assert isinstance(build_sampler(spec.study, spec.space), kind)
    summary = sweep.run_study(spec, storage=url, pack=pack, display="none")
    assert summary.finished == 8 and summary.failed == 0
    study = optuna.load_study(study_name=f"s_{sampler}", storage=url)
    assert len(study.trials) == 8
    assert all(4 <= t.params["width"] <= 16 for t in study.trials)
    if sampler == "cmaes":  # CMA-ES itself drew the numeric parameters of the later ones
        assert any(k.startswith("cma:") for t in study.trials[4:] for k in t.system_attrs)


@pytest.mark.parametrize("pack", [1, 4])
def test_a_grid_study_runs_every_combination_once(tmp_path: Path, pack, caplog) -> None:
    spec = load_spec(study_file(tmp_path, "grid", 20, GRID_SPACE))
    assert grid_size(spec.space) == 8
    url = f"sqlite:///{tmp_path}/g.db"
    with caplog.at_level(logging.WARNING, logger="sweep"):
        summary = sweep.run_study(spec, storage=url, pack=pack, display="none")
    assert "the grid has 8 combinations" in caplog.text
    assert summary.finished == 8
    trials = optuna.load_study(study_name="s_grid", storage=url).trials
    combos = sorted((t.params["depth"], t.params["width"], t.params["activation"]) for t in trials)
    assert combos == sorted((d, w, a) for d in (1, 2) for w in (4, 8) for a in ("relu", "tanh"))


def test_a_float_range_in_a_grid_study_is_one_line(tmp_path: Path) -> None:
    path = study_file(tmp_path, "grid", 4)  # lr is a float range
    out = run_cli("run", path.name, cwd=tmp_path)
    assert_one_line_error(out, "grid.toml", "space.lr", "float range")
    assert not (tmp_path / "sweeps.db").exists()


def test_sweep_samplers_lists_each_sampler() -> None:
    out = run_cli("samplers")
    assert out.returncode == 0, out.stderr
    names = [line.split()[0] for line in out.stdout.splitlines()]
    assert names == ["tpe", "random", "qmc", "gp", "cmaes", "grid"]
