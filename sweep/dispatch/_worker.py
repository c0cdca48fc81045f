"""A worker process: loads the data once on its device, then trains the jobs it is sent."""

from __future__ import annotations

import os
import signal
import sys
from multiprocessing.connection import Connection

from sweep._process import die_with_parent, expect
from sweep.dispatch._messages import Decision, EpochReport, Hello, Job, JobDone, JobFailed, Shutdown

DEVICE_BROKEN_EXIT = 3  # the exit code of a worker whose device broke


def worker_main(conn: Connection, device_name: str, threads: int) -> None:
    """Serve jobs on ``conn`` until told to shut down or the coordinator goes away."""
    # Ctrl-C reaches the whole process group; the coordinator alone handles it and
    # stops the workers, so that it can mark their trials first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()
    import torch

    from sweep.data import load_data
    from sweep.dispatch._calibrate import step_costs
    from sweep.dispatch._execute import DeviceBroken, describe, run_job
    from sweep.dispatch._memory import measure_memory

    torch.set_num_threads(threads)
    device = torch.device(device_name)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    memory = measure_memory(device)  # before the calibration allocates anything
    conn.send(Hello(os.getpid(), device_name, memory, step_costs(device)))
    cache: dict = {}
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if isinstance(msg, Shutdown):
            return
        job = expect(msg, Job, "a message to the worker")
        try:
            if job.data not in cache:
                cache.clear()
                cache[job.data] = load_data(job.data, device)
            data = cache[job.data]
        except Exception as e:
            conn.send(JobFailed(job.job_id, f"loading data on {device_name}: {describe(e)}"))
            continue
        gen = run_job(job, data, device)
        reply: Decision | None = None
        while True:
            try:
                item = gen.send(reply)  # type: ignore[arg-type]
            except StopIteration:
                break
            except DeviceBroken:
                # The device is unusable in this process: exit, and the coordinator
                # starts a new worker in the slot (the job's other trials run again).
                sys.exit(DEVICE_BROKEN_EXIT)
            conn.send(item)
            reply = conn.recv() if isinstance(item, EpochReport) else None
        conn.send(JobDone(job.job_id))


if __name__ == "__main__":
    # python -m sweep.dispatch._worker FD DEVICE THREADS  (started by ProcessSlot)
    worker_main(Connection(int(sys.argv[1])), sys.argv[2], int(sys.argv[3]))
