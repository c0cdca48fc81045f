"""Where a pack's trials come from: sampled in turn, or sampled ahead in a second process.

A source starts a pack's trials under the budget lock (:meth:`TrialSource.start`, which
only creates or takes them) and samples them outside it (``PackStart.sample``). After a
pack has started, :meth:`TrialSource.started` lets a source that samples ahead ask for
the next one while this one trains.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

import optuna

from sweep.ahead import Proposer
from sweep.study import PackStart, start_pack

log = logging.getLogger("sweep")


class TrialSource(Protocol):
    """Starts packs of trials for the coordinator.

    ``proposals(room, running_ids)`` is called before the budget lock is taken, and may
    wait: the parameters of the next pack's new trials if they were sampled elsewhere,
    else None (``room()`` gives the budget left, read only if needed). ``start(k, asked,
    proposed)`` creates or takes ``k`` trials under the lock, appending their ids to
    ``asked``. ``started(left, running_ids)`` is told that a pack started and how many
    trials the budget leaves after it. ``seconds`` is the time spent sampling elsewhere
    meanwhile; ``stop()`` ends whatever the source runs.
    """

    seconds: float

    def proposals(
        self, room: Callable[[], int], running_ids: list[int]
    ) -> list[dict[str, Any]] | None: ...

    def start(
        self, k: int, asked: list[int], proposed: list[dict[str, Any]] | None
    ) -> PackStart: ...

    def started(self, left: int, running_ids: list[int]) -> None: ...

    def stop(self) -> None: ...


class InTurn:
    """The coordinator samples each pack itself, when it starts it."""

    def __init__(self, study: optuna.Study) -> None:
        self.study = study
        self.seconds = 0.0
        # The first distribution the study holds under each parameter name (see PackView).
        self.distributions: dict[str, Any] = {}

    def proposals(
        self, room: Callable[[], int], running_ids: list[int]
    ) -> list[dict[str, Any]] | None:
        return None

    def start(self, k: int, asked: list[int], proposed: list[dict[str, Any]] | None) -> PackStart:
        return start_pack(self.study, k, asked, distributions=self.distributions, proposed=proposed)

    def started(self, left: int, running_ids: list[int]) -> None:
        pass

    def stop(self) -> None:
        pass


class Ahead(InTurn):
    """The next pack sampled in a second process (``sweep.ahead``) while one trains.

    The coordinator samples the first pack itself, then hands its sampler to the
    proposer, which samples every later one. Should the proposer fail, sampling goes
    back to the coordinator, from a reseeded sampler (the one here has the random state
    the proposer started from).
    """

    def __init__(self, study: optuna.Study, proposer: Proposer, pack: int) -> None:
        super().__init__(study)
        self.proposer: Proposer | None = proposer
        self.pack = pack

    def proposals(
        self, room: Callable[[], int], running_ids: list[int]
    ) -> list[dict[str, Any]] | None:
        ahead = self.proposer
        if ahead is None or not ahead.handed_off:
            return None
        if not ahead.pending:  # none asked for (the last pack seemed to use the budget up)
            left = min(self.pack, room())
            if left <= 0:
                # Should a trial elsewhere fail meanwhile and free some budget, the pack
                # is sampled here, from a reseeded sampler.
                self.study.sampler.reseed_rng()
                return None
            ahead.request(left, running_ids, None)
        proposed = ahead.take() if ahead.pending else None
        if proposed is None:
            self._drop()
        return proposed

    def started(self, left: int, running_ids: list[int]) -> None:
        ahead = self.proposer
        if ahead is None or left <= 0:
            return
        handover = None if ahead.handed_off else self.study.sampler
        ahead.request(min(self.pack, left), running_ids, handover)
        if ahead.failure:
            self._drop()

    def _drop(self) -> None:
        ahead = self.proposer
        if ahead is None:
            return
        log.warning("sampling ahead stopped (%s); the sweep samples in turn", ahead.failure)
        if ahead.handed_off:
            self.study.sampler.reseed_rng()
        self.stop()
        self.proposer = None

    def stop(self) -> None:
        if self.proposer is not None:
            self.proposer.stop()
            self.seconds = self.proposer.seconds
