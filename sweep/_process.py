"""Helper processes (workers, the proposer): tie them to the coordinator and say why one ended."""

from __future__ import annotations

import signal
import subprocess
import sys
from typing import TypeVar


def die_with_parent() -> None:
    """Ask Linux to kill this process if the coordinator dies (even by SIGKILL)."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass


def exit_reason(process: subprocess.Popen[bytes] | None) -> str:
    """How ``process`` ended, in words (waiting up to 5 s for it to end)."""
    if process is None:
        return "not started"
    try:
        code = process.wait(timeout=5.0)
    except subprocess.TimeoutExpired:
        return "unresponsive"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


T = TypeVar("T")


def expect(message: object, kind: type[T], where: str) -> T:
    """``message`` as the ``kind`` a peer process must send at this point of the protocol.

    Raises:
        RuntimeError: naming what came instead (a bug on one side, not bad input).
    """
    if not isinstance(message, kind):
        raise RuntimeError(f"{where}: expected {kind.__name__}, got {type(message).__name__}")
    return message
