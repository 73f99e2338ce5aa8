"""castsmith's queue beside procrastinate: the same no-op workload, same PostgreSQL, same run.

Run: ``make bench-deps`` once, then ``.venv/bin/python -m benchmarks.versus [--jobs N]``.

Both queues get one scratch database (castsmith's tables and procrastinate's schema side
by side). For 1 and 4 worker processes (64 jobs at once in each, LISTEN/NOTIFY on for
both) the script measures claim + complete: jobs enqueued beforehand to become due
together, timed from that moment until the last one succeeded. Then the
enqueue-to-start delay with one idle worker process of each queue, both running and
sampled in turn, from the enqueue call to the start each queue records (castsmith:
the run's ``started_at``; procrastinate: its ``started`` event). Figures are printed
for both and as castsmith / procrastinate.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from benchmarks.queue import drop_pg, scratch_pg
from castsmith.db.engine import make_engine
from castsmith.db.migrate import upgrade
from castsmith.jobs.queue import JobQueue
from castsmith.jobs.types import JobSpec

BIN = Path(sys.executable).parent
NOOP = JobSpec("diagnostic.sleep", {"seconds": 0})
CONCURRENCY = 64


def load() -> str:
    return f"load average {os.getloadavg()[0]:.1f}"


def conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def start(cmds: list[list[str]], env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    environ = os.environ | env
    return [subprocess.Popen(cmd, env=environ, stdout=subprocess.DEVNULL) for cmd in cmds]


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(60)


def scalar(engine: object, sql: str, **params: object) -> int:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(text(sql), params).scalar() or 0)


class Castsmith:
    name = "castsmith"

    def __init__(self, url: str, tmp: Path) -> None:
        self.url, self.tmp = url, tmp
        self.queue = JobQueue(make_engine(url))

    def workers(self, count: int) -> list[subprocess.Popen[bytes]]:
        cmd = [str(BIN / "castsmith"), "--database-url", self.url, "--data-dir", str(self.tmp)]
        cmd += ["worker", "--concurrency", str(CONCURRENCY)]
        env = {"CASTSMITH_LOG_LEVEL": "WARNING", "CASTSMITH_WORKER_INTERVAL": "1.0"}
        return start([cmd] * count, env)

    def done_after(self, first: int) -> int:
        return scalar(
            self.queue.engine,
            "SELECT count(*) FROM jobs WHERE id >= :f AND status = 'completed'",
            f=first,
        )

    def enqueue(self, count: int, due: datetime | None) -> int:
        first = 0
        for offset in range(0, count, 500):
            spec = JobSpec(NOOP.kind, NOOP.payload, run_after=due) if due else NOOP
            made = self.queue.enqueue_many([spec] * min(500, count - offset))
            first = first or made[0].id
        return first

    def started(self, job_id: int) -> datetime | None:
        runs = self.queue.runs(job_id)
        return runs[0].started_at if runs else None


class Procrastinate:
    name = "procrastinate"

    def __init__(self, url: str) -> None:
        # Set before the import: the module's app reads it, as the workers' does.
        os.environ["CASTSMITH_VERSUS_CONNINFO"] = conninfo(url)
        from benchmarks import versus_app

        self.url = url
        self.app = versus_app.app
        self.task = versus_app.noop
        self.engine = make_engine(url)
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(self.app.open_async())
        self.loop.run_until_complete(self.app.schema_manager.apply_schema_async())

    def workers(self, count: int) -> list[subprocess.Popen[bytes]]:
        # Warnings only, as castsmith's workers here: a log line per job would cost both.
        cmd = [str(BIN / "procrastinate"), "--log-level", "warning"]
        cmd += ["--app", "benchmarks.versus_app.app", "worker"]
        cmd += ["--concurrency", str(CONCURRENCY)]
        # The procrastinate script's own folder comes first on its path, not this one.
        root = str(Path(__file__).resolve().parents[1])
        return start([cmd] * count, {"PYTHONPATH": root})

    def done_after(self, first: int) -> int:
        return scalar(
            self.engine,
            "SELECT count(*) FROM procrastinate_jobs WHERE id >= :f AND status = 'succeeded'",
            f=first,
        )

    def enqueue(self, count: int, due: datetime | None) -> int:
        first = 0
        deferrer = self.app.configure_task(self.task.name, schedule_at=due) if due else None
        for offset in range(0, count, 500):
            kwargs = [{}] * min(500, count - offset)
            if deferrer is not None:
                ids = self.loop.run_until_complete(deferrer.batch_defer_async(*kwargs))
            else:
                ids = self.loop.run_until_complete(self.task.batch_defer_async(*kwargs))
            first = first or ids[0]
        return first

    def started(self, job_id: int) -> datetime | None:
        with self.engine.connect() as conn:
            return conn.execute(
                text("SELECT at FROM procrastinate_events WHERE job_id = :j AND type = 'started'"),
                {"j": job_id},
            ).scalar()


def throughput(q: Castsmith | Procrastinate, processes: int, jobs: int) -> float:
    procs = q.workers(processes)
    try:
        warm = q.enqueue(50 * processes, None)
        while q.done_after(warm) < 50 * processes:
            time.sleep(0.1)
        time.sleep(2)
        due = datetime.now(UTC) + timedelta(seconds=jobs / 400 + 3)
        first = q.enqueue(jobs, due)
        time.sleep(max((due - datetime.now(UTC)).total_seconds(), 0))
        began = time.perf_counter()
        while q.done_after(first) < jobs:
            time.sleep(0.01)
        return jobs / (time.perf_counter() - began)
    finally:
        stop(procs)


def one_delay(q: Castsmith | Procrastinate) -> float:
    """Milliseconds from the enqueue call to the start the queue records, for one job."""
    before = datetime.now(UTC)
    job = q.enqueue(1, None)
    while (began := q.started(job)) is None:
        time.sleep(0.002)
    return (began - before).total_seconds() * 1000


def start_delays(
    ours: Castsmith, theirs: Procrastinate, samples: int
) -> tuple[list[float], list[float]]:
    """Enqueue-to-start with one idle worker process of each queue, both running.

    The samples alternate between the queues (ABBA order), so a busy moment of the shared
    machine falls on both alike and the ratio compares like with like.
    """
    queues = (ours, theirs)
    procs = [proc for q in queues for proc in q.workers(1)]
    delays: dict[str, list[float]] = {q.name: [] for q in queues}
    try:
        for q in queues:
            warm = q.enqueue(5, None)
            while q.done_after(warm) < 5:
                time.sleep(0.1)
        for index in range(samples):
            order = queues if index % 2 == 0 else queues[::-1]
            for q in order:
                delays[q.name].append(one_delay(q))
                time.sleep(0.05)
    finally:
        stop(procs)
    return delays[ours.name], delays[theirs.name]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=3000)
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument(
        "--delay-only", action="store_true", help="only the enqueue-to-start comparison"
    )
    args = parser.parse_args()
    name, url = scratch_pg()
    tmp = Path(tempfile.mkdtemp(prefix="castsmith-versus-"))
    try:
        upgrade(make_engine(url))
        ours, theirs = Castsmith(url, tmp), Procrastinate(url)
        print(f"{load()} on {os.cpu_count()} cores, {args.jobs} no-op jobs per figure", flush=True)
        for processes in () if args.delay_only else (1, 4):
            a = throughput(ours, processes, args.jobs)
            print(f"  {processes} proc  castsmith     {a:7,.0f} jobs/s  ({load()})", flush=True)
            b = throughput(theirs, processes, args.jobs)
            print(f"  {processes} proc  procrastinate {b:7,.0f} jobs/s  ({load()})", flush=True)
            print(f"  {processes} proc  ratio castsmith / procrastinate: {a / b:.2f}x", flush=True)
        mine, other = start_delays(ours, theirs, args.samples)
        a, b = statistics.median(mine), statistics.median(other)
        p95 = statistics.quantiles(mine, n=20)[18], statistics.quantiles(other, n=20)[18]
        print(
            f"  enqueue-to-start median: castsmith {a:.1f} ms, procrastinate {b:.1f} ms, "
            f"ratio {a / b:.2f} (lower is faster); p95 {p95[0]:.1f} / {p95[1]:.1f} ms "
            f"({args.samples} samples each, alternating; {load()})"
        )
    finally:
        drop_pg(name)


if __name__ == "__main__":
    # A benchmark acts with the operator's authority, as the CLI and workers do.
    main()
