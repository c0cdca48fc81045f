"""Why a study stops before its budget: a target reached, or a plateau.

A time limit belongs to the run (``sweep run --timeout``); a target or a plateau
belongs to the study. The coordinator that decides one records it on the study (a
user attribute with the reason, the setting it was decided under and the time);
every other coordinator of the study reads it within a heartbeat interval and stops
too, and a later run does nothing unless the setting changed or it is told to go on.
How each run ended is kept on the study as well, for the reports.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from sweep.objectives import metric_of
from sweep.study._keys import FINISHED, LAST_RUN_KEY, STOPPED_KEY


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Stop:
    """A study's stop: ``reason`` ("target reached" or "plateau"), what decided it, the
    settings it was decided under and when (ISO time, UTC)."""

    reason: str
    detail: str
    settings: dict[str, Any]
    at: str = field(default_factory=_now)

    def describe(self) -> str:
        return f"{self.reason}: {self.detail}"

    def to_dict(self) -> dict[str, Any]:
        return {"reason": self.reason, "detail": self.detail, **self.settings, "at": self.at}

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Stop:
        settings = {k: v for k, v in raw.items() if k not in ("reason", "detail", "at")}
        return cls(str(raw["reason"]), str(raw.get("detail", "")), settings, str(raw["at"]))


def recorded_stop(study: optuna.Study) -> Stop | None:
    """The stop recorded on the study (read from the storage now), or None."""
    raw = study.user_attrs.get(STOPPED_KEY)
    return Stop.from_dict(raw) if isinstance(raw, dict) else None


def record_stop(study: optuna.Study, stop: Stop) -> None:
    study.set_user_attr(STOPPED_KEY, stop.to_dict())


def clear_stop(study: optuna.Study) -> None:
    """Forget the study's stop, so that its trials go on (``--continue``)."""
    if study.user_attrs.get(STOPPED_KEY) is not None:
        study.set_user_attr(STOPPED_KEY, None)


def record_run_end(study: optuna.Study, stopped: str, ran: int) -> None:
    """Keep how this run ended (why, when, how many trials it ran) for the reports."""
    study.set_user_attr(LAST_RUN_KEY, {"stopped": stopped, "ran": ran, "at": _now()})


class StopRule:
    """Decides a target or plateau stop from the study's finished trials, in the order
    they finished.

    ``target``: a complete trial whose value reaches it (at or above it when the study
    maximises, at or below when it minimises) stops the study. ``patience``: that many
    finished trials in a row (complete or pruned) without a complete one improving the
    best by more than ``min_delta`` stop it.
    """

    def __init__(
        self,
        *,
        maximize: bool,
        target: float | None = None,
        patience: int | None = None,
        min_delta: float = 0.0,
    ) -> None:
        self.maximize = maximize
        self.target = target
        self.patience = patience
        self.min_delta = min_delta
        self.best: tuple[int, float] | None = None  # (trial number, value) for patience
        self.since_best = 0  # finished trials since ``best`` improved by over min_delta
        self.top: tuple[int, float] | None = None  # the best complete trial, for the target

    @property
    def active(self) -> bool:
        return self.target is not None or self.patience is not None

    def settings(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.target is not None:
            out["target"] = self.target
        if self.patience is not None:
            out["patience"] = self.patience
            out["min_delta"] = self.min_delta
        return out

    def reset(self, trials: Iterable[FrozenTrial]) -> Stop | None:
        """Count again from the study's trials; the stop they call for, if any."""
        self.best, self.since_best, self.top = None, 0, None
        finished = [t for t in trials if t.state in FINISHED]
        finished.sort(key=lambda t: (t.datetime_complete or dt.datetime.max, t.number))
        for t in finished:
            self._note(t.number, t.state, metric_of(t))
        return self.due()

    def ended(self, number: int, state: TrialState, value: float | None) -> Stop | None:
        """Note one finished trial; the stop due now, if any."""
        if state in FINISHED:
            self._note(number, state, value)
        return self.due()

    def _note(self, number: int, state: TrialState, value: float | None) -> None:
        sign = 1.0 if self.maximize else -1.0
        if state != TrialState.COMPLETE or value is None:
            self.since_best += 1
            return
        if self.top is None or sign * (value - self.top[1]) > 0:
            self.top = (number, value)
        if self.best is None or sign * (value - self.best[1]) > self.min_delta:
            self.best, self.since_best = (number, value), 0
        else:
            self.since_best += 1

    def due(self) -> Stop | None:
        """The stop the trials noted so far call for, if any."""
        sign = 1.0 if self.maximize else -1.0
        if self.target is not None and self.top is not None:
            number, value = self.top
            if sign * (value - self.target) >= 0:
                return Stop(
                    "target reached",
                    f"trial {number} reached {value:.6g}, the target {self.target:g}",
                    self.settings(),
                )
        if self.patience is not None and self.since_best >= self.patience:
            best = (
                "no complete trial"
                if self.best is None
                else f"the best, {self.best[1]:.6g} (trial {self.best[0]}),"
            )
            return Stop(
                "plateau",
                f"{self.since_best} finished trials in a row without improving on {best} "
                f"by more than {self.min_delta:g}",
                self.settings(),
            )
        return None
