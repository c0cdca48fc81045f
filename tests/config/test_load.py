"""The study-file parser: a good file round-trips; each bad file gets a one-line error
naming the file, the key and (for closed sets) the valid choices."""

from __future__ import annotations

from pathlib import Path

import pytest

from sweep.config import (
    Choice,
    Fixed,
    FloatRange,
    IntRange,
    fingerprint,
    load_spec,
    parse_spec,
    spec_to_table,
)
from sweep.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]

GOOD = """
[study]
name = "good"
trials = 12

[data]
source = "moons"
n_samples = 300

[train]
epochs = 4

[space]
depth = { low = 1, high = 3 }
width = { low = 4, high = 64, log = true }
activation = ["relu", "tanh", "split", "sum"]
loss = ["bce", "mse", "quartic"]
optimizer = ["sgd", "adam"]
lr = { low = 1e-4, high = 0.1, log = true }
batch_size = [16, 32]

[pinned.reference]
depth = 2
width = 16
activation = "relu"
loss = "bce"
optimizer = "adam"
lr = 0.01
batch_size = 32
"""


def test_good_file_parses_into_typed_dimensions(tmp_path: Path) -> None:
    path = tmp_path / "good.toml"
    path.write_text(GOOD)
    spec = load_spec(path)
    assert spec.name == "good" and spec.study.trials == 12 and spec.task == "binary"
    assert spec.space.depth == IntRange(1, 3)
    assert spec.space.width == IntRange(4, 64, log=True)
    assert spec.space.activation == Choice(("relu", "tanh", "split", "sum"))
    assert spec.space.lr == FloatRange(1e-4, 0.1, log=True)
    assert spec.space.momentum == Fixed(0.9)
    assert spec.data.options.n_samples == 300
    pinned = spec.pinned_config("reference").space
    assert pinned.is_fixed() and pinned.width == Fixed(16) and pinned.lr == Fixed(0.01)


def test_spec_round_trips_through_its_table(tmp_path: Path) -> None:
    path = tmp_path / "good.toml"
    path.write_text(GOOD)
    spec = load_spec(path)
    again = parse_spec(spec_to_table(spec), source=str(path))
    assert again == spec
    assert fingerprint(again) == fingerprint(spec)


def test_fingerprint_ignores_budget_but_not_space(tmp_path: Path) -> None:
    base = parse_spec({"study": {"name": "a"}, "data": {"source": "moons"}})
    more = parse_spec(
        {"study": {"name": "a", "trials": 500, "seed": 3}, "data": {"source": "moons"}}
    )
    other = parse_spec(
        {"study": {"name": "a"}, "data": {"source": "moons"}, "train": {"epochs": 3}}
    )
    assert fingerprint(base) == fingerprint(more)
    assert fingerprint(base) != fingerprint(other)


def test_task_default_loss_is_filled_in() -> None:
    spec = parse_spec({"study": {"name": "r"}, "data": {"source": "function"}})
    assert spec.task == "regression" and spec.space.loss == Fixed("mse")


def test_every_shipped_study_file_parses() -> None:
    files = sorted((REPO / "studies").glob("*.toml"))
    assert files, "no study files"
    for path in files:
        spec = load_spec(path)
        assert spec.name and spec.study.trials >= 1


# (file text, key the error must name, words the message must hold)
BAD = [
    ("[study\nname='x'", "", "malformed TOML"),
    ("[study]\nname='x'\n[data]\nsource='moons'\n[nonsense]\n", "nonsense", "valid: study, data"),
    ("[data]\nsource='moons'\n", "study", "missing section"),
    ("[study]\nname='x'\n", "data", "missing section"),
    ("[study]\nname='x'\ntrails=3\n[data]\nsource='moons'\n", "study.trails", "valid: direction"),
    (
        "[study]\nname='x'\ntrials='many'\n[data]\nsource='moons'\n",
        "study.trials",
        "expected an integer",
    ),
    ("[study]\nname='x'\ntrials=0\n[data]\nsource='moons'\n", "study.trials", "at least 1"),
    ("[study]\nname='a b'\n[data]\nsource='moons'\n", "study.name", "not a valid study name"),
    (
        "[study]\nname='x'\nsampler='bayes'\n[data]\nsource='moons'\n",
        "study.sampler",
        "valid: tpe, random, qmc, gp, cmaes, grid",
    ),
    (
        "[study]\nname='x'\npruner='wise'\n[data]\nsource='moons'\n",
        "study.pruner",
        "valid: median, percentile",
    ),
    (
        "[study]\nname='x'\ndirection='minimize'\n[data]\nsource='moons'\n",
        "study.direction",
        "must maximize",
    ),
    ("[study]\nname='x'\n[data]\nsource='mnisst'\n", "data.source", "valid: "),
    ("[study]\nname='x'\n[data]\nsource='moons'\nnoize=0.1\n", "data.noize", "valid: "),
    ("[study]\nname='x'\n[data]\nsource='moons'\nnoise=-1\n", "data.noise", "non-negative"),
    (
        "[study]\nname='x'\n[data]\nsource='moons'\nval_fraction=0.7\ntest_fraction=0.4\n",
        "data.val_fraction",
        "below 1",
    ),
    (
        "[study]\nname='x'\n[data]\nsource='moons'\n[train]\nepochs=0\n",
        "train.epochs",
        "at least 1",
    ),
    (
        "[study]\nname='x'\n[data]\nsource='moons'\n[space]\noptimizer='adm'\n",
        "space.optimizer",
        "valid: sgd, adam, adamw, rmsprop, adagrad, adadelta",
    ),
    (
        "[study]\nname='x'\n[data]\nsource='moons'\n[space]\nactivation=['relu','gelu']\n",
        "space.activation",
        "valid: relu, tanh, split, sum",
    ),
    (
        "[study]\nname='x'\n[data]\nsource='moons'\n[space]\nloss='huber'\n",
        "space.loss",
        "valid: bce, mse, quartic, l1, smooth_l1, cross_entropy",
    ),
    (
        "[study]\nname='x'\n[data]\nsource='moons'\n[space]\nloss='cross_entropy'\n",
        "space.loss",
        "does not apply to a binary task",
    ),
    (
        "[study]\nname='x'\n[data]\nsource='function'\n[space]\nloss=['mse','bce']\n",
        "space.loss",
        "valid: mse, quartic",
    ),
    ("[study]\nname='x'\n[data]\nsource='moons'\n[space]\nlr=0\n", "space.lr", "positive"),
    (
        "[study]\nname='x'\n[data]\nsource='moons'\n[space]\nlr={low=-1,high=1}\n",
        "space.lr.low",
        "positive",
    ),
    (
        "[study]\nname='x'\n[data]\nsource='moons'\n[space]\nlr={low=0.1,high=0.01}\n",
        "space.lr",
        "empty range",
    ),
    (
        "[study]\nname='x'\n[data]\nsource='moons'\n[space]\ndepth={low=3,high=1}\n",
        "space.depth",
        "empty range",
    ),
    (
        "[study]\nname='x'\n[data]\nsource='moons'\n[space]\ndepth={low=1}\n",
        "space.depth.high",
        "missing",
    ),
    (
        "[study]\nname='x'\n[data]\nsource='moons'\n[space]\ndepth={low=1,high=2.5}\n",
        "space.depth.high",
        "expected an integer",
    ),
    ("[study]\nname='x'\n[data]\nsource='moons'\n[space]\nwidth=[]\n", "space.width", "empty list"),
    (
        "[study]\nname='x'\n[data]\nsource='moons'\n[space]\nwidth='wide'\n",
        "space.width",
        "expected a number",
    ),
    (
        "[study]\nname='x'\n[data]\nsource='moons'\n[space]\nactivation={low=1,high=2}\n",
        "space.activation",
        "range is not valid",
    ),
    ("[study]\nname='x'\n[data]\nsource='moons'\n[space]\nwidthh=3\n", "space.widthh", "valid: "),
    (
        "[study]\nname='x'\n[data]\nsource='moons'\n[space]\ndropout=1.0\n",
        "space.dropout",
        "in [0, 1)",
    ),
    ("[study]\nname='x'\n[data]\nsource='moons'\n[run]\npack=0\n", "run.pack", "at least 1"),
    (
        "[study]\nname='x'\n[data]\nsource='moons'\n[space]\nlr={low=1e-3,high=1e-1}\n[pinned.ref]\ndepth=2\n",
        "pinned.ref.lr",
        "must give it",
    ),
    (
        "[study]\nname='x'\n[data]\nsource='moons'\n[space]\nwidths=[8,8]\ndepth=3\n",
        "space.depth",
        "conflicts with widths",
    ),
    (
        "[study]\nname='x'\n[data]\nsource='moons'\n[space]\nreduction='max'\n",
        "space.reduction",
        "valid: mean, sum",
    ),
    (
        "[study]\nname='x'\n[data]\nsource='moons'\n[space]\ninit='xavier'\n",
        "space.init",
        "valid: default, normal",
    ),
    (
        "[study]\nname='x'\n[data]\nsource='moons'\n[space]\nactivations=['sum','gelu']\n"
        "widths=[4,4]\n",
        "space.activations",
        "valid: relu, tanh, split, sum",
    ),
    (
        "[study]\nname='x'\n[data]\nsource='moons'\n[space]\nactivations=['sum','relu']\n"
        "depth={low=1,high=3}\n",
        "space.activations",
        "depth must be fixed",
    ),
    (
        "[study]\nname='x'\n[data]\nsource='moons'\n[space]\nactivations=['sum']\n"
        "activation='relu'\ndepth=1\n",
        "space.activations",
        "cannot be combined with activation",
    ),
    (
        "[study]\nname='x'\n[data]\nsource='moons'\n[pinned.ref]\nepochs=0\n",
        "pinned.ref.epochs",
        "at least 1",
    ),
]


TUTORIAL = (
    GOOD
    + """
[pinned.tutorial]
widths = [8, 4]
activations = ["sum", "relu"]
loss = "bce"
optimizer = "sgd"
momentum = 0.0
lr = 0.1
batch_size = 100000
reduction = "sum"
init = "normal"
epochs = 1000
"""
)


def test_a_pinned_table_sets_layer_activations_init_reduction_and_its_own_epochs(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tutorial.toml"
    path.write_text(TUTORIAL)
    spec = load_spec(path)
    tutorial = spec.pinned_config("tutorial")
    assert tutorial.space.activations == ("sum", "relu") and tutorial.space.is_fixed()
    assert tutorial.space.reduction == Fixed("sum") and tutorial.space.init == Fixed("normal")
    assert tutorial.train is not None and tutorial.train.epochs == 1000
    assert spec.pinned_config("reference").train is None and spec.train.epochs == 4
    assert parse_spec(spec_to_table(spec), source=str(path)) == spec


def test_a_space_without_the_later_keys_keeps_its_fingerprint(tmp_path: Path) -> None:
    """``reduction`` and ``init`` at their defaults are left out of the stored space, so a
    study created before they existed still matches its file."""
    path = tmp_path / "good.toml"
    path.write_text(GOOD)
    spec = load_spec(path)
    table = spec_to_table(spec)
    assert "reduction" not in table["space"] and "init" not in table["space"]
    path.write_text(GOOD.replace("[pinned.reference]", 'reduction = "mean"\n\n[pinned.reference]'))
    assert fingerprint(load_spec(path)) == fingerprint(spec)


@pytest.mark.parametrize(("text", "key", "words"), BAD, ids=[b[1] or b[2] for b in BAD])
def test_bad_files_name_file_key_and_choices(
    tmp_path: Path, text: str, key: str, words: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_spec(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert info.value.key == key
    assert words in message


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such study file"):
        load_spec(tmp_path / "absent.toml")
