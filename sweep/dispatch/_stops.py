"""When the coordinator stops before the budget: the run's time limit, the study's stop.

The coordinator asks :meth:`Stops.reason` before it fills a slot and at each epoch
report, and tells :meth:`Stops.ended` each trial it ends. A target or plateau decided
here is recorded on the study (``sweep.study.record_stop``); one decided by another
coordinator is read from the study twice per heartbeat interval, so every coordinator
of a study stops within one interval of another's decision.
"""

from __future__ import annotations

import time

import optuna
from optuna.trial import TrialState

from sweep.study import FINISHED, Stop, StopRule, record_stop, recorded_stop


class Stops:
    """The run's deadline and the study's stop rule, as one coordinator sees them."""

    def __init__(
        self,
        study: optuna.Study,
        interval: float,
        deadline: float | None = None,
        rule: StopRule | None = None,
    ) -> None:
        self.study = study
        self.interval = interval
        self.deadline = deadline  # time.monotonic() after which no trial starts or goes on
        self.rule = rule if rule is not None and rule.active else None
        self.stop: Stop | None = None  # the study's stop, decided here or elsewhere
        self.why = "budget met"  # why the run ended, once it ends
        self._looked = time.monotonic()  # when the study was last read for a stop

    @property
    def detail(self) -> str:
        return self.stop.detail if self.stop is not None else ""

    def at_start(self) -> bool:
        """Whether the study's trials already call for its stop (then recorded)."""
        if self.rule is None:
            return False
        stop = self.rule.reset(self.study.get_trials(deepcopy=False))
        if stop is not None:
            self._halt(stop)
        return stop is not None

    def reason(self) -> str | None:
        """Why no trial may start or go on now, or None: the time limit has passed, or
        the study has stopped (here, or as another coordinator recorded on it)."""
        now = time.monotonic()
        if self.stop is None and now - self._looked > self.interval / 2:
            self._looked = now
            stop = recorded_stop(self.study)
            if stop is None and self.rule is not None and self.rule.patience is not None:
                # Other machines' trials count toward the plateau too.
                stop = self.rule.reset(self.study.get_trials(deepcopy=False, states=FINISHED))
                if stop is not None:
                    record_stop(self.study, stop)
            if stop is not None:
                self._noted(stop)
        if self.stop is not None:
            return self.why
        if self.deadline is not None and now >= self.deadline:
            self.why = "time limit"
            return self.why
        return None

    def ended(self, number: int, state: TrialState, value: float | None) -> None:
        """Note a trial's end as recorded here; it may stop the study."""
        if self.rule is not None and (stop := self.rule.ended(number, state, value)):
            self._halt(stop)

    def _halt(self, stop: Stop) -> None:
        """Stop the study: recorded on it, so that every coordinator stops."""
        if self.stop is None:
            record_stop(self.study, stop)
            self._noted(stop)

    def _noted(self, stop: Stop) -> None:
        self.stop = stop
        self.why = stop.reason
