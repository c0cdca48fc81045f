"""Devices, slots and pack sizes."""

from __future__ import annotations

import math
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from sweep.config import Choice, Dim, Fixed, FloatRange, IntRange, SpaceSpec
from sweep.dispatch._calibrate import StepCosts
from sweep.dispatch._memory import DeviceMemory, PackMemory, pack_memory, slot_budget
from sweep.errors import ConfigError
from sweep.model import Layout, parameter_count
from sweep.train import TrialTask, packable
from sweep.train._stacked import pack_widths

# A pack is sized so one step of it does about this much arithmetic: enough to
# amortise Python and kernel-launch overhead, small enough to keep latency low.
_TARGET_FLOPS = {"cpu": 4e7, "cuda": 2e10}
_MAX_PACK = {"cpu": 64, "cuda": 512}


@dataclass(frozen=True)
class SlotPlan:
    name: str
    device: str
    threads: int


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def resolve_devices(devices: str, *, source: str = "--devices") -> list[str]:
    """Device names from ``auto`` (every GPU, else the CPU), ``cpu``, ``cuda`` (every GPU)
    or a list such as ``cuda:0,cuda:1``.

    Raises:
        ConfigError: a device that does not exist here, naming the ones that do.
    """
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    gpus = [f"cuda:{i}" for i in range(count)]
    valid = ["auto", "cpu", "cuda", *gpus]
    text = devices.strip().lower()
    if text == "auto":
        return gpus or ["cpu"]
    if text == "cpu":
        return ["cpu"]
    if text == "cuda":
        if not gpus:
            raise ConfigError(
                source, "devices", "no CUDA device is available here", ["auto", "cpu"]
            )
        return gpus
    out = []
    for part in (p.strip() for p in text.split(",")):
        name = "cuda:0" if part == "cuda" and gpus else part
        if name not in gpus and name != "cpu":
            raise ConfigError(source, "devices", f"device {part!r} is not available here", valid)
        if name in out:
            raise ConfigError(source, "devices", f"device {part!r} is listed twice")
        out.append(name)
    if not out:
        raise ConfigError(source, "devices", "empty device list", valid)
    return out


def plan_slots(devices: Sequence[str], per_device: int) -> list[SlotPlan]:
    """``per_device`` slots per device; CPU slots share the cores instead of oversubscribing."""
    n_cpu = per_device * sum(1 for d in devices if d == "cpu")
    threads = max(1, available_cores() // n_cpu) if n_cpu else 1
    plans = []
    for device in devices:
        for i in range(per_device):
            name = f"{device}#{i}" if per_device > 1 else device
            plans.append(SlotPlan(name, device, threads if device == "cpu" else 1))
    return plans


def _largest(dim: Dim | None, default: float) -> float:
    if dim is None:
        return default
    if isinstance(dim, Fixed):
        return float(dim.value)  # type: ignore[arg-type]
    if isinstance(dim, Choice):
        return float(max(dim.values))  # type: ignore[type-var]
    if isinstance(dim, IntRange | FloatRange):
        return float(dim.high)
    return default


def _typical(dim: Dim | None, default: float) -> float:
    """A middle value: geometric for log ranges, the median choice for lists."""
    if dim is None:
        return default
    if isinstance(dim, Fixed):
        return float(dim.value)  # type: ignore[arg-type]
    if isinstance(dim, Choice):
        values = sorted(float(v) for v in dim.values)  # type: ignore[arg-type]
        return values[len(values) // 2]
    if isinstance(dim, IntRange | FloatRange):
        if dim.log:
            return math.sqrt(dim.low * dim.high)
        return (dim.low + dim.high) / 2
    return default


def largest_network(space: SpaceSpec) -> tuple[list[int], int]:
    """(hidden widths, batch size) of the space's largest network: its deepest, each layer
    widest, at its largest batch size."""
    return [int(w) for w in _widths(space, _largest)], int(_largest(space.batch_size, 64))


def _widths(space: SpaceSpec, pick) -> list[float]:
    if space.widths is not None:
        return list(space.widths)
    depth = int(round(pick(space.depth, 2)))
    return [pick(space.width, 32)] * depth


def _network(
    space: SpaceSpec, n_inputs: int, n_outputs: int, pick
) -> tuple[float, float, float, float]:
    """(parameters, hidden units, widest layer, batch size) of a network picked from the
    space."""
    widths = _widths(space, pick)
    params = parameter_count([n_inputs, *widths, n_outputs])
    return params, sum(widths), max(widths), pick(space.batch_size, 64)


def largest_pack_memory(
    space: SpaceSpec,
    n_inputs: int,
    n_outputs: int,
    n_train: int,
    device: str,
    *,
    data_bytes: int = 0,
    free_memory: int | None = None,
) -> PackMemory:
    """The memory a pack of the space's largest network needs on ``device``, term by term."""
    params, units, width, batch = _network(space, n_inputs, n_outputs, _largest)
    return pack_memory(
        params=params,
        units=units,
        width=int(width),
        batch=int(batch),
        n_inputs=n_inputs,
        n_outputs=n_outputs,
        n_train=n_train,
        data_bytes=data_bytes,
        device=device,
        free_memory=free_memory,
    )


def auto_pack_size(
    space: SpaceSpec,
    n_inputs: int,
    n_outputs: int,
    n_train: int,
    device: str,
    memory_bytes: float,
    *,
    data_bytes: int = 0,
    free_memory: int | None = None,
    by_memory_only: bool = False,
) -> int:
    """How many trials to train together on ``device``.

    Compute: a pack step should do about ``_TARGET_FLOPS`` of work for a typical
    network of the space, and at most ``_MAX_PACK`` trials. Memory: a pack of the largest
    network, with the slot's copy of the data (``data_bytes``), its CUDA context and its
    evaluation buffers (``largest_pack_memory``), must fit ``memory_bytes``. With
    ``by_memory_only`` the memory alone: the slot's step costs split the trials into packs
    (``group_tasks``), and more trials at once give it more neighbours to choose from.
    """
    kind = "cuda" if device.startswith("cuda") else "cpu"
    need = largest_pack_memory(
        space,
        n_inputs,
        n_outputs,
        n_train,
        device,
        data_bytes=data_bytes,
        free_memory=free_memory,
    )
    by_memory = need.largest_pack(memory_bytes)
    if by_memory_only:
        return int(max(1, by_memory))
    params, _units, _width, batch = _network(space, n_inputs, n_outputs, _typical)
    flops = 6.0 * min(batch, n_train) * params
    by_compute = _TARGET_FLOPS[kind] / max(flops, 1.0)
    return int(max(1, min(_MAX_PACK[kind], by_compute, by_memory)))


def pack_for_slots(
    space: SpaceSpec,
    n_inputs: int,
    n_outputs: int,
    n_train: int,
    data_bytes: int,
    slots: Sequence[tuple[str, DeviceMemory]],
    *,
    by_memory_only: bool = False,
) -> int:
    """``auto_pack_size`` for the tightest of ``slots``: each a (device, memory) pair, the
    memory as the slot's own process reported it when it started (``measure_memory``)."""
    per_device = Counter(device for device, _memory in slots)
    return min(
        auto_pack_size(
            space,
            n_inputs,
            n_outputs,
            n_train,
            device,
            slot_budget(device, memory, per_device[device]),
            data_bytes=data_bytes,
            free_memory=memory.free,
            by_memory_only=by_memory_only,
        )
        for device, memory in slots
    )


_KINDS = ("optimizer", "activation", "loss")


def _params(widths: Sequence[int], n_inputs: int, n_outputs: int) -> int:
    return Layout(n_inputs, tuple(widths), n_outputs).n_parameters


def _step_cost(
    group: Sequence[TrialTask], n_inputs: int, n_outputs: int, costs: StepCosts
) -> float:
    """Seconds of one step of ``group`` as a pack, by the measured cost model."""
    configs = [t.config for t in group]
    padded = _params(pack_widths(configs), n_inputs, n_outputs)
    kinds = sum(len({getattr(c, f) for c in configs}) - 1 for f in _KINDS)
    rows = len(group) * padded * configs[0].batch_size
    return costs.pack + costs.kind * kinds + costs.param * rows


def group_tasks(
    tasks: Sequence[TrialTask], costs: StepCosts, n_inputs: int = 1, n_outputs: int = 1
) -> list[tuple[TrialTask, ...]]:
    """Split trials into packs (trained together) and trials alone, for least total time.

    Packs need one batch size and packable optimizers. Padding every member to the
    pack's widest layers costs compute, so trials are taken in order of depth, then
    size, and a trial joins the current pack only while a step of the pack is cheaper
    than the pack and the trial stepping apart, by ``costs``: the slot's device's step
    costs as its process measured them (``step_costs``). Small networks end up in large
    packs; a network much larger than the rest trains alone.
    """
    by_batch: dict[int, list[TrialTask]] = {}
    groups: list[tuple[TrialTask, ...]] = []
    for t in tasks:
        if packable(t):
            by_batch.setdefault(t.config.batch_size, []).append(t)
        else:
            groups.append((t,))
    for members in by_batch.values():
        # By depth, then size: a pack of mixed depths pads every layer to its widest, so
        # neighbours of one depth pack cheaply.
        members.sort(
            key=lambda t: (t.config.depth, _params(t.config.widths, n_inputs, n_outputs), t.number)
        )
        current: list[TrialTask] = []
        for t in members:
            if current:
                together = _step_cost([*current, t], n_inputs, n_outputs, costs)
                apart = _step_cost(current, n_inputs, n_outputs, costs) + _step_cost(
                    [t], n_inputs, n_outputs, costs
                )
                if together > apart:
                    groups.append(tuple(current))
                    current = []
            current.append(t)
        if current:
            groups.append(tuple(current))
    return groups
