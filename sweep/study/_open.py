"""Creating, joining and loading a study, and what sweep keeps on it."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import optuna

from sweep._choices import ObjectiveName
from sweep.config import StudySpec, fingerprint, parse_spec, resolve_for_task, spec_to_table
from sweep.errors import ConfigError, StudyNotFoundError
from sweep.metrics import Objective, objective_for
from sweep.objectives import study_directions
from sweep.study._factory import build_pruner, build_sampler
from sweep.study._keys import (
    DATA_KEY,
    ENQUEUED_KEY,
    FINGERPRINT_KEY,
    OBJECTIVE_KEY,
    OBJECTIVES_KEY,
    SPEC_KEY,
)


def study_names(storage: optuna.storages.BaseStorage) -> list[str]:
    return [s.study_name for s in storage.get_all_studies()]


def load_study(name: str, storage: optuna.storages.BaseStorage) -> optuna.Study:
    """Load an existing study (no sampler or pruner needed for reading).

    Raises:
        StudyNotFoundError: naming the studies the storage does hold.
    """
    try:
        return optuna.load_study(study_name=name, storage=storage)
    except KeyError:
        names = study_names(storage)
        valid = ", ".join(names) if names else "(none: the database holds no study)"
        raise StudyNotFoundError(
            f"study {name!r} not found in the storage; valid: {valid}"
        ) from None


def objective_of(study: optuna.Study) -> Objective:
    name = study.user_attrs.get(OBJECTIVE_KEY)
    if name == "mse":
        return Objective("mse", "minimize")
    if name == "accuracy":
        return Objective("accuracy", "maximize")
    first = study.directions[0]  # a study of several objectives: the first is the metric
    direction = "minimize" if first == optuna.study.StudyDirection.MINIMIZE else "maximize"
    return Objective("value", direction)


def objectives_of(study: optuna.Study) -> tuple[ObjectiveName, ...]:
    """The objectives of a sweep study of several (``("metric", "params")``, ...); empty
    for a study of the metric alone or one sweep did not make."""
    return tuple(study.user_attrs.get(OBJECTIVES_KEY, ()))


def spec_of(study: optuna.Study) -> StudySpec | None:
    """The study file a sweep study was created from (None for a study sweep did not make)."""
    raw = study.user_attrs.get(SPEC_KEY)
    if raw is None:
        return None
    spec = parse_spec(raw, source=f"study {study.study_name}")
    task = study.user_attrs.get(DATA_KEY, {}).get("task")
    if spec.task is None and task is not None:
        spec = dataclasses.replace(spec, space=resolve_for_task(spec.space, task), task=task)
    return spec


def open_or_create(
    spec: StudySpec, storage: optuna.storages.BaseStorage, data_summary: dict[str, Any]
) -> optuna.Study:
    """Create the study, or join it if it exists (several machines may race to create it).

    Raises:
        ConfigError: the stored study was made from a different data, training or
            space definition (its trials would not be comparable).
        ValueError: ``spec`` has no task yet (resolve it from the data first).
    """
    if spec.task is None:
        raise ValueError("open_or_create needs a spec whose task is resolved")
    objective = objective_for(spec.task)
    # The sampler's seed varies with the trials already there (see build_sampler).
    existing = 0
    try:
        existing = storage.get_n_trials(storage.get_study_id_from_name(spec.name))
    except KeyError:
        pass
    names = spec.study.objectives
    directions = study_directions(objective, names) if names else [objective.direction]
    study = optuna.create_study(
        storage=storage,
        study_name=spec.name,
        directions=directions,  # type: ignore[arg-type]
        sampler=build_sampler(spec.study, spec.space, offset=existing),
        pruner=build_pruner(spec.study, spec.train.epochs),
        load_if_exists=True,
    )
    mine = fingerprint(spec)
    theirs = study.user_attrs.get(FINGERPRINT_KEY)
    if theirs is None:
        if [d.name.lower() for d in study.directions] != directions:
            raise ConfigError(
                spec.path,
                "study.name",
                f"a study {spec.name!r} that sweep did not create already exists with "
                "another direction; choose another name",
            )
        study.set_user_attr(SPEC_KEY, spec_to_table(spec))
        study.set_user_attr(DATA_KEY, data_summary)
        study.set_user_attr(OBJECTIVE_KEY, objective.name)
        if names:
            study.set_user_attr(OBJECTIVES_KEY, list(names))
        study.set_user_attr(FINGERPRINT_KEY, mine)
    elif objectives_of(study) != tuple(names):
        raise ConfigError(
            spec.path,
            "study.objectives",
            f"study {spec.name!r} already exists with objectives "
            f"{list(objectives_of(study)) or ['metric']}, not {list(names) or ['metric']}; "
            "rename the study or restore the objectives",
        )
    elif theirs != mine:
        raise ConfigError(
            spec.path,
            "study.name",
            f"study {spec.name!r} already exists with different data, training or space "
            "settings (its trials would not compare); rename the study or restore the settings",
        )
    return study


def enqueue_known(study: optuna.Study, configs: Sequence[dict[str, Any]]) -> int:
    """Queue the configurations (a study file's ``[[enqueue]]`` tables) this study has not
    queued before, in order, ahead of the sampler's own trials; the parameters a
    configuration leaves out are sampled. Returns how many were queued now. The caller
    holds the budget lock, so two machines starting together queue each once."""
    done = list(study.user_attrs.get(ENQUEUED_KEY, []))
    new = [c for c in configs if json.dumps(c, sort_keys=True) not in done]
    for config in new:
        study.enqueue_trial(dict(config))
    if new:
        study.set_user_attr(ENQUEUED_KEY, done + [json.dumps(c, sort_keys=True) for c in new])
    return len(new)
