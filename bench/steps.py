"""Training-step cost of one trial alone against packs of K, side by side in one process.

    python bench/steps.py [--repeats 5] [--threads N]
    python bench/steps.py --grid        # the measurements behind the pack grouping costs

Trains, on the bench study's data (moons, 600 training points, batch 64, 20 epochs),
small networks (one hidden layer of 8 units) alone (an ``nn.Module`` and a
``torch.optim`` optimizer, as sweep trains a trial whose optimizer has no stacked
form) and as packs of K = 1, 5 and 25 (as sweep trains every other trial), both equal
(ReLU, BCE, Adam) and mixed (four activations, three losses, six optimizers). Prints
the median time per step, per trial-step, and the ratio of alone to packed.

With ``--grid``: one step (batch 64) of packs of K in {2, 6, 16} equal or mixed
networks at depths 1-4 and widths 8-256, against one such network alone: a wider view
of the step costs each slot measures for pack grouping (``sweep/dispatch/_calibrate.py``).

With ``--groups``: ``--trials`` random draws from ``--study``'s space (default the fixed
workload ``bench/random.toml``), split into packs as a slot splits a job
(``group_tasks`` with the step costs this machine measures), and one step of every pack,
fastest of ``--rounds`` rounds that step each pack in turn, for ``--samples`` draws: the
useful arithmetic rate of a job's steps (6 FLOPs per parameter per batch row) against
the two roofs ``bench/run.py`` measures, in the same run. Training steps alone, without
the sweep around them.

With ``--ops``: the aten operations one training step of a pack dispatches, and one
epoch's batch order, for K = 1, 4, 16, 64, 256 and 512, counted with a
``TorchDispatchMode``: equal members (two layers of 32 ReLU units, BCE, Adam) and mixed
ones (four activations, three losses, six optimizers, depths 1-3, widths 8-32, dropout
0 or 0.1). On a GPU every operation is at least one kernel launch.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode

import sweep
from sweep.data import load_data
from sweep.dispatch import group_tasks, step_costs
from sweep.model import Layout
from sweep.space import TrialConfig, sample_config
from sweep.train import ModuleRunner, TrainSettings, TrialTask, make_runner, train

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
ACTIVATIONS = ["relu", "tanh", "split", "sum"]
LOSSES = ["bce", "mse", "quartic"]
OPTIMIZERS = ["sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta"]


def config(i: int, mixed: bool, widths: tuple[int, ...] = (8,)) -> TrialConfig:
    act = ACTIVATIONS[i % 4] if mixed else "relu"
    opt = OPTIMIZERS[i % 6] if mixed else "adam"
    return TrialConfig(
        widths=widths,
        activation=act,
        loss=LOSSES[i % 3] if mixed else "bce",
        optimizer=opt,
        lr=1e-2,
        batch_size=64,
        split_fraction=0.5 if act == "split" else None,
        momentum=0.9 if opt in ("sgd", "rmsprop") else None,
    )


def ops_config(i: int, mixed: bool) -> TrialConfig:
    """Member ``i`` of an op-count pack (every kind present from 12 members on)."""
    if not mixed:
        return config(i, False, (32, 32))
    base = config(i, True, (8 * (1 + i % 4),) * (1 + i % 3))
    return dataclasses.replace(base, dropout=(0.0, 0.1)[i % 2])


_SCALAR_READS = ("aten._local_scalar_dense.default", "aten.item.default")


class OpCount(TorchDispatchMode):
    """Counts the aten operations dispatched while it is active: all of them (``n``), by
    name (``by_name``, e.g. ``aten.mm.default``), and the copies to a named device and
    scalar reads (``transfers``: on a GPU, each copy to the host or scalar read is a
    transfer and a wait for the device)."""

    def __init__(self) -> None:
        super().__init__()
        self.n = 0
        self.transfers = 0
        self.by_name: Counter[str] = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
        name = str(func)
        self.n += 1
        self.by_name[name] += 1
        moves = name == "aten._to_copy.default" and (kwargs or {}).get("device") is not None
        self.transfers += moves or name in _SCALAR_READS
        return func(*args, **(kwargs or {}))


def op_counts(k: int, mixed: bool, data, settings: TrainSettings) -> tuple[int, int]:
    """(aten ops of one training step, of one epoch's batch order) for a pack of ``k``."""
    tasks = [TrialTask(i, ops_config(i, mixed), i) for i in range(k)]
    runner = make_runner(tasks, data.n_features, data.n_outputs, settings, torch.device("cpu"))
    runner.start_epoch(0)
    with OpCount() as order_ops:
        order = runner.batch_order(len(data.x_train))
    idx = order[:, :64]
    x, y = data.x_train[idx], data.y_train[idx]
    runner.step(x, y)  # the first step creates the optimizers' state
    with OpCount() as step_ops:
        runner.step(x, y)
    return step_ops.n, order_ops.n


def ops(data, settings: TrainSettings) -> None:
    print(f"{'pack':>6s}{'K':>5s}{'step ops':>10s}{'x K=4':>7s}{'order ops':>11s}{'x K=4':>7s}")
    for mixed in (False, True):
        counts = {k: op_counts(k, mixed, data, settings) for k in (1, 4, 16, 64, 256, 512)}
        step4, order4 = counts[4]
        for k, (step, order) in counts.items():
            kind = "mixed" if mixed else "equal"
            print(f"{kind:>6s}{k:5d}{step:10d}{step / step4:7.2f}{order:11d}{order / order4:7.2f}")


def runner_for(tasks: list[TrialTask], data, settings: TrainSettings, alone: bool):
    """``alone``: the one trial as an ``nn.Module`` with a ``torch.optim`` optimizer;
    else as sweep trains them (a pack, of one too)."""
    cpu = torch.device("cpu")
    if alone:
        (task,) = tasks
        return ModuleRunner(task, data.n_features, data.n_outputs, settings, cpu)
    return make_runner(tasks, data.n_features, data.n_outputs, settings, cpu)


def seconds(tasks: list[TrialTask], data, settings: TrainSettings, alone: bool = False) -> float:
    runner = runner_for(tasks, data, settings, alone)
    start = time.perf_counter()
    gen = train(runner, data, settings)
    while True:
        try:
            gen.send(None)
        except StopIteration:
            return time.perf_counter() - start


def warmed(runner, data, rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first batch of ``rows`` of ``runner``'s first epoch, after three steps on it
    (the optimizers' state made)."""
    runner.start_epoch(0)
    idx = runner.batch_order(len(data.x_train))[:, : min(rows, len(data.x_train))]
    x, y = data.x_train[idx], data.y_train[idx]
    for _ in range(3):
        runner.step(x, y)
    return x, y


def step_ms(
    tasks: list[TrialTask], data, settings: TrainSettings, alone: bool = False, n: int = 30
) -> float:
    """Mean milliseconds of ``n`` steps on one batch, after three to warm up."""
    runner = runner_for(tasks, data, settings, alone)
    x, y = warmed(runner, data, 64)
    start = time.perf_counter()
    for _ in range(n):
        runner.step(x, y)
    return 1000 * (time.perf_counter() - start) / n


def grid(data, settings: TrainSettings) -> None:
    print(f"{'depth':>6s}{'width':>6s}{'K':>4s}{'kind':>7s}{'ms/step':>9s}{'alone ms':>10s}")
    for depth in (1, 2, 3, 4):
        for width in (8, 32, 128, 256):
            widths = (width,) * depth
            alone = statistics.median(
                step_ms([TrialTask(i, config(i, True, widths), i)], data, settings, alone=True)
                for i in range(6)
            )
            for k in (2, 6, 16):
                for mixed in (False, True):
                    tasks = [TrialTask(i, config(i, mixed, widths), i) for i in range(k)]
                    ms = step_ms(tasks, data, settings)
                    kind = "mixed" if mixed else "equal"
                    print(f"{depth:6d}{width:6d}{k:4d}{kind:>7s}{ms:9.3f}{alone:10.3f}", flush=True)


def job_steps(args: argparse.Namespace) -> None:
    """One step of every pack of a job of random draws, against the roofs (``--groups``)."""
    import optuna
    from run import load_bench_spec, measure_roofs, useful_flops

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spec, note = load_bench_spec(args.study)
    data = load_data(spec.data)
    settings = TrainSettings(task=data.task, epochs=1)
    costs = step_costs(torch.device("cpu"))
    roofs = measure_roofs(spec, "cpu", data)
    torch.set_num_threads(args.threads)
    print(
        f"{args.study}: {args.trials} random trials a job, {args.threads} threads, "
        f"roofs: matmul {roofs.matmul_gflops:.1f} GFLOP/s, largest network's step "
        f"{roofs.step_gflops:.2f} GFLOP/s{f' ({note})' if note else ''}"
    )
    print(f"{'draw':>5s}{'packs':>6s}{'alone':>6s}{'step ms':>9s}{'GFLOP/s':>9s}{'% step':>8s}")
    rates = []
    for draw in range(args.samples):
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=draw))
        tasks = [
            TrialTask(i, sample_config(spec.space, study.ask()), i) for i in range(args.trials)
        ]
        packs = group_tasks(tasks, costs, data.n_features, data.n_outputs)
        ready = []
        for pack in packs:
            runner = make_runner(
                list(pack), data.n_features, data.n_outputs, settings, torch.device("cpu")
            )
            ready.append((runner, *warmed(runner, data, pack[0].config.batch_size)))
        fastest = [float("inf")] * len(ready)
        for _ in range(args.rounds):
            for i, (runner, x, y) in enumerate(ready):
                start = time.perf_counter()
                runner.step(x, y)
                fastest[i] = min(fastest[i], time.perf_counter() - start)
        flops = sum(
            useful_flops(
                Layout.of(t.config, data.n_features, data.n_outputs).n_parameters,
                1,
                min(t.config.batch_size, len(data.x_train)),
            )
            for t in tasks
        )
        rate = flops / sum(fastest) / 1e9
        rates.append(rate)
        alone = sum(len(p) == 1 for p in packs)
        print(
            f"{draw:5d}{len(packs):6d}{alone:6d}{1e3 * sum(fastest):9.2f}{rate:9.2f}"
            f"{rate / roofs.step_gflops:8.1%}",
            flush=True,
        )
    median = statistics.median(rates)
    print(f"median {median:.2f} GFLOP/s, {median / roofs.step_gflops:.1%} of the step roof")


def main() -> int:
    parser = argparse.ArgumentParser(description="step cost alone against packed")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--grid", action="store_true", help="the grouping cost grid instead")
    parser.add_argument("--ops", action="store_true", help="aten ops per step against K instead")
    parser.add_argument(
        "--groups", action="store_true", help="a job's pack steps against the roofs"
    )
    parser.add_argument("--study", default=str(HERE / "random.toml"), help="with --groups")
    parser.add_argument("--trials", type=int, default=64, help="with --groups: trials a job")
    parser.add_argument("--samples", type=int, default=5, help="with --groups: draws of a job")
    parser.add_argument("--rounds", type=int, default=15, help="with --groups: steps per pack")
    args = parser.parse_args()
    if args.groups:
        job_steps(args)
        return 0
    torch.set_num_threads(args.threads)
    spec = sweep.load_spec(HERE / "bench.toml")
    data = load_data(spec.data)
    settings = TrainSettings(task="binary", epochs=spec.train.epochs)
    if args.grid:
        grid(data, settings)
        return 0
    if args.ops:
        ops(data, settings)
        return 0
    steps = spec.train.epochs * -(-len(data.x_train) // 64)
    print(f"{steps} steps per trial, {args.threads} threads, torch {torch.__version__}")
    print(f"{'pack':14s}{'K':>4s}{'ms/step':>10s}{'ms/trial-step':>15s}{'x alone':>9s}")
    for mixed in (False, True):
        name = "mixed" if mixed else "equal"
        alone_ms = None
        for k in (0, 1, 5, 25):  # 0: the one trial alone
            tasks = [TrialTask(i, config(i, mixed), i) for i in range(max(k, 1))]
            t = statistics.median(
                seconds(tasks, data, settings, alone=k == 0) for _ in range(args.repeats)
            )
            per_trial = 1000 * t / steps / len(tasks)
            alone_ms = alone_ms if alone_ms is not None else per_trial
            what = f"{name} alone" if k == 0 else f"{name} pack"
            print(
                f"{what:14s}{len(tasks):4d}{1000 * t / steps:10.3f}{per_trial:15.3f}"
                f"{alone_ms / per_trial:8.1f}x"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
