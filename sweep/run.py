"""Running a study: from a StudySpec to finished trials in the storage."""

from __future__ import annotations

import dataclasses
import logging
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sweep._overrides import check_limits, check_target, resolve_task, with_overrides
from sweep.ahead import Proposer
from sweep.checkpoint import ModelKeeper
from sweep.config import StudySpec
from sweep.data import load_data
from sweep.dispatch import (
    Ahead,
    Coordinator,
    available_cores,
    make_slots,
    pack_for_slots,
    plan_slots,
    resolve_devices,
)
from sweep.errors import (
    ConfigError,
    StorageError,
    StudyNotFoundError,
    TooManyFailures,
)
from sweep.metrics import objective_for
from sweep.objectives import best_of, metric_of
from sweep.progress import Board, Display, LineDisplay, LiveDisplay, describe_config
from sweep.space import TrialConfig
from sweep.storage import DEFAULT_STORAGE, artifact_dir, open_storage, redact
from sweep.study import (
    StopRule,
    budget_lock,
    clear_stop,
    counts,
    enqueue_known,
    grid_size,
    load_study,
    open_or_create,
    parse_warm_start,
    record_run_end,
    recorded_stop,
    warm_start_configs,
)
from sweep.study import _optuna_internals as internals

if TYPE_CHECKING:
    from sweep.data import DataBundle
    from sweep.dispatch._memory import DeviceMemory
    from sweep.dispatch._slots import Slot

log = logging.getLogger("sweep")

DisplayMode = Literal["auto", "live", "lines", "none"]


@dataclass(frozen=True)
class RunSummary:
    """What a run did, and where the study stands after it."""

    study: str
    storage: str  # the URL, password hidden
    budget: int
    finished: int  # complete + pruned trials in the study now
    complete: int  # in this run
    pruned: int
    failed: int
    retried: int
    recovered: tuple[int, ...]  # trials of a dead earlier run failed and re-queued
    best_number: int | None
    best_value: float | None
    objective: str
    slots: tuple[str, ...]
    pack: int  # trials a slot is given at once; 0 where ``auto`` and nothing ran
    wall_seconds: float
    coordinator_seconds: float  # sampler, storage and dispatch work (overlaps training on workers)
    sampler_seconds: float  # of which: asking the sampler (and waiting for the proposer)
    ahead_seconds: float = 0.0  # sampling done meanwhile in the proposer process (sweep.ahead)
    # Why the run ended: "budget met", "time limit", "target reached" or "plateau" (a study
    # stopped before says so too, and runs nothing); what decided it, in words.
    stopped: str = "budget met"
    stop_detail: str = ""


def _display(mode: DisplayMode, board: Board) -> Display:
    if mode == "none":
        return Display(board)
    if mode == "live" or (mode == "auto" and sys.stdout.isatty()):
        return LiveDisplay(board)
    return LineDisplay(board)


def run_study(
    spec: StudySpec,
    *,
    storage: str = DEFAULT_STORAGE,
    n_trials: int | None = None,
    seed: int | None = None,
    devices: str | None = None,
    per_device: int | None = None,
    pack: int | str | None = None,
    pinned: str | None = None,
    display: DisplayMode = "auto",
    sample_ahead: bool = False,
    timeout: float | str | None = None,
    target: float | None = None,
    go_on: bool = False,
    warm_start: str | None = None,
    warm_start_storage: str | None = None,
    warm_start_clip: bool = False,
) -> RunSummary:
    """Run (or resume) a study until it has its budget of finished trials.

    ``n_trials`` is a total of finished (complete or pruned) trials, not an
    increment: a second run with the same number does nothing more. Everything is
    validated - the spec, the data, the devices, the storage - before anything is
    written to the storage.

    Args:
        spec: The study, from :func:`sweep.load_spec`.
        storage: SQLAlchemy URL or SQLite path (default ``sqlite:///sweeps.db``).
        n_trials: Override of ``study.trials``.
        seed: Override of ``study.seed``.
        devices: ``auto``, ``cpu``, ``cuda`` or ``cuda:0,cuda:1`` (override of ``run.devices``).
        per_device: Worker slots per device (override of ``run.per_device``).
        pack: Trials trained together per slot: ``auto``, or a number (1 = alone).
        pinned: Run the named ``[pinned.*]`` configuration instead of searching,
            as study ``<name>.<pinned>`` (``n_trials`` seeds of it, default 1).
        display: ``auto`` (live on a terminal, lines otherwise), ``live``, ``lines``, ``none``.
        sample_ahead: With one slot and TPE, sample each next pack in a second process
            while the current one trains (``sweep.ahead``), which on the CPU takes one
            of the training's cores. Pays where sampling is a large part of the time:
            many short trials, or a GPU that trains faster than TPE samples.
        timeout: Seconds (or ``90s``, ``30m``, ``2h``) this run may take (override of
            ``study.timeout``): after it no trial starts, and running ones stop at their
            next epoch, failed as ``stopped: time limit`` and queued again for a rerun.
        target: Override of ``study.target``: the study stops once a complete trial
            reaches this value (its running trials stop as at a time limit).
        go_on: Run a study that stopped at its target or plateau anyway (``--continue``):
            the stop is forgotten, and this run stops at neither.
        warm_start: ``OTHER`` or ``OTHER:K``: queue the best K (default 10) complete
            trials of study OTHER first, once per study (``--warm-start``).
        warm_start_storage: Where OTHER lives, if not in ``storage``.
        warm_start_clip: Move OTHER's values that lie outside this study's space into
            it, instead of the error.

    Returns:
        A RunSummary.

    Raises:
        ConfigError: a bad override, device or data/loss combination.
        DataError: the data cannot be loaded.
        StorageError: the storage cannot be opened.
    """
    spec = with_overrides(
        spec,
        n_trials=n_trials,
        seed=seed,
        devices=devices,
        per_device=per_device,
        pack=pack,
        pinned=pinned,
        timeout=timeout,
        target=target,
    )
    deadline = None if spec.study.timeout is None else time.monotonic() + spec.study.timeout
    device_names = resolve_devices(spec.run.devices)
    plans = plan_slots(device_names, spec.run.per_device)
    data = load_data(spec.data)
    spec = resolve_task(spec, data.task)
    objective = objective_for(data.task)
    check_target(spec, objective, flag=target is not None)
    check_limits(spec, data.n_features, data.n_outputs)
    if spec.study.sampler == "grid" and spec.study.trials > grid_size(spec.space):
        size = grid_size(spec.space)
        log.warning(
            "the grid has %d combinations; study %r runs %d trials, not %d",
            size,
            spec.name,
            size,
            spec.study.trials,
        )
        spec = dataclasses.replace(spec, study=dataclasses.replace(spec.study, trials=size))
    # An automatic pack size waits for the slots: their processes measure the devices.
    pack_size = 0 if spec.run.pack == "auto" else spec.run.pack

    warm: list[dict[str, Any]] = []
    if warm_start is not None and pinned is None:  # read before anything is written
        other_name, k = parse_warm_start(warm_start)
        try:
            other = load_study(
                other_name, open_storage(warm_start_storage or storage, create=False)
            )
        except (StudyNotFoundError, StorageError) as e:
            raise ConfigError("--warm-start", "", str(e)) from None
        warm = warm_start_configs(other, spec.space, data.task, k, clip=warm_start_clip)
    rdb = open_storage(storage, create=True, heartbeat=spec.run.heartbeat)
    study = open_or_create(spec, rdb, data.summary())
    rule = (
        None
        if pinned is not None
        else StopRule(
            maximize=objective.direction == "maximize",
            target=spec.study.target,
            patience=spec.study.patience,
            min_delta=spec.study.min_delta,
        )
    )
    if go_on and rule is not None:
        clear_stop(study)
        rule = None
        log.info("study %r goes on; this run stops at neither target nor plateau", spec.name)
    earlier = recorded_stop(study) if rule is not None else None
    if earlier is not None and rule is not None and earlier.settings != rule.settings():
        clear_stop(study)  # a changed target or patience: the question is a new one
        earlier = None
    known = [*spec.enqueue, *warm] if pinned is None and earlier is None else []
    if known:
        with budget_lock(rdb, spec.name):
            queued = enqueue_known(study, known)
        if queued:
            log.info("queued %d known configurations ([[enqueue]], --warm-start)", queued)
    keeper = (
        ModelKeeper(study, artifact_dir(storage), spec.study.keep_models, objective, data)
        if spec.study.keep_models > 0
        else None
    )
    board = Board(study=spec.name, budget=spec.study.trials, objective=objective)
    for t in study.get_trials(deepcopy=False):
        state = t.state.name.lower()
        if state in ("complete", "pruned"):
            board.finished += 1
        if state in ("complete", "pruned", "fail"):
            setattr(
                board,
                "failed" if state == "fail" else state,
                getattr(board, "failed" if state == "fail" else state) + 1,
            )
        if state == "complete" and (v := metric_of(t)) is not None and "config" in t.user_attrs:
            board.add_leader(
                v, t.number, describe_config(TrialConfig.from_dict(t.user_attrs["config"]))
            )
    stats: Any = None
    finished, _running = counts(study)
    if finished < spec.study.trials and earlier is None:
        board.slots = {p.name: "starting" for p in plans}
        ahead = _proposer(spec, storage, study, plans, sample_ahead and pinned is None)
        if ahead is not None and plans[0].device == "cpu":  # a core for the proposer
            plans = [dataclasses.replace(plans[0], threads=max(1, plans[0].threads - 1))]
        try:
            slots = make_slots(plans, data)
            if spec.run.pack == "auto":
                pack_size = _auto_pack(spec, data, slots)
            coordinator = Coordinator(
                study=study,
                spec=spec,
                data=data,
                budget=spec.study.trials,
                slots=slots,
                pack=pack_size,
                display=_display(display, board),
                keeper=keeper,
                heartbeat=spec.run.heartbeat,
                source=None if ahead is None else Ahead(study, ahead, pack_size),
                deadline=deadline,
                rule=rule,
            )
            try:
                stats = coordinator.run()
            except (KeyboardInterrupt, TooManyFailures) as e:
                why = "Ctrl-C" if isinstance(e, KeyboardInterrupt) else "too many failures"
                s = coordinator.stats
                record_run_end(study, why, s.complete + s.pruned + s.failed)
                raise
            record_run_end(study, stats.stopped, stats.complete + stats.pruned + stats.failed)
        finally:
            if ahead is not None:
                ahead.stop()
    finished, _running = counts(study)
    best = best_of(study)
    best_number, best_value = (best.number, metric_of(best)) if best else (None, None)
    return RunSummary(
        study=spec.name,
        storage=redact(storage),
        budget=spec.study.trials,
        finished=finished,
        complete=stats.complete if stats else 0,
        pruned=stats.pruned if stats else 0,
        failed=stats.failed if stats else 0,
        retried=stats.retried if stats else 0,
        recovered=tuple(stats.recovered) if stats else (),
        best_number=best_number,
        best_value=best_value,
        objective=objective.name,
        slots=tuple(p.name for p in plans),
        pack=pack_size,
        wall_seconds=stats.wall_seconds if stats else 0.0,
        coordinator_seconds=stats.coordinator_seconds if stats else 0.0,
        sampler_seconds=stats.sampler_seconds if stats else 0.0,
        ahead_seconds=stats.ahead_seconds if stats else 0.0,
        stopped=earlier.reason if earlier else stats.stopped if stats else "budget met",
        stop_detail=(
            f"{earlier.detail}; recorded {earlier.at}"
            if earlier
            else stats.stop_detail
            if stats
            else ""
        ),
    )


# Samplers whose proposals do not depend on finished trials.
_BLIND_SAMPLERS = ("random", "qmc", "grid")


def _learns(spec: StudySpec) -> bool:
    """Whether anything in the study acts on finished trials while it runs: a sampler
    that models them, a pruner, or a stop at a target or plateau."""
    study = spec.study
    return (
        study.sampler not in _BLIND_SAMPLERS
        or study.pruner != "none"
        or study.target is not None
        or study.patience is not None
    )


def _auto_pack(spec: StudySpec, data: DataBundle, slots: list[Slot]) -> int:
    """The pack size for the slots' reported memory and compute, and small enough for
    whatever learns from finished trials to learn: at least four sampling rounds per slot.
    Where nothing does, each slot takes its share of the budget at once (memory allowing),
    and its step costs split it into packs from all of them."""
    learns = _learns(spec)
    size = pack_for_slots(
        spec.space,
        data.n_features,
        data.n_outputs,
        len(data.x_train),
        data.nbytes,
        [(slot.device, _reported(slot)) for slot in slots],
        by_memory_only=not learns,
    )
    if not learns:
        return max(1, min(size, -(-spec.study.trials // len(slots))))
    return max(1, min(size, spec.study.trials // (4 * len(slots)) or 1))


def _reported(slot: Slot) -> DeviceMemory:
    if slot.memory is None:
        raise RuntimeError(f"slot {slot.name} started without measuring its device")
    return slot.memory


def _proposer(
    spec: StudySpec, storage: str, study: Any, plans: list[Any], wanted: bool
) -> Proposer | None:
    """A started proposer (``sweep.ahead``) where sampling ahead pays: one slot (several
    slots overlap sampling with their workers already), TPE (the other samplers cost
    next to nothing), and a second core or a GPU for it to run beside the training."""
    if not wanted or len(plans) != 1 or not internals.PRIVATE:
        return None
    if not isinstance(study.sampler, internals.TPESampler):
        return None
    if plans[0].device == "cpu" and available_cores() < 2:
        return None
    ahead = Proposer(storage, spec.name, spec.space)
    try:
        ahead.start()
    except OSError as e:  # no second process here: sample in turn
        log.warning("sampling ahead is off: %s", e)
        return None
    return ahead
