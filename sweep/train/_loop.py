"""The epoch loop, written once for every Runner (one trial or a pack).

``train`` is a generator. After each validation it yields an EpochReport and
receives the trial numbers the pruner stopped (or None). Whenever members
leave - diverged, pruned, or complete at the end - it yields an Ended with
their results (send None back). The caller decides how these reach Optuna:
in process, or over a pipe from a worker.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Generator

import torch

from sweep.data import DataBundle
from sweep.metrics import chunked_metric, objective_for
from sweep.train._latency import measure_latency
from sweep.train._runner import Runner
from sweep.train._types import Ended, EpochReport, Outcome, TrainSettings, TrialResult

TrainGen = Generator["EpochReport | Ended", "set[int] | frozenset[int] | None", None]


def _serialise(state: dict[str, torch.Tensor]) -> bytes:
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


class _Book:
    """Per-member bookkeeping: epochs run, last loss and value, and the end of each."""

    def __init__(self, runner: Runner, settings: TrainSettings) -> None:
        self.runner = runner
        self.settings = settings
        self.start = time.perf_counter()
        self.pack_size = len(runner.numbers)
        self.epochs = dict.fromkeys(runner.numbers, 0)
        self.last_value: dict[int, float] = {}
        self.last_loss: dict[int, float] = {}

    def leave(self, positions: list[int], outcome: Outcome, reasons: list[str]) -> Ended:
        """End the members at ``positions`` (failed or pruned) and drop them from the runner."""
        now = time.perf_counter() - self.start
        results = []
        for pos, reason in zip(positions, reasons):
            number = self.runner.numbers[pos]
            loss = self.last_loss.get(number)
            results.append(
                TrialResult(
                    number=number,
                    outcome=outcome,
                    value=self.last_value.get(number) if outcome == "pruned" else None,
                    reason=reason,
                    epochs_run=self.epochs[number],
                    metrics={"train_loss": loss} if loss is not None else {},
                    train_seconds=now,
                    n_params=self.runner.n_params(pos),
                    pack_size=self.pack_size,
                )
            )
        self.runner.drop(positions)
        return Ended(tuple(results))

    def complete(self, data: DataBundle) -> Ended:
        """Final metrics on every split for the members that trained to the end."""
        runner, task = self.runner, self.settings.task
        name = objective_for(task).name
        chunk = runner.eval_chunk()
        splits = {
            "train": (data.x_train, data.y_train),
            "val": (data.x_val, data.y_val),
            "test": (data.x_test, data.y_test),
        }
        # Every split's metric of every member in one (3, K) tensor, read with one
        # transfer; the weights with one copy of the pack's buffer.
        values = torch.stack(
            [chunked_metric(runner.predict, x, y, task, chunk) for x, y in splits.values()]
        ).tolist()
        # Every member's weights, for its latency (each timed as its own network) and,
        # if asked for, to send back; the time to train ends before the timing.
        states = runner.weights(range(len(runner.numbers)))
        now = time.perf_counter() - self.start
        results = []
        for pos, number in enumerate(runner.numbers):
            metrics = {f"{s}_{name}": v[pos] for s, v in zip(splits, values)}
            metrics["train_loss"] = self.last_loss.get(number, math.nan)
            latency = measure_latency(runner.config(pos), states[pos], data.x_train, data.n_outputs)
            metrics.update(latency.metrics())
            weights = _serialise(states[pos]) if self.settings.keep_weights else None
            results.append(
                TrialResult(
                    number=number,
                    outcome="complete",
                    value=metrics[f"val_{name}"],
                    epochs_run=self.epochs[number],
                    metrics=metrics,
                    train_seconds=now,
                    n_params=runner.n_params(pos),
                    pack_size=self.pack_size,
                    weights=weights,
                )
            )
        runner.drop(list(range(len(runner.numbers))))
        return Ended(tuple(results))


def _non_finite(values: torch.Tensor) -> list[int]:
    return [i for i, ok in enumerate(torch.isfinite(values).tolist()) if not ok]


def _others(n: int, gone: list[int]) -> list[int]:
    return [i for i in range(n) if i not in gone]


def train(runner: Runner, data: DataBundle, settings: TrainSettings) -> TrainGen:
    """Train every member of ``runner`` for ``settings.epochs`` epochs on ``data``.

    A member whose loss becomes NaN or infinite fails at once: on the CPU, where
    the check costs nothing, at the step it happens; on a GPU at the end of that
    epoch, to keep the device free of per-step synchronisation.
    """
    book = _Book(runner, settings)
    n = len(data.x_train)
    batch = min(runner.batch_size, n)
    steps = math.ceil(n / batch)
    every_step = data.device.type == "cpu"
    for epoch in range(settings.epochs):
        runner.start_epoch(epoch)
        order = runner.batch_order(n)
        loss_sum = torch.zeros(len(runner.numbers), device=data.device)
        for s in range(steps):
            idx = order[:, s * batch : (s + 1) * batch]
            losses = runner.step(data.x_train[idx], data.y_train[idx])
            loss_sum += losses
            bad = _non_finite(losses) if every_step else []
            if bad:
                keep = _others(len(runner.numbers), bad)
                why = [f"diverged: loss {float(losses[i])} at epoch {epoch + 1}" for i in bad]
                yield book.leave(bad, "failed", why)
                if not runner.numbers:
                    return
                order, loss_sum = order[keep], loss_sum[keep]
        epoch_loss = loss_sum / steps
        bad = _non_finite(epoch_loss)
        if bad:
            keep = _others(len(runner.numbers), bad)
            why = [f"diverged: loss {float(epoch_loss[i])} in epoch {epoch + 1}" for i in bad]
            yield book.leave(bad, "failed", why)
            if not runner.numbers:
                return
            epoch_loss = epoch_loss[keep]
        for number, loss in zip(runner.numbers, epoch_loss.tolist()):
            book.epochs[number] += 1
            book.last_loss[number] = loss
        if (epoch + 1) % settings.eval_every and epoch + 1 != settings.epochs:
            continue
        values = chunked_metric(
            runner.predict, data.x_val, data.y_val, settings.task, runner.eval_chunk()
        )
        bad = _non_finite(values)
        if bad:
            keep = _others(len(runner.numbers), bad)
            why = [f"diverged: validation metric is nan at epoch {epoch + 1}"] * len(bad)
            yield book.leave(bad, "failed", why)
            if not runner.numbers:
                return
            values = values[keep]
        report = EpochReport(
            epoch=epoch + 1,
            values=dict(zip(runner.numbers, values.tolist())),
            train_loss={num: book.last_loss[num] for num in runner.numbers},
        )
        book.last_value.update(report.values)
        stop = yield report
        if stop:
            gone = [i for i, num in enumerate(runner.numbers) if num in stop]
            if gone:
                yield book.leave(gone, "pruned", [f"pruned at epoch {epoch + 1}"] * len(gone))
                if not runner.numbers:
                    return
    yield book.complete(data)
