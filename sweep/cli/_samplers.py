"""``sweep samplers``: the samplers a study file can name, a line each."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("samplers", help="the samplers a study can use ([study] sampler)")
    p.set_defaults(func=samplers)


def samplers(args: argparse.Namespace) -> int:
    from sweep.study import SAMPLER_SUMMARIES

    width = max(len(n) for n in SAMPLER_SUMMARIES)
    for name, summary in SAMPLER_SUMMARIES.items():
        print(f"{name:<{width}}  {summary}")
    return 0
