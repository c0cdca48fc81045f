"""Sampling ahead: the next pack's parameters are sampled in a second process while this
one trains the current pack.

With one slot, the coordinator trains in its own process, so every millisecond the
sampler spends (TPE models every earlier trial, milliseconds per trial in a study of
a thousand) is a millisecond the device waits. The proposer is a second process that
reads the study from the same storage and samples the next pack while the current one
trains. It never writes: it returns the parameters, and the coordinator creates the
trials with them as fixed parameters, as it does enqueued ones.

What the proposer sees is what the coordinator had when it asked: the trials running
then are seen running (as TPE's constant liar counts them), even if they have finished
by the time the proposer reads. So a study run by one coordinator samples the same
parameters whatever the timing; it samples as two workers would, each pack not yet
knowing the results of the pack before it. The coordinator samples the first pack
itself, then hands its sampler (pickled, with its random state) to the proposer,
which samples every later pack.
"""

from __future__ import annotations

import pickle
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import optuna

from sweep._process import die_with_parent, exit_reason, expect
from sweep.config import SpaceSpec

# Seconds to wait for a pack's parameters before sampling here instead (a pack of
# hundreds of trials in a study of thousands takes TPE tens of seconds).
_ANSWER_WITHIN = 600.0


@dataclass(frozen=True)
class _Setup:
    url: str
    study_name: str
    space: SpaceSpec


@dataclass(frozen=True)
class _Propose:
    k: int
    running: tuple[int, ...]  # trial ids running when the pack was asked for
    sampler: bytes | None  # the coordinator's sampler, pickled, with the first request


@dataclass(frozen=True)
class _Proposed:
    params: list[dict[str, Any]]
    seconds: float


@dataclass(frozen=True)
class _Failed:
    reason: str


class Proposer:
    """The coordinator's end: ``request`` a pack, train, then ``take`` its parameters."""

    def __init__(self, url: str, study_name: str, space: SpaceSpec) -> None:
        self._setup = _Setup(url, study_name, space)
        self.conn: Connection | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.handed_off = False  # the sampler lives in the proposer now
        self.pending = False
        self.seconds = 0.0  # the proposer's own time spent sampling
        self.failure = ""

    def start(self) -> None:
        ours, theirs = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sweep.ahead", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self.conn = Connection(ours.detach())
        self._send(self._setup)

    def request(
        self, k: int, running: Sequence[int], sampler: optuna.samplers.BaseSampler | None
    ) -> None:
        """Ask for ``k`` trials' parameters; with ``sampler`` (the first time), hand it over."""
        blob = pickle.dumps(sampler) if sampler is not None else None
        if self._send(_Propose(k, tuple(running), blob)):
            self.pending = True
            self.handed_off = self.handed_off or sampler is not None

    def take(self) -> list[dict[str, Any]] | None:
        """The parameters asked for (waiting for them); None when the proposer failed."""
        if not self.pending or self.conn is None:
            raise RuntimeError("take() without a pending request to a running proposer")
        self.pending = False
        try:
            if not self.conn.poll(_ANSWER_WITHIN):
                self._fail(f"the proposer did not answer within {_ANSWER_WITHIN:.0f} s")
                return None
            reply = self.conn.recv()
        except (EOFError, OSError):
            self._fail(f"the proposer process ended ({exit_reason(self.process)})")
            return None
        if isinstance(reply, _Failed):
            self._fail(reply.reason)
            return None
        proposed = expect(reply, _Proposed, "the proposer's answer")
        self.seconds += proposed.seconds
        return proposed.params

    def stop(self, timeout: float = 5.0) -> None:
        if self.pending and self.process is not None:  # sampling what no one will take
            self.process.kill()
        self.pending = False
        if self.conn is not None:
            self.conn.close()  # the proposer ends at end of input
            self.conn = None
        if self.process is not None:
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def _send(self, message: object) -> bool:
        if self.conn is None:  # stopped, or failed before
            return False
        try:
            self.conn.send(message)
            return True
        except (BrokenPipeError, OSError):
            self._fail(f"the proposer process ended ({exit_reason(self.process)})")
            return False

    def _fail(self, reason: str) -> None:
        self.failure = reason
        self.stop()


def proposer_main(conn: Connection) -> None:
    """Serve requests on ``conn`` until it closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the coordinator's to handle
    die_with_parent()
    from sweep.storage import open_storage
    from sweep.study import PackView

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        setup = conn.recv()
    except (EOFError, OSError):
        return
    setup = expect(setup, _Setup, "the proposer's setup")
    study: optuna.Study | None = None
    broken = ""
    try:  # before the first request arrives
        storage = open_storage(setup.url, create=False)
        study = optuna.load_study(study_name=setup.study_name, storage=storage)
    except Exception as e:  # reported with the first request
        broken = f"{type(e).__name__}: {e}"
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return
        request = expect(request, _Propose, "a request to the proposer")
        start = time.perf_counter()
        try:
            if study is None:
                raise RuntimeError(broken)
            if request.sampler is not None:
                study.sampler = pickle.loads(request.sampler)
            view = PackView(study, {})
            ids = view.imagine(request.k, request.running)
            trials, _ = view.sample(setup.space, ids)
            params = [dict(t.params) for t in trials]
            reply: object = _Proposed(params, time.perf_counter() - start)
        except Exception as e:  # reported to the coordinator, which samples itself then
            reply = _Failed(f"{type(e).__name__}: {e}")
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return


if __name__ == "__main__":
    # python -m sweep.ahead FD  (started by Proposer). The messages' classes must be
    # sweep.ahead's, as the coordinator pickles them, not this __main__ module's.
    from sweep.ahead import proposer_main as main

    main(Connection(int(sys.argv[1])))
