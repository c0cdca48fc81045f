"""Step costs measured on the device at start-up, cached per device, torch and threads."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from sweep.dispatch import StepCosts, step_costs
from sweep.dispatch._calibrate import cache_dir, cache_path, device_name

CPU = torch.device("cpu")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache folder of this test's."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("SWEEP_CACHE_DIR", str(folder))
    return folder


def _cached(folder: Path) -> list[Path]:
    return sorted(folder.glob("step-costs-*.json"))


def test_the_calibration_writes_the_cache_and_the_next_call_reads_it(cache: Path) -> None:
    costs = step_costs(CPU)
    assert costs.valid() and all(v > 0 for v in dataclasses.astuple(costs))
    (path,) = _cached(cache)
    record = json.loads(path.read_text())
    assert record["key"]["device"] == device_name(CPU)
    assert record["key"]["torch"] == torch.__version__
    assert record["key"]["threads"] == torch.get_num_threads()
    assert StepCosts(**record["costs"]) == costs
    # A table no measurement would give: read back as it is, so nothing was measured.
    planted = StepCosts(pack=1.0, kind=2.0, param=3.0)
    record["costs"] = dataclasses.asdict(planted)
    path.write_text(json.dumps(record))
    assert step_costs(CPU) == planted
    assert _cached(cache) == [path]


def test_a_pack_step_costs_more_than_its_members_overhead_alone(cache: Path) -> None:
    """The fixed cost of a step is what packing shares out: on any device it is more than
    a small network's arithmetic (a parameter-row costs far less than a step)."""
    costs = step_costs(CPU)
    assert costs.pack > 1000 * costs.param


# Ways a cache file can be wrong, each from the valid record.
CORRUPT = {
    "garbage": lambda record: "not json {",
    "not-a-table": lambda record: "[]",
    "other-key": lambda record: json.dumps({**record, "key": {"threads": -1}}),
    "negative": lambda record: json.dumps({**record, "costs": {**record["costs"], "kind": -1.0}}),
    "missing": lambda record: json.dumps({**record, "costs": {"pack": 1.0, "kind": 1.0}}),
}


@pytest.mark.parametrize("how", list(CORRUPT))
def test_a_corrupt_cache_file_is_measured_again_and_rewritten(cache: Path, how: str) -> None:
    step_costs(CPU)
    (path,) = _cached(cache)
    path.write_text(CORRUPT[how](json.loads(path.read_text())))
    again = step_costs(CPU)
    assert again.valid()
    assert StepCosts(**json.loads(path.read_text())["costs"]) == again


def test_an_unreadable_cache_is_measured_and_the_sweep_goes_on(cache: Path) -> None:
    step_costs(CPU)
    (path,) = _cached(cache)
    path.unlink()
    path.mkdir()  # a folder where the file should be: it can be neither read nor replaced
    assert step_costs(CPU).valid()
    assert path.is_dir()


def test_each_thread_count_and_torch_version_has_its_own_file(cache: Path) -> None:
    key = {"model": 1, "device": "some cpu", "torch": "2.14.1", "threads": 1}
    paths = {
        cache_path(key),
        cache_path({**key, "threads": 2}),
        cache_path({**key, "torch": "2.15.0"}),
        cache_path({**key, "device": "another cpu"}),
    }
    assert len(paths) == 4 and all(p.parent == cache_dir() == cache for p in paths)


def test_the_cache_defaults_to_the_users_cache_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SWEEP_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere/cache")
    assert cache_dir() == Path("/somewhere/cache/sweep")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == Path.home() / ".cache" / "sweep"
