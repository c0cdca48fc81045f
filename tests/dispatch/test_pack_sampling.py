"""The trials of a pack are sampled with the constant liar: each sees the ones before it."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from sweep.config import load_spec
from sweep.dispatch._coordinator import _show_to_sampler
from sweep.space import sample_config
from sweep.storage import open_storage

SPACE = """
[study]
name = "s"
[data]
source = "moons"
[space]
depth = { low = 1, high = 4 }
width = { low = 4, high = 256, log = true }
lr = { low = 1e-4, high = 1e-1, log = true }
"""


class Watching(optuna.samplers.TPESampler):
    """TPE that notes, at each relative sampling, how many running trials had parameters."""

    def __init__(self) -> None:
        super().__init__(seed=0, n_startup_trials=2, constant_liar=True)
        self.running_with_params: list[int] = []

    def sample_relative(self, study, trial, search_space):
        seen = study._get_trials(deepcopy=False, states=(TrialState.RUNNING,), use_cache=True)
        self.running_with_params.append(sum(1 for t in seen if t.params))
        return super().sample_relative(study, trial, search_space)


def test_each_trial_of_a_pack_sees_the_earlier_ones(tmp_path) -> None:
    (tmp_path / "s.toml").write_text(SPACE)
    spec = load_spec(tmp_path / "s.toml")
    sampler = Watching()
    storage = open_storage(f"sqlite:///{tmp_path}/p.db", create=True)
    study = optuna.create_study(storage=storage, sampler=sampler, direction="maximize")
    for value in (0.5, 0.7):
        trial = study.ask()
        sample_config(spec.space, trial)
        study.tell(trial, value)
    sampler.running_with_params.clear()

    pack = [study.ask() for _ in range(4)]  # asked together, as the coordinator does
    configs = []
    for trial in pack:
        configs.append(sample_config(spec.space, trial))
        _show_to_sampler(study, trial)

    assert sampler.running_with_params == [0, 1, 2, 3]
    stored = {t.number: t.params for t in study.get_trials(states=(TrialState.RUNNING,))}
    assert [stored[t.number] for t in pack] == [t.params for t in pack]
