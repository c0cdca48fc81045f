"""The heartbeat of a coordinator's running trials, from a thread of its own."""

from __future__ import annotations

import logging
import threading

import optuna

log = logging.getLogger("sweep")


class Heartbeat(threading.Thread):
    """Records a heartbeat for every trial it holds each ``interval`` seconds, so that
    other machines can tell a live coordinator's trials from a vanished one's."""

    def __init__(self, storage: optuna.storages.BaseStorage, interval: float) -> None:
        super().__init__(daemon=True, name="sweep-heartbeat")
        self.storage = storage
        self.interval = interval
        self._ids: set[int] = set()
        self._lock = threading.Lock()
        self._halt = threading.Event()

    def add(self, trial_id: int) -> None:
        with self._lock:
            self._ids.add(trial_id)

    def remove(self, trial_id: int) -> None:
        with self._lock:
            self._ids.discard(trial_id)

    def stop(self) -> None:
        self._halt.set()

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            with self._lock:
                ids = list(self._ids)
            for trial_id in ids:
                try:
                    self.storage.record_heartbeat(trial_id)  # type: ignore[attr-defined]
                except Exception as e:  # a missed beat is not fatal; the next one may land
                    log.warning("heartbeat for trial id %s failed: %s", trial_id, e)
