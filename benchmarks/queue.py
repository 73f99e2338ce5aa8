"""Job queue benchmark: throughput with 1, 2 and 4 worker processes, enqueue-to-start delay.

Run: ``.venv/bin/python benchmarks/queue.py [--jobs N] [--backends sqlite,postgres]``.
PostgreSQL runs in a scratch database that is created and dropped here
(``CASTSMITH_TEST_PG_URL`` names the admin URL, default postgres@127.0.0.1:5432).
"""

# ruff: noqa: E402
from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would hide
# the standard library's ``queue`` module from everything imported below.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse
import asyncio
import os
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, func, select, text

from castsmith.db.engine import make_engine
from castsmith.db.migrate import upgrade
from castsmith.jobs.diagnostic import register_handlers
from castsmith.jobs.queue import JobQueue
from castsmith.jobs.registry import HandlerRegistry
from castsmith.jobs.sql import JOBS, RUNS
from castsmith.jobs.types import JobSpec
from castsmith.jobs.worker import Worker

ADMIN = os.environ.get(
    "CASTSMITH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
CASTSMITH = str(Path(sys.executable).parent / "castsmith")
NOOP = JobSpec("diagnostic.sleep", {"seconds": 0})


def scratch_pg() -> tuple[str, str]:
    name = f"castsmith_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name, ADMIN.rpartition("/")[0] + "/" + name


def drop_pg(name: str) -> None:
    admin = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def reset(queue: JobQueue) -> None:
    with queue.engine.begin() as conn:
        conn.execute(text("DELETE FROM job_events"))
        conn.execute(text("DELETE FROM job_runs"))
        conn.execute(text("DELETE FROM jobs"))


def count_completed(queue: JobQueue) -> int:
    with queue.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(JOBS).where(JOBS.c.status == "completed")
            ).scalar()
            or 0
        )


def unfinished(queue: JobQueue) -> int:
    with queue.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(JOBS).where(JOBS.c.status != "completed")
            ).scalar()
            or 0
        )


def distinct_workers(queue: JobQueue) -> int:
    with queue.engine.connect() as conn:
        return int(conn.execute(select(func.count(func.distinct(RUNS.c.worker_id)))).scalar() or 0)


def throughput(queue: JobQueue, url: str, processes: int, jobs: int, tmp: Path) -> str:
    reset(queue)
    env = os.environ | {"CASTSMITH_WORKER_INTERVAL": "0.05", "CASTSMITH_LOG_LEVEL": "WARNING"}
    procs = [
        subprocess.Popen(
            [
                CASTSMITH,
                "--database-url",
                url,
                "--data-dir",
                str(tmp),
                "worker",
                "--concurrency",
                "64",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for _ in range(processes)
    ]
    try:
        # Warm up until every process has run something (they take seconds to import).
        while distinct_workers(queue) < processes:
            queue.enqueue_many([NOOP] * (20 * processes))
            time.sleep(0.3)
        while unfinished(queue):
            time.sleep(0.05)
        baseline = count_completed(queue)
        start = time.perf_counter()
        for offset in range(0, jobs, 500):
            queue.enqueue_many([NOOP] * min(500, jobs - offset))
        enqueued = time.perf_counter() - start
        while count_completed(queue) < baseline + jobs:
            time.sleep(0.01)
        total = time.perf_counter() - start
        # Drain alone: jobs enqueued to become due together, so only claim + complete
        # is timed.
        baseline = count_completed(queue)
        due = datetime.now(UTC) + timedelta(seconds=jobs / 500 + 2)
        for offset in range(0, jobs, 500):
            queue.enqueue_many([replace(NOOP, run_after=due)] * min(500, jobs - offset))
        time.sleep(max((due - datetime.now(UTC)).total_seconds(), 0))
        drain_start = time.perf_counter()
        while count_completed(queue) < baseline + jobs:
            time.sleep(0.01)
        drain = time.perf_counter() - drain_start
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(60)
    return (
        f"{processes} proc: claim+complete {jobs / drain:6.0f} jobs/s; enqueue+claim+complete "
        f"{jobs / total:6.0f} jobs/s; enqueue alone {jobs / enqueued:6.0f} jobs/s ({jobs} jobs)"
    )


def start_delays(
    queue: JobQueue, samples: int, use_notify: bool, poll: float, same_queue: bool = False
) -> str:
    reset(queue)
    registry = HandlerRegistry()
    register_handlers(registry)
    # A separate queue object behaves like another process: its enqueues do not wake
    # the worker in-process, so only NOTIFY or polling can.
    worker_queue = queue if same_queue else JobQueue(queue.engine)
    worker = Worker(
        worker_queue, registry, concurrency=4, poll_interval=poll, use_notify=use_notify
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(worker.run(),))
    thread.start()
    time.sleep(1.0)
    delays = []
    try:
        for _ in range(samples):
            before = datetime.now(UTC)
            job = queue.enqueue("diagnostic.sleep", {})
            while True:
                runs = queue.runs(job.id)
                if runs and runs[0].started_at is not None:
                    delays.append((runs[0].started_at - before).total_seconds() * 1000)
                    break
                time.sleep(0.002)
            time.sleep(0.05)
    finally:
        loop.call_soon_threadsafe(worker.stop)
        thread.join()
        loop.close()
    delays.sort()
    p95 = delays[int(0.95 * (len(delays) - 1))]
    how = "LISTEN/NOTIFY" if use_notify and queue.is_postgres else f"polling every {poll:g} s"
    if same_queue and not queue.is_postgres:
        how = "in-process wake-up"
    return (
        f"enqueue-to-start ({how}): median {statistics.median(delays):6.1f} ms, p95 {p95:6.1f} ms"
    )


def run_backend(backend: str, jobs: int, samples: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="castsmith-bench-"))
    pg_name = None
    if backend == "postgres":
        pg_name, url = scratch_pg()
    else:
        url = f"sqlite:///{tmp / 'bench.db'}"
    engine = make_engine(url)
    upgrade(engine)
    queue = JobQueue(engine)
    try:
        print(f"== {backend}")
        for processes in (1, 2, 4):
            print("  " + throughput(queue, url, processes, jobs, tmp), flush=True)
        if backend == "postgres":
            print("  " + start_delays(queue, samples, True, 1.0), flush=True)
        print("  " + start_delays(queue, samples, False, 1.0), flush=True)
        print("  " + start_delays(queue, samples, False, 0.1), flush=True)
        if backend == "sqlite":
            print("  " + start_delays(queue, samples, False, 1.0, same_queue=True), flush=True)
    finally:
        engine.dispose()
        if pg_name:
            drop_pg(pg_name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--backends", default="sqlite,postgres")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for backend in args.backends.split(","):
        run_backend(backend.strip(), args.jobs, args.samples)


if __name__ == "__main__":
    # A benchmark acts with the operator's authority, as the CLI and workers do.
    main()
