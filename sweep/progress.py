"""Progress of a running sweep: a live rich display on a terminal, plain lines elsewhere."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from sweep.metrics import Objective
from sweep.space import TrialConfig


def describe_trials(numbers: list[int]) -> str:
    """A job's trials in a few words: ``trial 7`` or ``12 trials 7..18``."""
    if len(numbers) == 1:
        return f"trial {numbers[0]}"
    return f"{len(numbers)} trials {numbers[0]}..{numbers[-1]}"


def describe_config(config: TrialConfig) -> str:
    """A short description of a trial's network and optimisation."""
    widths = "-".join(str(w) for w in config.widths)
    act = config.activation
    if config.split_fraction is not None:
        act = act.replace("split", f"split{config.split_fraction:.2f}")
    extra = ""
    if config.reduction != "mean":
        extra += f" {config.reduction}"
    if config.init != "default":
        extra += f" init={config.init}"
    if config.dropout:
        extra += f" drop={config.dropout:.2g}"
    if config.weight_decay:
        extra += f" wd={config.weight_decay:.1e}"
    if config.scheduler != "none":
        extra += f" {config.scheduler}"
    opt = f"{config.optimizer} lr={config.lr:.2g} bs={config.batch_size}"
    return f"[{widths}] {act} {config.loss} {opt}{extra}"


@dataclass
class Board:
    """What both displays show: counts, the best trials, what each slot runs."""

    study: str
    budget: int
    objective: Objective
    finished: int = 0
    complete: int = 0
    pruned: int = 0
    failed: int = 0
    leaders: list[tuple[float, int, str]] = field(default_factory=list)
    slots: dict[str, str] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def add_leader(self, value: float, number: int, summary: str) -> None:
        self.leaders.append((value, number, summary))
        sign = -1.0 if self.objective.direction == "maximize" else 1.0
        self.leaders.sort(key=lambda v: (sign * v[0], v[1]))
        del self.leaders[10:]

    @property
    def best(self) -> tuple[float, int, str] | None:
        return self.leaders[0] if self.leaders else None


class Display:
    """Receives the coordinator's events. The base class shows nothing."""

    def __init__(self, board: Board) -> None:
        self.board = board

    def begin(self) -> None:
        pass

    def trial_started(self, number: int, slot: str, config: TrialConfig) -> None:
        pass

    def slot_busy(self, slot: str, text: str) -> None:
        self.board.slots[slot] = text
        self.refresh()

    def trial_ended(self, number: int, state: str, value: float | None, detail: str) -> None:
        b = self.board
        if state in ("complete", "pruned"):
            b.finished += 1
        setattr(b, state, getattr(b, state) + 1)
        if state == "complete" and value is not None:
            b.add_leader(value, number, detail)
        self.refresh()

    def refresh(self) -> None:
        pass

    def end(self) -> None:
        pass


class LineDisplay(Display):
    """One line per finished trial: for logs, pipes and CI."""

    def __init__(self, board: Board, console: Console | None = None) -> None:
        super().__init__(board)
        self.console = console or Console(highlight=False, soft_wrap=True)

    def begin(self) -> None:
        b = self.board
        self.console.print(
            f"sweep {b.study}: {b.finished}/{b.budget} finished; slots: {', '.join(b.slots) or '-'}"
        )

    def trial_ended(self, number: int, state: str, value: float | None, detail: str) -> None:
        super().trial_ended(number, state, value, detail)
        b = self.board
        shown = f"{b.objective.name} {value:.4f}" if value is not None else ""
        best = f"best {b.best[0]:.4f} (#{b.best[1]})" if b.best else "best -"
        self.console.print(
            f"[{b.finished}/{b.budget}] trial {number} {state} {shown}  {detail}  | {best}"
        )


class LiveDisplay(Display):
    """A rich live view: progress bar, current best, top 5 and each slot's work."""

    def __init__(self, board: Board, console: Console | None = None) -> None:
        super().__init__(board)
        self.console = console or Console()
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[best]}"),
            console=self.console,
        )
        self.task = self.progress.add_task(
            board.study, total=board.budget, completed=board.finished, best=""
        )
        self.live = Live(
            console=self.console, refresh_per_second=4, get_renderable=self._render, transient=False
        )

    def _render(self) -> Group:
        b = self.board
        best = f"best {b.objective.name} {b.best[0]:.4f} (trial {b.best[1]})" if b.best else ""
        self.progress.update(self.task, completed=min(b.finished, b.budget), best=best)
        top = Table(title="top 5", title_justify="left", expand=False, box=None, pad_edge=False)
        top.add_column("#", justify="right")
        top.add_column("trial", justify="right")
        top.add_column(b.objective.name, justify="right")
        top.add_column("configuration")
        for rank, (value, number, summary) in enumerate(b.leaders[:5], 1):
            top.add_row(str(rank), str(number), f"{value:.4f}", summary)
        slots = Table(box=None, show_header=False, pad_edge=False)
        slots.add_column("slot", style="cyan")
        slots.add_column("work")
        for name, text in b.slots.items():
            slots.add_row(name, text)
        counts = f"complete {b.complete}  pruned {b.pruned}  failed {b.failed}"
        return Group(self.progress, counts, top, slots)

    def begin(self) -> None:
        self.live.start()

    def refresh(self) -> None:
        self.live.refresh()

    def end(self) -> None:
        self.live.stop()
