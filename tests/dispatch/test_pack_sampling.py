"""The trials of a pack are sampled with the constant liar: each sees the ones before it."""

from __future__ import annotations

import optuna
from optuna.trial import TrialState

from sweep.config import load_spec
from sweep.storage import open_storage
from sweep.study import PackView

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
    """TPE that notes, at each relative sampling, how many other running trials it saw
    with parameters, read as TPE reads them with the constant liar (from the storage)."""

    def __init__(self) -> None:
        super().__init__(seed=0, n_startup_trials=2, constant_liar=True)
        self.running_with_params: list[int] = []

    def sample_relative(self, study, trial, search_space):
        seen = study._get_trials(deepcopy=False, states=(TrialState.RUNNING,), use_cache=False)
        self.running_with_params.append(
            sum(1 for t in seen if t.params and t.number != trial.number)
        )
        return super().sample_relative(study, trial, search_space)


def test_each_trial_of_a_pack_sees_the_earlier_ones(tmp_path) -> None:
    (tmp_path / "s.toml").write_text(SPACE)
    spec = load_spec(tmp_path / "s.toml")
    sampler = Watching()
    storage = open_storage(f"sqlite:///{tmp_path}/p.db", create=True)
    study = optuna.create_study(storage=storage, sampler=sampler, direction="maximize")
    for value in (0.5, 0.7):
        trial = study.ask()
        trial.suggest_int("depth", 1, 4)
        trial.suggest_int("width", 4, 256, log=True)
        trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        study.tell(trial, value)
    sampler.running_with_params.clear()

    view = PackView(study, {})  # as the coordinator samples a pack
    asked: list[int] = []
    view.ask(4, asked)
    pack, _configs = view.sample(spec.space, asked)
    # Each member saw the ones before it, though nothing of the pack is written yet.
    assert sampler.running_with_params == [0, 1, 2, 3]
    running = storage.get_all_trials(study._study_id, states=(TrialState.RUNNING,))
    assert [t.params for t in running] == [{}] * 4
    view.flush()

    stored = {t.number: t.params for t in study.get_trials(states=(TrialState.RUNNING,))}
    assert [stored[t.number] for t in pack] == [t.params for t in pack]
    # TPE's note of each trial's jointly sampled parameters is not needed: they are
    # all written before another process can see the trial.
    assert not any(k.startswith("tpe:relative_params") for a in view.system.values() for k in a)
