"""Under load over time: read throughput at 200 clients, and memory of the app and a worker.

Run: ``.venv/bin/python -m benchmarks.load [--server-workers 1,2] [--rounds 20]``.

A scratch SQLite library (local store, offline providers) gets 50 actors with a
poster and a 200-image training set each. Then:

- ``readers``: ``castsmith serve`` (with its in-process worker running) and 200
  concurrent clients for ``--seconds`` on the read routes (list actors, an actor, a
  manifest, jobs); requests/s, p50/p95, and the RSS of the server processes after a
  warm-up and at the end;
- ``worker``: a ``castsmith worker`` process runs ``--rounds`` rounds of 500 jobs (50
  offline posters and 450 diagnostic jobs each); its RSS after the first two rounds
  (warm-up) and after the last one.
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
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from benchmarks.http_load import run_clients
from castsmith.bootstrap import Container, build_container
from castsmith.config import Settings
from castsmith.domain.access import OPERATOR
from castsmith.jobs.types import JobSpec

BIN = Path(sys.executable).parent / "castsmith"
ACTORS = 50
IMAGES = 200


def cpu_by_process(pid: int) -> dict[int, float]:
    """User + system CPU seconds of ``pid`` and each of its descendants (Linux /proc)."""
    found: dict[int, float] = {}
    pids = [pid]
    tick = os.sysconf("SC_CLK_TCK")
    while pids:
        current = pids.pop()
        try:
            # Fields 14 and 15 (utime, stime) follow the ")" that ends the command name.
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            found[current] = (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{current}/task").iterdir():
                pids += [int(c) for c in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its descendants."""
    return sum(cpu_by_process(pid).values())


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its children, in MB (Linux /proc)."""
    total = 0
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{current}/task").iterdir():
                pids += [int(c) for c in (task / "children").read_text().split()]
        except FileNotFoundError:
            continue
    return total / 1024


def prepare(settings: Settings) -> Container:
    """Migrate and fill the library through castsmith's own use cases and tables."""
    from castsmith.db.migrate import upgrade
    from castsmith.db.models import Asset, TrainingDataItem
    from castsmith.pipelines import actors

    container = build_container(settings).acting_for(OPERATOR)
    upgrade(container.engine)

    async def make() -> None:
        for i in range(ACTORS):
            await actors.create_actor(
                container, {"name": f"load_actor_{i}", "description": "a benchmark actor"}
            )

    asyncio.run(make())
    with container.sessions.begin() as session:
        for actor_id in range(1, ACTORS + 1):
            for n in range(1, IMAGES + 1):
                key = f"system_actors/training_data/a{actor_id}/a{actor_id}_{n}.jpg"
                asset = Asset(
                    storage_key=key,
                    content_type="image/jpeg",
                    size_bytes=1000,
                    md5="0" * 32,
                    sha256="0" * 64,
                    width=1024,
                    height=1024,
                )
                session.add(asset)
                session.flush()
                session.add(
                    TrainingDataItem(
                        actor_id=actor_id, n=n, filename=key.rsplit("/")[-1], asset_id=asset.id
                    )
                )
    return container


def start(args: list[str], settings: Settings, env: dict[str, str]) -> subprocess.Popen[bytes]:
    base = [str(BIN), "--database-url", settings.database_url, "--data-dir", str(settings.data_dir)]
    environ = os.environ | {"CASTSMITH_LOG_LEVEL": "WARNING"} | env
    return subprocess.Popen([*base, *args], env=environ, stdout=subprocess.DEVNULL)


PATHS = ["/api/actors?limit=50", "/api/actors/7", "/api/actors/7/manifest", "/api/jobs"]


async def readers(
    base: str, clients: int, seconds: float, client: str = "raw"
) -> tuple[int, list[float], int]:
    """Requests sent, their durations and the failed ones, from ``clients`` clients.

    ``raw``: keep-alive HTTP/1.1 on asyncio streams (:mod:`benchmarks.http_load`), cheap
    enough to leave the cores to the server; ``httpx``: the client the first figures
    were taken with (about 1 ms of CPU per request on the same cores).
    """
    if client == "raw":
        address = urlsplit(base)
        assert address.hostname and address.port, base
        tally = await run_clients(address.hostname, address.port, PATHS, clients, seconds)
        return len(tally.times), tally.times, tally.errors
    paths = PATHS
    times: list[float] = []
    errors = 0
    end = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:

        async def one(i: int) -> None:
            nonlocal errors
            k = i
            while time.perf_counter() < end:
                start = time.perf_counter()
                try:
                    answer = await http.get(paths[k % len(paths)])
                    errors += answer.status_code != 200
                except httpx.TransportError:
                    # A dropped or refused connection is a failed request, counted as
                    # one; the client opens a new connection for its next request.
                    errors += 1
                times.append(time.perf_counter() - start)
                k += 1

        await asyncio.gather(*(one(i) for i in range(clients)))
    return len(times), times, errors


def read_figures(settings: Settings, processes: int, seconds: float, client: str = "raw") -> None:
    from benchmarks.scale import free_port

    port = free_port()
    proc = start(
        ["serve", "--port", str(port), "--workers", str(processes)],
        settings,
        {"CASTSMITH_AUTH": "off"},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        while True:
            assert proc.poll() is None, "castsmith serve exited"
            try:
                health = httpx.get(base + "/healthz", timeout=5).json()
            except httpx.HTTPError:
                time.sleep(0.5)
                continue
            # Make sure it is this run's server on this run's database.
            assert settings.database_url in health["checks"]["database"]["detail"], health
            break
        asyncio.run(readers(base, 200, 10, client))  # warm-up
        before = rss_mb(proc.pid)
        load_before = os.getloadavg()[0]
        cpu_before = cpu_by_process(proc.pid)
        own_before = time.process_time()
        count, times, errors = asyncio.run(readers(base, 200, seconds, client))
        cpu_after = cpu_by_process(proc.pid)
        client_cpu = time.process_time() - own_before
        # Per process: with --workers N the N server processes should share the work.
        spent = {p: cpu - cpu_before.get(p, 0.0) for p, cpu in cpu_after.items()}
        server_cpu = sum(spent.values())
        after = rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(60)
    times.sort()
    p95 = times[int(0.95 * (len(times) - 1))] * 1000
    rate = count / seconds
    print(
        f"  serve --workers {processes} ({client} client): {rate:,.0f} req/s (goal >= 400: "
        f"{'met' if rate >= 400 else 'MISSED'}), p50 {statistics.median(times) * 1000:.0f} ms, "
        f"p95 {p95:.0f} ms (goal <= 500: {'met' if p95 <= 500 else 'MISSED'}), {errors} errors; "
        f"RSS {before:.0f} -> {after:.0f} MB (+{after - before:.1f}; goal <= 30: "
        f"{'met' if after - before <= 30 else 'MISSED'}); load {load_before:.1f} -> "
        f"{os.getloadavg()[0]:.1f}\n    CPU per request: server {server_cpu / count * 1000:.2f} ms "
        f"({server_cpu / seconds:.2f} cores), clients {client_cpu / count * 1000:.2f} ms "
        f"({client_cpu / seconds:.2f} cores); CPU s by process: "
        f"{', '.join(f'{cpu:.1f}' for cpu in sorted(spent.values(), reverse=True))}",
        flush=True,
    )


def unfinished(container: Container, ids: list[int]) -> int:
    from sqlalchemy import func, select

    from castsmith.jobs.sql import JOBS

    query = select(func.count()).select_from(JOBS)
    query = query.where(JOBS.c.id.in_(ids), JOBS.c.finished_at.is_(None))
    with container.engine.connect() as conn:
        return int(conn.execute(query).scalar() or 0)


def worker_figures(container: Container, settings: Settings, rounds: int) -> None:
    from castsmith.pipelines import posters
    from castsmith.pipelines.posters.params import PosterOverrides

    proc = start(["worker", "--concurrency", "8"], settings, {"CASTSMITH_WORKER_INTERVAL": "0.1"})
    samples = []
    try:
        for number in range(rounds):

            async def enqueue() -> list[int]:
                ids = [
                    (await posters.request_poster(container, a, PosterOverrides())).id
                    for a in range(1, ACTORS + 1)
                ]
                more = container.queue.enqueue_many([JobSpec("diagnostic.sleep")] * 450)
                return ids + [job.id for job in more]

            ids = asyncio.run(enqueue())
            while unfinished(container, ids):
                time.sleep(0.5)
            samples.append(rss_mb(proc.pid))
            print(
                f"    round {number + 1}: {500 * (number + 1)} jobs, RSS {samples[-1]:.1f} MB",
                flush=True,
            )
    finally:
        proc.terminate()
        proc.wait(60)
    warm, last = samples[min(1, len(samples) - 1)], samples[-1]
    print(
        f"  worker: RSS after warm-up {warm:.1f} MB, after {500 * rounds} jobs {last:.1f} MB "
        f"(+{last - warm:.1f}; goal <= 20: {'met' if last - warm <= 20 else 'MISSED'}); "
        f"load {os.getloadavg()[0]:.1f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server-workers", default="1,2")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--skip", default="", help="readers and/or worker")
    parser.add_argument(
        "--client",
        default="raw",
        choices=["raw", "httpx"],
        help="the readers' HTTP client: raw keep-alive streams (cheap) or httpx",
    )
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="castsmith-load-"))
    settings = Settings(database_url=f"sqlite:///{tmp / 'load.db'}", data_dir=tmp)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    container = prepare(settings)
    if "readers" not in args.skip:
        for processes in (int(p) for p in args.server_workers.split(",")):
            read_figures(settings, processes, args.seconds, args.client)
    if "worker" not in args.skip:
        worker_figures(container, settings, args.rounds)
    container.close()


if __name__ == "__main__":
    # A benchmark acts with the operator's authority, as the CLI and workers do.
    main()
