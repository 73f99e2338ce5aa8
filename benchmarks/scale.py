"""Scale benchmark: a large library in PostgreSQL, read latencies, plans, queue, prune.

Run: ``.venv/bin/python -m benchmarks.scale [--actors N] [--images N] [--jobs N]``.

A scratch database is created, migrated, filled in bulk (``benchmarks/scale_fill.py``)
and dropped at the end (``--keep`` keeps it; ``--reuse NAME`` measures a kept one
again, ``--refill-jobs`` refills its job tables after a retention pass, ``--only`` and
``--skip`` choose the parts). Then, with ``castsmith serve --no-worker`` running on it:

- p50/p95 of the read routes (actors: first page, deep cursor page, search, filters;
  an actor, its page, a 200-image manifest; jobs by status), sequential requests;
- every SQL statement those routes run, captured in-process and ``EXPLAIN``-ed, with
  the scans each plan uses (a sequential scan of a big table is called out);
- claim + complete of no-op jobs with 4 ``castsmith worker`` processes, and the
  enqueue-to-start delay with one worker woken by LISTEN/NOTIFY;
- one retention pass over the finished jobs, with a claim probe running beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, event, func, select

from benchmarks.queue import ADMIN, drop_pg, scratch_pg
from benchmarks.scale_fill import Shape, fill
from benchmarks.scale_prune import prune_figures
from castsmith.db.engine import make_engine
from castsmith.db.migrate import upgrade
from castsmith.domain.access import OPERATOR
from castsmith.domain.actors import encode_cursor
from castsmith.jobs.queue import JobQueue
from castsmith.jobs.retention import RetentionPolicy
from castsmith.jobs.sql import JOBS
from castsmith.jobs.types import JobSpec

CASTSMITH = str(Path(sys.executable).parent / "castsmith")
NOOP = JobSpec("diagnostic.sleep", {"seconds": 0})
BIG_TABLES = {"actors", "assets", "training_data_items", "jobs", "job_runs", "job_events"}
# Workers started here must not prune the big tables while the queue is measured.
KEEP = {
    "CASTSMITH_JOB_RETENTION_SECONDS": "1e10",
    "CASTSMITH_JOB_FAILED_RETENTION_SECONDS": "1e10",
    "CASTSMITH_JOB_RUNS_RETENTION_SECONDS": "1e10",
    "CASTSMITH_JOB_EVENTS_RETENTION_SECONDS": "1e10",
}


def load() -> str:
    return "load average {:.1f} / {:.1f} / {:.1f}".format(*os.getloadavg())


def routes(shape: Shape) -> list[tuple[str, str]]:
    deep = encode_cursor(int(shape.actors * 0.9))
    mid = shape.actors // 2 + 1  # an actor with the usual ~20 images
    return [
        ("actors, first page", "/api/actors?limit=50"),
        ("actors, deep cursor page", f"/api/actors?limit=50&cursor={deep}"),
        ("actors, search (20 % match)", "/api/actors?limit=50&q=bearded"),
        ("actors, search (one match)", f"/api/actors?limit=50&q=actor_{mid}"),
        ("actors, filter sex+type", "/api/actors?limit=50&sex=female&actor_type=robot"),
        ("actors, filter has_lora", "/api/actors?limit=50&has_lora=true"),
        ("an actor", f"/api/actors/{mid}"),
        ("an actor's page (HTML)", f"/actors/{mid}"),
        ("an actor's training data", f"/api/actors/{mid}/training-data"),
        ("manifest, 200 images", "/api/actors/1/manifest"),
        ("jobs, status=completed", "/api/jobs?status=completed&limit=50"),
        ("jobs, status=failed", "/api/jobs?status=failed&limit=50"),
        ("jobs, status=queued", "/api/jobs?status=queued&limit=50"),
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(url: str, tmp: Path) -> Iterator[str]:
    """``castsmith serve`` on a free port; checked to be this run's server and database."""
    port = free_port()
    env = os.environ | {"CASTSMITH_LOG_LEVEL": "WARNING", "CASTSMITH_AUTH": "off"}
    cmd = [CASTSMITH, "--database-url", url, "--data-dir", str(tmp), "serve", "--no-worker"]
    proc = subprocess.Popen([*cmd, "--port", str(port)], env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    database = url.rpartition("/")[2]
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"castsmith serve exited with {proc.returncode}")
            try:
                health = httpx.get(base + "/healthz", timeout=5).json()
                if database in health["checks"]["database"]["detail"]:
                    break
                raise RuntimeError(f"another server answers on port {port}: {health}")
            except httpx.HTTPError:
                time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        proc.wait(30)


def latencies(base: str, shape: Shape, samples: int) -> None:
    print(f"\n-- read routes, {samples} sequential requests each ({load()})")
    print(f"  {'route':<30} {'p50 ms':>8} {'p95 ms':>8}  status")
    with httpx.Client(base_url=base, timeout=60) as client:
        for name, path in routes(shape):
            times = []
            for i in range(samples + 3):
                start = time.perf_counter()
                answer = client.get(path)
                if i >= 3:  # the first few warm caches and pools
                    times.append((time.perf_counter() - start) * 1000)
            times.sort()
            p95 = times[int(0.95 * (len(times) - 1))]
            goal = "met" if p95 <= 50 else "MISSED"
            print(
                f"  {name:<30} {statistics.median(times):8.1f} {p95:8.1f}  "
                f"{answer.status_code} (goal p95 <= 50 ms: {goal})",
                flush=True,
            )


def plans(url: str, tmp: Path, shape: Shape) -> None:
    """EXPLAIN every statement each route runs, captured in-process."""
    from castsmith.api.app import create_app
    from castsmith.bootstrap import build_container
    from castsmith.config import Settings

    settings = Settings(database_url=url, data_dir=tmp, auth="off")  # type: ignore[arg-type]
    container = build_container(settings).acting_for(OPERATOR)
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cur: Any, statement: str, params: Any, _ctx: Any, _many: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))

    event.listen(container.engine, "before_cursor_execute", capture)
    print(f"\n-- query plans ({load()})")

    async def run() -> None:
        transport = httpx.ASGITransport(app=create_app(container))
        async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
            for name, path in routes(shape):
                seen.clear()
                await client.get(path)
                report(container.engine, name, list(seen))

    asyncio.run(run())
    container.close()


def report(engine: Engine, name: str, statements: list[tuple[str, Any]]) -> None:
    scans: list[str] = []
    worst = 0.0
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        for statement, params in statements:
            with raw.cursor() as cur:
                cur.execute("EXPLAIN (ANALYZE, FORMAT TEXT) " + statement, params)
                lines = [row[0] for row in cur.fetchall()]
            raw.rollback()
            for line in lines:
                found = re.search(
                    r"(Seq Scan on \w+|Index Only Scan using \w+|"
                    r"Index Scan(?: Backward)? using \w+|Bitmap Index Scan on \w+)",
                    line,
                )
                if found and found.group(1) not in scans:
                    scans.append(found.group(1))
                took = re.search(r"Execution Time: ([\d.]+) ms", line)
                if took:
                    worst = max(worst, float(took.group(1)))
    big = [s for s in scans if s.startswith("Seq Scan") and s.split()[-1] in BIG_TABLES]
    flag = f"  SEQUENTIAL: {', '.join(big)}" if big else ""
    print(f"  {name}: {len(statements)} statements, slowest {worst:.1f} ms{flag}")
    print(f"      {'; '.join(scans)}")


def workers(url: str, tmp: Path, count: int, env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    environ = os.environ | {"CASTSMITH_LOG_LEVEL": "WARNING"} | KEEP | env
    cmd = [CASTSMITH, "--database-url", url, "--data-dir", str(tmp), "worker"]
    return [
        subprocess.Popen([*cmd, "--concurrency", "64"], env=environ, stdout=subprocess.DEVNULL)
        for _ in range(count)
    ]


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(60)


def completed_after(queue: JobQueue, first_id: int) -> int:
    with queue.engine.connect() as conn:
        query = select(func.count()).select_from(JOBS)
        query = query.where(JOBS.c.id >= first_id, JOBS.c.status == "completed")
        return int(conn.execute(query).scalar() or 0)


def queue_figures(queue: JobQueue, url: str, tmp: Path, jobs: int, samples: int) -> None:
    print(f"\n-- queue beside the big tables ({load()})")
    procs = workers(url, tmp, 4, {"CASTSMITH_WORKER_INTERVAL": "0.05"})
    try:
        warm = queue.enqueue_many([NOOP] * 200)
        while completed_after(queue, warm[0].id) < 200:
            time.sleep(0.1)
        time.sleep(3)  # every process imported and claiming
        due = datetime.now(UTC) + timedelta(seconds=jobs / 500 + 2)
        first = None
        for offset in range(0, jobs, 500):
            made = queue.enqueue_many(
                [JobSpec(NOOP.kind, NOOP.payload, run_after=due)] * min(500, jobs - offset)
            )
            first = first or made[0].id
        assert first is not None
        time.sleep(max((due - datetime.now(UTC)).total_seconds(), 0))
        start = time.perf_counter()
        while completed_after(queue, first) < jobs:
            time.sleep(0.01)
        rate = jobs / (time.perf_counter() - start)
        goal = "met" if rate >= 1000 else "MISSED"
        print(
            f"  4 processes: claim+complete {rate:,.0f} jobs/s ({jobs} jobs; goal >= 1,000: "
            f"{goal}; {load()})",
            flush=True,
        )
    finally:
        stop(procs)
    procs = workers(url, tmp, 1, {"CASTSMITH_WORKER_INTERVAL": "1.0"})
    delays = []
    try:
        warm = queue.enqueue_many([NOOP] * 5)
        while completed_after(queue, warm[0].id) < 5:
            time.sleep(0.1)
        for _ in range(samples):
            before = datetime.now(UTC)
            job = queue.enqueue(NOOP.kind, {})
            while not (runs := queue.runs(job.id)):
                time.sleep(0.002)
            delays.append((runs[0].started_at - before).total_seconds() * 1000)
            time.sleep(0.05)
    finally:
        stop(procs)
    delays.sort()
    median = statistics.median(delays)
    print(
        f"  enqueue-to-start (LISTEN/NOTIFY, 1 worker): median {median:.1f} ms, p95 "
        f"{delays[int(0.95 * (len(delays) - 1))]:.1f} ms (goal median <= 50 ms: "
        f"{'met' if median <= 50 else 'MISSED'})",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--actors", type=int, default=100_000)
    parser.add_argument("--images", type=int, default=2_000_000)
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--queue-jobs", type=int, default=5000)
    parser.add_argument(
        "--only", default="routes,plans,queue,prune", help="Comma-separated parts to run."
    )
    parser.add_argument("--skip", default="", help="Parts not to run (queue, prune, ...).")
    parser.add_argument(
        "--baseline", type=float, default=30, help="Seconds of claims timed before the pass."
    )
    parser.add_argument("--batch-size", type=int, default=RetentionPolicy().batch_size)
    parser.add_argument("--keep", action="store_true", help="Do not drop the database.")
    parser.add_argument(
        "--reuse",
        metavar="NAME",
        help="Measure an existing filled database (kept; the shape flags must match its "
        "fill); pending migrations are applied to it first.",
    )
    parser.add_argument(
        "--refill-jobs",
        action="store_true",
        help="With --reuse: empty and refill the job tables first (after a retention pass).",
    )
    args = parser.parse_args()
    parts = set(args.only.split(",")) - set(args.skip.split(","))
    shape = Shape(args.actors, args.images, args.jobs)
    print(f"{load()} on {os.cpu_count()} cores; {shape}")
    if args.reuse:
        name, url = args.reuse, ADMIN.rpartition("/")[0] + "/" + args.reuse
    else:
        name, url = scratch_pg()
    tmp = Path(tempfile.mkdtemp(prefix="castsmith-scale-"))
    engine = make_engine(url)
    try:
        upgrade(engine)
        if not args.reuse or args.refill_jobs:
            took = fill(engine, shape, jobs_only=bool(args.reuse))
            print("fill: " + ", ".join(f"{k} {v:.0f} s" for k, v in took.items()), flush=True)
        if "routes" in parts:
            with server(url, tmp) as base:
                latencies(base, shape, args.samples)
        if "plans" in parts:
            plans(url, tmp, shape)
        if "queue" in parts:
            queue_figures(JobQueue(engine), url, tmp, args.queue_jobs, args.samples)
        if "prune" in parts:
            prune_figures(engine, args.baseline, args.batch_size)
    finally:
        engine.dispose()
        if args.keep or args.reuse:
            print(f"kept database {name}")
        else:
            drop_pg(name)


if __name__ == "__main__":
    # A benchmark acts with the operator's authority, as the CLI and workers do.
    main()
