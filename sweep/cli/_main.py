"""Entry point: parse, dispatch, and turn every error into one line and an exit code.

Exit codes: 0 success; 2 bad input (a study file, a flag, a study name, an
unreachable storage...); 1 an unexpected internal error; 130 interrupted.
Set ``SWEEP_DEBUG=1`` to see the traceback of any error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

import optuna

from sweep.errors import SweepError


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (``error: ...``) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        print(f"error: {self.prog}: {message}", file=sys.stderr)
        raise SystemExit(2)


def default_storage() -> str:
    from sweep.storage import DEFAULT_STORAGE

    return os.environ.get("SWEEP_STORAGE", DEFAULT_STORAGE)


def add_storage(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--storage",
        default=None,
        metavar="URL",
        help="SQLAlchemy URL or SQLite path (default: $SWEEP_STORAGE or sqlite:///sweeps.db)",
    )


def build_parser() -> argparse.ArgumentParser:
    from sweep.cli import _compare, _export, _predict, _results, _run, _samplers, _sources

    parser = _Parser(
        prog="sweep",
        description="Hyperparameter sweeps for PyTorch MLPs, persisted in an Optuna database.",
    )
    sub = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser, metavar="COMMAND"
    )
    for module in (_run, _results, _compare, _predict, _export, _sources, _samplers):
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    debug = bool(os.environ.get("SWEEP_DEBUG"))
    # sweep reports what it does itself; Optuna's notes on each study and trial are noise.
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "storage", "") is None:
        args.storage = default_storage()
    try:
        return int(args.func(args) or 0)
    except SweepError as e:
        if debug:
            raise
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if debug:
            raise
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:
        if debug:
            raise
        text = " ".join(str(e).split())
        print(
            f"error: internal: {type(e).__name__}: {text} (set SWEEP_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 1
