"""Starting a study from another study's best trials (``sweep run --warm-start OTHER[:K]``).

The best K complete trials of OTHER are turned into configurations of this study's space
(the parameters it searches; the rest it fixes or samples) and queued first, once per
study, like the study file's ``[[enqueue]]`` tables.
"""

from __future__ import annotations

import logging
from typing import Any

import optuna
from optuna.study import StudyDirection
from optuna.trial import TrialState

from sweep.config._known import check_known, clip_known, searched
from sweep.config._space import SpaceSpec
from sweep.errors import ConfigError, SpecValueError
from sweep.objectives import metric_of
from sweep.study._keys import DATA_KEY

log = logging.getLogger("sweep")

DEFAULT_WARM = 10  # trials taken from the other study when OTHER carries no :K


def parse_warm_start(text: str) -> tuple[str, int]:
    """``OTHER`` or ``OTHER:K`` as (study name, K).

    Raises:
        ConfigError: at ``--warm-start``: an empty name, or K below 1.
    """
    name, sep, tail = text.rpartition(":")
    if not (sep and tail.strip().lstrip("-").isdigit()):
        name, tail = text, str(DEFAULT_WARM)
    k = int(tail)
    if not name or k < 1:
        raise ConfigError(
            "--warm-start", "", f"{text!r}: expected OTHER or OTHER:K with K at least 1"
        )
    return name, k


def warm_start_configs(
    other: optuna.Study, space: SpaceSpec, task: str, k: int, *, clip: bool = False
) -> list[dict[str, Any]]:
    """The best ``k`` complete trials of ``other`` (in its direction, best first) as
    configurations of ``space``: the parameters ``space`` searches, each checked (or,
    with ``clip``, moved) into its range.

    Raises:
        ConfigError: at ``--warm-start``: ``other`` is of another task or has no
            complete trial, or (without ``clip``) a value lies outside the space, naming
            the trial, the key, the value and the range.
    """
    name = other.study_name
    theirs = (other.user_attrs.get(DATA_KEY) or {}).get("task")
    if theirs is not None and theirs != task:
        raise ConfigError(
            "--warm-start", "", f"study {name!r} is a {theirs} study; this one is {task}"
        )
    complete = [
        t for t in other.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)) if t.values
    ]
    if not complete:
        raise ConfigError("--warm-start", "", f"study {name!r} has no complete trial to start from")
    maximize = other.directions[0] == StudyDirection.MAXIMIZE  # the metric
    complete.sort(key=lambda t: float(metric_of(t) or 0.0), reverse=maximize)
    dims = searched(space)
    out: list[dict[str, Any]] = []
    for t in complete[:k]:
        params = {key: value for key, value in t.params.items() if key in dims}
        if clip:
            params, changed = clip_known(space, params)
            for what in changed:
                log.warning("warm start from trial %d of study %r: %s", t.number, name, what)
        else:
            try:
                check_known(space, params)
            except SpecValueError as e:
                raise ConfigError(
                    "--warm-start",
                    "",
                    f"trial {t.number} of study {name!r}: {e.key}: {e.message} "
                    "(--warm-start-clip moves it into range)",
                ) from None
        out.append(params)
    return out
