"""Reading every trial of a study quickly.

Optuna's RDB storage builds each trial through the ORM: on SQLite, 10,000
trials with their attributes and per-epoch values take over ten seconds,
most of it in object bookkeeping and in parsing the same distribution JSON
again for every parameter. Reports read whole studies, so this module reads
Optuna's tables with one plain SELECT per table (through Optuna's own table
definitions, so column names and types follow its schema) and builds the
same ``FrozenTrial`` objects. Any other storage, and any database whose schema
revision is not the one ``sweep.study._optuna_internals`` knows, uses Optuna's API.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Container, Iterable
from typing import Any

import optuna
import sqlalchemy
from optuna.distributions import BaseDistribution, json_to_distribution
from optuna.trial import FrozenTrial, TrialState

from sweep.study import _optuna_internals as internals


def read_trials(
    study: optuna.Study, *, states: Container[TrialState] | None = None
) -> list[FrozenTrial]:
    """Every trial of ``study`` (or those in ``states``), ordered by number.

    The trials are shared, not copied: do not modify them.

    Args:
        study: A study on any storage.
        states: Only trials in these states; all when None.

    Returns:
        The trials, equal to what ``study.get_trials(states=states)`` returns.
    """
    backend = internals.rdb(internals.storage_of(study))
    if backend is not None:
        wanted = None if states is None else [s for s in TrialState if s in states]
        return _read_rdb(backend.engine, internals.study_id(study), wanted)
    trials = study.get_trials(deepcopy=False, states=None)
    return [t for t in trials if states is None or t.state in states]


def trial_states(study: optuna.Study) -> list[TrialState]:
    """The state of every trial of ``study``, by number, without reading the trials."""
    backend = internals.rdb(internals.storage_of(study))
    if backend is not None:
        trials = _tables().trials
        query = (
            sqlalchemy.select(trials.c.state)
            .where(trials.c.study_id == internals.study_id(study))
            .order_by(trials.c.number)
        )
        with backend.engine.connect() as conn:
            return [row[0] for row in conn.execute(query)]
    return [t.state for t in study.get_trials(deepcopy=False)]


def _local(utc: dt.datetime | None) -> dt.datetime | None:
    # Optuna stores naive UTC and hands out naive local time; do the same.
    if utc is None:
        return None
    return utc.replace(tzinfo=dt.timezone.utc).astimezone().replace(tzinfo=None)


def _rows(
    conn: sqlalchemy.Connection, table: sqlalchemy.Table, columns: Iterable[str], where: Any
) -> Any:
    trials = _tables().trials
    query = sqlalchemy.select(*[table.c[c] for c in columns]).join(
        trials, table.c.trial_id == trials.c.trial_id
    )
    return conn.execute(query.where(where))


class _Tables:
    def __init__(self) -> None:
        models = internals.rdb_tables()
        self.models = models
        self.trials = models.TrialModel.__table__
        self.params = models.TrialParamModel.__table__
        self.values = models.TrialValueModel.__table__
        self.user = models.TrialUserAttributeModel.__table__
        self.system = models.TrialSystemAttributeModel.__table__
        self.steps = models.TrialIntermediateValueModel.__table__


_TABLES: _Tables | None = None


def _tables() -> _Tables:
    global _TABLES
    if _TABLES is None:
        _TABLES = _Tables()
    return _TABLES


def _read_rdb(
    engine: sqlalchemy.Engine, study_id: int, states: list[TrialState] | None
) -> list[FrozenTrial]:
    t = _tables()
    models = t.models
    where = t.trials.c.study_id == study_id
    if states is not None:
        where = sqlalchemy.and_(where, t.trials.c.state.in_(states))
    values: dict[int, dict[int, float]] = defaultdict(dict)
    params: dict[int, list[tuple[int, str, float, str]]] = defaultdict(list)
    user: dict[int, dict[str, Any]] = defaultdict(dict)
    system: dict[int, dict[str, Any]] = defaultdict(dict)
    steps: dict[int, dict[int, float]] = defaultdict(dict)
    with engine.connect() as conn:
        base = conn.execute(
            sqlalchemy.select(
                t.trials.c.trial_id,
                t.trials.c.number,
                t.trials.c.state,
                t.trials.c.datetime_start,
                t.trials.c.datetime_complete,
            )
            .where(where)
            .order_by(t.trials.c.trial_id)
        ).all()
        to_value = models.TrialValueModel.stored_repr_to_value
        for tid, objective, value, kind in _rows(
            conn, t.values, ("trial_id", "objective", "value", "value_type"), where
        ):
            values[tid][objective] = to_value(value, kind)
        for row in _rows(
            conn,
            t.params,
            ("trial_id", "param_id", "param_name", "param_value", "distribution_json"),
            where,
        ):
            params[row[0]].append(tuple(row[1:]))
        for tid, key, raw in _rows(conn, t.user, ("trial_id", "key", "value_json"), where):
            user[tid][key] = json.loads(raw)
        for tid, key, raw in _rows(conn, t.system, ("trial_id", "key", "value_json"), where):
            system[tid][key] = json.loads(raw)
        to_step = models.TrialIntermediateValueModel.stored_repr_to_intermediate_value
        for tid, step, value, kind in _rows(
            conn,
            t.steps,
            ("trial_id", "step", "intermediate_value", "intermediate_value_type"),
            where,
        ):
            steps[tid][step] = to_step(value, kind)
    # Most trials share a handful of distributions: parse each JSON text once.
    parsed: dict[str, BaseDistribution] = {}
    out = []
    for tid, number, state, start, complete in base:
        names: dict[str, Any] = {}
        dists: dict[str, BaseDistribution] = {}
        for _pid, name, internal, text in sorted(params.get(tid, ())):
            dist = parsed.get(text)
            if dist is None:
                dist = parsed[text] = json_to_distribution(text)
            dists[name] = dist
            names[name] = dist.to_external_repr(internal)
        trial_values = values.get(tid)
        out.append(
            FrozenTrial(
                number=number,
                state=state,
                value=None,
                values=[trial_values[k] for k in sorted(trial_values)] if trial_values else None,
                datetime_start=_local(start),
                datetime_complete=_local(complete),
                params=names,
                distributions=dists,
                user_attrs=user.get(tid, {}),
                system_attrs=system.get(tid, {}),
                intermediate_values=steps.get(tid, {}),
                trial_id=tid,
            )
        )
    out.sort(key=lambda trial: trial.number)
    return out
