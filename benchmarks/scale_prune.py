"""The scale benchmark's retention part: one pass over the finished jobs, with claims
timed before it and beside it (see :mod:`benchmarks.scale`)."""

from __future__ import annotations

import os
import statistics
import threading
import time

from sqlalchemy import Engine, func, select

from castsmith.jobs.queue import JobQueue
from castsmith.jobs.retention import PruneReport, Retention, RetentionPolicy
from castsmith.jobs.sql import JOBS, RUNS
from castsmith.jobs.types import JobSpec

NOOP = JobSpec("diagnostic.sleep", {"seconds": 0})


def load() -> str:
    return "load average {:.1f} / {:.1f} / {:.1f}".format(*os.getloadavg())


def claim_probe(engine: Engine, waits: list[float], done: threading.Event) -> threading.Thread:
    """A worker's claim, timed every 20 ms until ``done``: enqueue one job, claim it."""
    probe = JobQueue(engine)

    def claims() -> None:
        # A thread starts without the caller's context: it acts as the operator too.
        while not done.is_set():
            probe.enqueue(NOOP.kind, {})
            start = time.perf_counter()
            probe.claim("probe", 1)
            waits.append((time.perf_counter() - start) * 1000)
            time.sleep(0.02)

    thread = threading.Thread(target=claims)
    thread.start()
    return thread


def spread(waits: list[float]) -> str:
    waits = sorted(waits)
    return (
        f"{len(waits)} claims, median {statistics.median(waits):.1f} ms, "
        f"p95 {waits[int(0.95 * (len(waits) - 1))]:.1f} ms, max {waits[-1]:.1f} ms"
    )


def prune_figures(engine: Engine, baseline: float, batch_size: int) -> None:
    print(f"\n-- retention pass over the finished jobs ({load()})")
    quiet: list[float] = []
    done = threading.Event()
    thread = claim_probe(engine, quiet, done)
    time.sleep(baseline)
    done.set()
    thread.join()
    print(f"  claims without a pass ({baseline:.0f} s; {load()}): {spread(quiet)}", flush=True)
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(JOBS)).scalar()
        runs_before = conn.execute(select(func.count()).select_from(RUNS)).scalar()
    waits: list[float] = []
    done = threading.Event()
    thread = claim_probe(engine, waits, done)
    started = time.perf_counter()

    def progress(report: PruneReport) -> None:
        if report.batches % 200 == 0:
            took = time.perf_counter() - started
            print(
                f"  ... {report.batches} batches, {report.jobs:,} jobs, {report.events:,} "
                f"events in {took:.0f} s ({report.jobs / took:,.0f} jobs/s; {load()})",
                flush=True,
            )

    try:
        policy = RetentionPolicy(batch_size=batch_size)
        report = Retention(engine, policy).prune(on_batch=progress)
    finally:
        done.set()
        thread.join()
    times = sorted(report.batch_times)
    print(
        f"  {before:,} jobs / {runs_before:,} runs before; deleted {report.jobs:,} jobs, "
        f"{report.runs:,} runs, {report.events:,} events in {report.seconds:.1f} s "
        f"({report.jobs / report.seconds:,.0f} jobs/s; {report.batches} batches of up to "
        f"{batch_size}: median {statistics.median(times) * 1000:.0f} ms, "
        f"longest {report.longest_batch * 1000:.0f} ms; {load()})"
    )
    print(f"  claims during the pass: {spread(waits)}", flush=True)
