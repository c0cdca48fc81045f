"""Dispatching trials to devices: a coordinator per machine, slots, worker processes."""

from sweep.dispatch._coordinator import Coordinator, RunStats, TooManyFailures, make_slots
from sweep.dispatch._devices import (
    SlotPlan,
    auto_pack_size,
    available_cores,
    group_tasks,
    memory_budget,
    plan_slots,
    resolve_devices,
)

__all__ = [
    "Coordinator",
    "RunStats",
    "SlotPlan",
    "TooManyFailures",
    "auto_pack_size",
    "available_cores",
    "group_tasks",
    "make_slots",
    "memory_budget",
    "plan_slots",
    "resolve_devices",
]
