"""``sweep sources``: every registered source listed; one source's [data] keys."""

from __future__ import annotations

import argparse

import pytest

from sweep.cli import _sources
from sweep.data import SOURCES
from sweep.errors import ConfigError


def _run(*argv: str) -> None:
    parser = argparse.ArgumentParser()
    _sources.register(parser.add_subparsers())
    args = parser.parse_args(["sources", *argv])
    assert args.func(args) == 0


def test_lists_every_source(capsys: pytest.CaptureFixture[str]) -> None:
    _run()
    lines = capsys.readouterr().out.splitlines()
    assert sorted(line.split()[0] for line in lines) == sorted(SOURCES)
    assert any(line.startswith("table") and "inferred" in line for line in lines)


def test_shows_one_sources_options(capsys: pytest.CaptureFixture[str]) -> None:
    _run("table")
    out = capsys.readouterr().out
    assert "path = (required)" in out and 'categorical = "error"' in out
    _run("mnist")
    assert 'data_dir = "data"' in capsys.readouterr().out


def test_an_unknown_source_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match="unknown data source 'nope'; valid: breast_cancer"):
        _run("nope")
