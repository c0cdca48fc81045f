"""From an Optuna trial to a TrialConfig: what is asked, what is conditional, what is fixed."""

from __future__ import annotations

import optuna

from sweep.config import parse_spec
from sweep.space import TrialConfig, sample_config, trial_seed


def _spec(space: dict) -> object:
    return parse_spec({"study": {"name": "s"}, "data": {"source": "moons"}, "space": space})


def _ask(space: dict, n: int = 40, seed: int = 0) -> list[tuple[TrialConfig, dict]]:
    spec = _spec(space)
    study = optuna.create_study(
        sampler=optuna.samplers.RandomSampler(seed=seed), direction="maximize"
    )
    out = []
    for _ in range(n):
        trial = study.ask()
        config = sample_config(spec.space, trial)  # type: ignore[attr-defined]
        out.append((config, dict(trial.params)))
        study.tell(trial, 0.5)
    return out


def test_fixed_values_are_not_asked() -> None:
    (config, params), *_ = _ask({"depth": 3, "width": 16, "lr": 0.01}, n=1)
    assert params == {}
    assert config.widths == (16, 16, 16) and config.lr == 0.01 and config.optimizer == "adam"


def test_ranges_and_choices_stay_in_bounds() -> None:
    for config, params in _ask(
        {
            "depth": {"low": 1, "high": 4},
            "width": {"low": 4, "high": 256, "log": True},
            "lr": {"low": 1e-4, "high": 1e-1, "log": True},
            "optimizer": ["sgd", "adam"],
        }
    ):
        assert 1 <= config.depth <= 4 and 4 <= config.widths[0] <= 256
        assert 1e-4 <= config.lr <= 1e-1 and config.optimizer in ("sgd", "adam")
        assert set(params) == {"depth", "width", "lr", "optimizer"}


def test_conditional_dimensions_only_where_they_apply() -> None:
    space = {
        "activation": ["relu", "split"],
        "split_fraction": {"low": 0.2, "high": 0.8},
        "optimizer": ["sgd", "adam"],
        "momentum": {"low": 0.5, "high": 0.99},
        "scheduler": ["none", "step"],
        "step_size": {"low": 1, "high": 5},
        "gamma": {"low": 0.5, "high": 0.9},
    }
    seen = set()
    for config, params in _ask(space):
        seen.add((config.activation, config.optimizer, config.scheduler))
        assert ("split_fraction" in params) == (config.activation == "split")
        assert (config.split_fraction is not None) == (config.activation == "split")
        assert ("momentum" in params) == (config.optimizer == "sgd")
        assert (config.momentum is None) == (config.optimizer == "adam")
        assert ("step_size" in params) == (config.scheduler == "step") == ("gamma" in params)
    assert len(seen) >= 6


def test_per_layer_widths() -> None:
    for config, params in _ask(
        {"depth": {"low": 1, "high": 4}, "width": {"low": 4, "high": 64}, "per_layer_width": True}
    ):
        assert {k for k in params if k.startswith("width_")} == {
            f"width_{i}" for i in range(config.depth)
        }
        assert config.widths == tuple(params[f"width_{i}"] for i in range(config.depth))


def test_pinned_widths() -> None:
    (config, _), *_ = _ask({"widths": [20, 50, 100, 500, 100, 50, 20]}, n=1)
    assert config.depth == 7 and config.widths[3] == 500


def test_config_round_trips_and_seed() -> None:
    (config, _), *_ = _ask({"activation": "split"}, n=1)
    assert TrialConfig.from_dict(config.to_dict()) == config
    assert trial_seed(10, 3) == 13
