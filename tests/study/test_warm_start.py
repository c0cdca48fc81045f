"""``--warm-start OTHER[:K]``: another study's best complete trials tried first, once."""

from __future__ import annotations

import shutil
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

import sweep
from sweep.config import IntRange, load_spec
from sweep.config._known import clip_known
from sweep.config._space import FloatRange, parse_space
from sweep.errors import ConfigError
from tests.conftest import SMALL_STUDY, assert_one_line_error, run_cli


def write(tmp_path: Path, name: str, trials: int, space_edit: tuple[str, str] = ("", "")) -> str:
    text = SMALL_STUDY.format(name=name, trials=trials, epochs=2)
    if space_edit[0]:
        assert space_edit[0] in text
        text = text.replace(*space_edit)
    (tmp_path / f"{name}.toml").write_text(text)
    return f"{name}.toml"


def best(url: str, name: str, k: int) -> list[optuna.trial.FrozenTrial]:
    study = optuna.load_study(study_name=name, storage=url)
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    return sorted(complete, key=lambda t: t.value, reverse=True)[:k]


@pytest.fixture(scope="module")
def old_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An earlier study of 8 trials, ``old``, in an SQLite file."""
    folder = tmp_path_factory.mktemp("old")
    path = folder / "w.db"
    spec = load_spec(folder / write(folder, "old", 8))
    sweep.run_study(spec, storage=f"sqlite:///{path}", display="none")
    return path


@pytest.fixture
def earlier(tmp_path: Path, old_db: Path) -> str:
    """A copy of ``old_db`` in this test's folder, as a URL."""
    for part in old_db.parent.glob("w.db*"):  # the database and its write-ahead log
        shutil.copy(part, tmp_path / part.name)
    return f"sqlite:///{tmp_path}/w.db"


def test_the_best_trials_of_another_study_run_first_and_once(tmp_path: Path, earlier) -> None:
    url = earlier
    new = tmp_path / write(tmp_path, "new", 5)
    sweep.run_study(load_spec(new), storage=url, warm_start="old:3", display="none")
    trials = optuna.load_study(study_name="new", storage=url).trials
    assert [t.params for t in trials[:3]] == [t.params for t in best(url, "old", 3)]
    assert all("fixed_params" in t.system_attrs for t in trials[:3])
    assert not any("fixed_params" in t.system_attrs for t in trials[3:])

    sweep.run_study(load_spec(new), storage=url, warm_start="old:3", n_trials=7, display="none")
    trials = optuna.load_study(study_name="new", storage=url).trials
    assert len(trials) == 7  # an enqueued trial counts toward the budget
    assert [t.number for t in trials if "fixed_params" in t.system_attrs] == [0, 1, 2]


def test_values_outside_the_space_are_an_error_unless_clipped(tmp_path: Path, earlier) -> None:
    url = earlier
    low, high = 0.05, 0.06  # a narrower learning rate than old's 1e-3..1e-1
    narrow = write(
        tmp_path,
        "narrow",
        3,
        ("lr = { low = 1e-3, high = 1e-1, log = true }", f"lr = {{ low = {low}, high = {high} }}"),
    )
    top = best(url, "old", 10)
    outside = next(t for t in top if not low <= t.params["lr"] <= high)
    out = run_cli("run", narrow, "--storage", url, "--warm-start", "old", cwd=tmp_path)
    assert_one_line_error(
        out,
        "--warm-start",
        f"trial {outside.number} of study 'old'",
        "lr",
        repr(outside.params["lr"]),
        f"{low}..{high}",
        "--warm-start-clip",
    )
    assert "narrow" not in [s.study_name for s in optuna.get_all_study_summaries(url)]

    sweep.run_study(
        load_spec(tmp_path / narrow),
        storage=url,
        warm_start="old:3",
        warm_start_clip=True,
        display="none",
    )
    trials = optuna.load_study(study_name="narrow", storage=url).trials
    assert all(low <= t.params["lr"] <= high for t in trials)
    assert [t.params["depth"] for t in trials] == [t.params["depth"] for t in top[:3]]


def test_clipping_moves_numbers_into_range_and_leaves_choices_to_the_sampler() -> None:
    space = parse_space(
        {
            "depth": {"low": 1, "high": 9, "step": 4},
            "lr": {"low": 1e-3, "high": 1e-1, "log": True},
            "activation": ["relu", "tanh"],
            "width": 16,
        }
    )
    assert isinstance(space.depth, IntRange) and isinstance(space.lr, FloatRange)
    params, changed = clip_known(
        space, {"depth": 12, "lr": 0.5, "activation": "sum", "width": 64, "loss": "bce"}
    )
    assert params == {"depth": 9, "lr": 0.1}
    assert len(changed) == 3 and any("activation = 'sum'" in c for c in changed)
    assert clip_known(space, {"depth": 4})[0] == {"depth": 5}  # onto the step: 1, 5, 9


@pytest.mark.parametrize(
    "warm, needles",
    [
        ("nosuch", ["--warm-start", "study 'nosuch' not found", "old"]),
        ("old:0", ["--warm-start", "'old:0'", "K at least 1"]),
        ("reg", ["--warm-start", "study 'reg' is a regression study", "binary"]),
    ],
)
def test_a_bad_warm_start_is_one_line(tmp_path: Path, earlier, warm, needles) -> None:
    url = earlier
    if warm == "reg":
        reg = write(
            tmp_path,
            "reg",
            1,
            ('source = "moons"\nn_samples = 240\nnoise = 0.25', 'source = "diabetes"'),
        )
        text = (
            (tmp_path / reg)
            .read_text()
            .replace('loss = ["bce", "mse", "quartic"]', 'loss = ["mse"]')
        )
        (tmp_path / reg).write_text(text)
        sweep.run_study(load_spec(tmp_path / reg), storage=url, display="none")
    new = write(tmp_path, "new", 2)
    out = run_cli("run", new, "--storage", url, "--warm-start", warm, cwd=tmp_path)
    assert_one_line_error(out, *needles)
    assert "new" not in [s.study_name for s in optuna.get_all_study_summaries(url)]


def test_a_warm_start_from_another_storage(tmp_path: Path, earlier) -> None:
    other = f"sqlite:///{tmp_path}/elsewhere.db"
    new = write(tmp_path, "new", 3)
    spec = load_spec(tmp_path / new)
    sweep.run_study(
        spec, storage=other, warm_start="old:2", warm_start_storage=earlier, display="none"
    )
    trials = optuna.load_study(study_name="new", storage=other).trials
    assert [t.params for t in trials[:2]] == [t.params for t in best(earlier, "old", 2)]
    with pytest.raises(ConfigError, match="--warm-start: storage: no database at"):
        sweep.run_study(
            spec, storage=other, warm_start="old", warm_start_storage=str(tmp_path / "none.db")
        )
    assert not (tmp_path / "none.db").exists()
