"""Dispatching trials to devices: a coordinator per machine, slots, worker processes."""

from sweep.dispatch._calibrate import StepCosts, step_costs
from sweep.dispatch._coordinator import Coordinator, RunStats
from sweep.dispatch._devices import (
    SlotPlan,
    auto_pack_size,
    available_cores,
    group_tasks,
    pack_for_slots,
    plan_slots,
    resolve_devices,
)
from sweep.dispatch._slots import make_slots
from sweep.dispatch._source import Ahead, InTurn, TrialSource

__all__ = [
    "Ahead",
    "Coordinator",
    "RunStats",
    "SlotPlan",
    "StepCosts",
    "InTurn",
    "TrialSource",
    "auto_pack_size",
    "available_cores",
    "group_tasks",
    "make_slots",
    "pack_for_slots",
    "plan_slots",
    "resolve_devices",
    "step_costs",
]
