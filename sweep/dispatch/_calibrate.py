"""Step costs measured on the device: the figures ``group_tasks`` packs trials by.

Which trials share a pack is decided from a cost model of one training step (see
``StepCosts``). Its figures depend on the machine, the torch build and the threads, so
they are measured where the trials train: by the process of each slot, once, when it
starts (a worker after opening its device, so the coordinator never opens a CUDA
context). A short calibration times a few steps of a small and a larger pack of equal
members and of a small mixed pack, and solves the model's terms from them. The
result is cached in a JSON file per (device name, torch version, threads) under
``SWEEP_CACHE_DIR`` (default ``$XDG_CACHE_HOME/sweep``, else ``~/.cache/sweep``); a file
that cannot be read or does not hold a valid table is measured again and rewritten.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from sweep.model import Layout
from sweep.space import TrialConfig
from sweep.train import TrainSettings, TrialTask, make_runner

# Bumped when the calibration or the model changes, so older cached tables are not read.
MODEL_VERSION = 2  # 2: the pack's backward written out, a cheaper step than autograd's

# The calibration's synthetic task: binary, 8 inputs, the bench studies' batch size.
_INPUTS, _OUTPUTS, _BATCH = 8, 1, 64
_SMALL, _LARGE = (8,), (128, 128)
_MEMBERS = 2, 4  # members of the small and of the large packs
_WARMUP, _ROUNDS = 3, 9  # steps per pack: untimed (the optimizer's state), timed
# Floors, so that noise on a busy machine never makes a term zero or negative.
_MIN_FIXED, _MIN_PER_PARAM = 1e-7, 1e-16


@dataclass(frozen=True)
class StepCosts:
    """Seconds one training step costs on a device, in the terms of the grouping's model.

    A pack of K members whose padded network has P parameters, at batch size B, with
    ``kinds`` further optimizer families, activations and losses beyond the first of each,
    costs ``pack + kind * kinds + param * K * P * B`` (a packable trial on its own is a
    pack of one). Trials whose optimizer has no stacked form always train alone, so no
    decision needs their cost, and none is measured (their first ``torch.optim`` step
    would import ``torch._dynamo``: over a second).
    """

    pack: float  # fixed cost of a pack step: Python and kernel launches
    kind: float  # each further optimizer family, activation or loss in the pack
    param: float  # per padded parameter per member per batch row

    def valid(self) -> bool:
        """Whether every term is a finite positive number."""
        return all(
            isinstance(v, float) and math.isfinite(v) and v > 0 for v in dataclasses.astuple(self)
        )


def _config(widths: tuple[int, ...], optimizer: str, activation: str, loss: str) -> TrialConfig:
    return TrialConfig(
        widths=widths,
        activation=activation,
        loss=loss,  # type: ignore[arg-type]
        optimizer=optimizer,  # type: ignore[arg-type]
        lr=1e-3,
        batch_size=_BATCH,
    )


# The packs timed: equal members (Adam, ReLU, BCE) small and large, and a small pack whose
# two members differ in optimizer, activation and loss (three further kinds).
_PACKS = {
    "equal_small": [_config(_SMALL, "adam", "relu", "bce")] * _MEMBERS[0],
    "equal_large": [_config(_LARGE, "adam", "relu", "bce")] * _MEMBERS[1],
    "mixed": [_config(_SMALL, "adam", "relu", "bce"), _config(_SMALL, "sgd", "tanh", "mse")],
}
_MIXED_KINDS = 3


class _Timed:
    """One pack ready to step on a fixed batch, its optimizer state already made."""

    def __init__(self, configs: list[TrialConfig], device: torch.device) -> None:
        tasks = [TrialTask(i, c, i) for i, c in enumerate(configs)]
        settings = TrainSettings(task="binary", epochs=1)
        self.runner = make_runner(tasks, _INPUTS, _OUTPUTS, settings, device)
        self.device = device
        generator = torch.Generator().manual_seed(0)
        self.x = torch.randn(len(tasks), _BATCH, _INPUTS, generator=generator).to(device)
        y = torch.rand(len(tasks), _BATCH, _OUTPUTS, generator=generator) > 0.5
        self.y = y.float().to(device)
        for _ in range(_WARMUP):
            self.runner.step(self.x, self.y)

    def seconds(self) -> float:
        """The time of one step."""
        _sync(self.device)
        start = time.perf_counter()
        self.runner.step(self.x, self.y)
        _sync(self.device)
        return time.perf_counter() - start


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _param_rows(widths: tuple[int, ...], members: int) -> int:
    """Parameters x members x batch rows: the unit of the per-parameter term."""
    return Layout(_INPUTS, widths, _OUTPUTS).n_parameters * members * _BATCH


def measure_step_costs(device: torch.device) -> StepCosts:
    """Time a few steps of three small packs on ``device`` and solve the model from them.

    The equal packs at two sizes give the fixed and the per-parameter cost of a pack step
    (the line through the two), the mixed pack against the small equal one the cost of a
    kind. The packs step in turn, round after round, and each keeps its fastest step: a
    burst of load from elsewhere on the machine then hits every pack alike and is left
    out. Some 30 ms on a CPU core.
    """
    packs = {name: _Timed(configs, device) for name, configs in _PACKS.items()}
    best = dict.fromkeys(packs, math.inf)
    for _ in range(_ROUNDS):
        for name, pack in packs.items():
            best[name] = min(best[name], pack.seconds())
    small = _param_rows(_SMALL, _MEMBERS[0])
    large = _param_rows(_LARGE, _MEMBERS[1])
    per_param = max(_MIN_PER_PARAM, (best["equal_large"] - best["equal_small"]) / (large - small))
    fixed = max(_MIN_FIXED, best["equal_small"] - per_param * small)
    kind = max(_MIN_FIXED, (best["mixed"] - best["equal_small"]) / _MIXED_KINDS)
    return StepCosts(fixed, kind, per_param)


def device_name(device: torch.device) -> str:
    """What the costs depend on in the device: the GPU's name, or the CPU's model."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def cache_dir() -> Path:
    """``SWEEP_CACHE_DIR``, else ``$XDG_CACHE_HOME/sweep``, else ``~/.cache/sweep``."""
    if explicit := os.environ.get("SWEEP_CACHE_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sweep"


def _key(device: torch.device) -> dict[str, object]:
    return {
        "model": MODEL_VERSION,
        "device": device_name(device),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }


def cache_path(key: dict[str, object]) -> Path:
    """The cache file of one key: one file per key, so slots never rewrite each other's."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return cache_dir() / f"step-costs-{digest}.json"


_FIELDS = tuple(f.name for f in dataclasses.fields(StepCosts))


def _read(path: Path, key: dict[str, object]) -> StepCosts | None:
    """The cached costs for ``key``, or None where the file is missing, unreadable, of
    another key or not a valid table."""
    try:
        record = json.loads(path.read_text())
        if record.get("key") != key:
            return None
        costs = StepCosts(**{f: float(record["costs"][f]) for f in _FIELDS})
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    return costs if costs.valid() else None


def _write(path: Path, key: dict[str, object], costs: StepCosts) -> None:
    """Write the cache file whole (a temporary file renamed onto it); a cache that
    cannot be written only means the next start measures again."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"key": key, "costs": dataclasses.asdict(costs)}, indent=1))
        os.replace(tmp, path)
    except OSError:
        pass


def step_costs(device: torch.device) -> StepCosts:
    """The step costs of ``device`` with this process's torch threads: cached, or
    measured now and cached. Call it in the process that trains on the device."""
    key = _key(device)
    path = cache_path(key)
    cached = _read(path, key)
    if cached is not None:
        return cached
    costs = measure_step_costs(device)
    _write(path, key, costs)
    return costs
