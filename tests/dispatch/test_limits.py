"""Size limits: a network over study.max_params is never trained, one slower than
study.max_latency_ms is pruned, both with their reason and as the sampler's constraints;
a limit no network of the space fits under is one line."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

import sweep
from sweep.config import load_spec
from sweep.model import Layout
from tests.conftest import assert_one_line_error, run_cli, write_study

# moons: 2 inputs, 1 output; widths 4..16, depth 1..2: 17 to 337 parameters.
LIMIT = 120


def _limited(tmp_path: Path, limits: str, trials: int = 14) -> Path:
    path = write_study(tmp_path, trials=trials, epochs=2)
    path.write_text(path.read_text().replace("seed = 0", f"seed = 0\n{limits}"))
    return path


@pytest.mark.parametrize("pack", ["auto", 1], ids=["packed", "alone"])
def test_a_network_over_max_params_is_never_trained(
    tmp_path: Path, sqlite_url: str, pack: int | str
) -> None:
    spec = load_spec(_limited(tmp_path, f"max_params = {LIMIT}"))
    sweep.run_study(spec, storage=sqlite_url, devices="cpu", pack=pack, display="none")
    raw = optuna.load_study(study_name="small", storage=sqlite_url)
    over = [t for t in raw.trials if t.user_attrs["n_params"] > LIMIT]
    assert over, "the space's larger networks were sampled"
    for t in over:
        assert t.state == optuna.trial.TrialState.PRUNED
        assert t.user_attrs["prune_reason"] == (
            f"{t.user_attrs['n_params']} parameters, over study.max_params {LIMIT}"
        )
        assert not t.intermediate_values and "config" in t.user_attrs  # untrained
        config = sweep.space.TrialConfig.from_dict(t.user_attrs["config"])
        assert Layout.of(config, 2, 1).n_parameters == t.user_attrs["n_params"]
    done = raw.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert done and all(t.user_attrs["n_params"] <= LIMIT for t in done)
    # The sampler's constraints, as TPE reads them: over the limit by so many parameters.
    for t in raw.trials:
        assert t.constraints == {"max_params": t.user_attrs["n_params"] - LIMIT}


def test_a_network_slower_than_max_latency_ms_is_pruned(tmp_path: Path, sqlite_url: str) -> None:
    # No network predicts a row in a picosecond: every trained trial is over it.
    spec = load_spec(_limited(tmp_path, "max_latency_ms = 1e-9\npruner = 'none'", trials=4))
    summary = sweep.run_study(spec, storage=sqlite_url, devices="cpu", display="none")
    assert summary.complete == 0
    raw = optuna.load_study(study_name="small", storage=sqlite_url)
    for t in raw.trials:
        assert t.state == optuna.trial.TrialState.PRUNED
        latency = t.user_attrs["latency_ms"]
        assert t.user_attrs["prune_reason"] == (
            f"latency {latency:g} ms, over study.max_latency_ms 1e-09"
        )
        assert t.user_attrs["epochs_run"] == 2  # it trained: its latency is measured after
        assert t.constraints["max_latency_ms"] > 0
    assert not sweep.open_study("small", sqlite_url).saved_models()


@pytest.mark.parametrize(
    ("limits", "needles"),
    [
        ("max_params = 16", ("study.max_params", "16", "hidden widths 4", "17 parameters")),
        ("max_params = 0", ("study.max_params", "at least 1")),
        ("max_latency_ms = -1.0", ("study.max_latency_ms", "above 0")),
    ],
    ids=["below-the-smallest", "zero", "negative-latency"],
)
def test_a_limit_no_network_fits_is_one_line_and_writes_nothing(
    tmp_path: Path, limits: str, needles: tuple[str, ...]
) -> None:
    path = _limited(tmp_path, limits)
    db = tmp_path / "bad.db"
    out = run_cli("run", str(path), "--storage", f"sqlite:///{db}", "--quiet")
    assert_one_line_error(out, str(path), *needles)
    assert not db.exists()
