"""Where a read request's time goes: the load benchmark's routes, profiled in-process.

Run: ``.venv/bin/python -m benchmarks.profile_reads [--requests 50] [--profile]``
(``make bench-deps`` installs pyinstrument).

Builds the same scratch library as :mod:`benchmarks.load` (50 actors, 200 training
images each) and sends each route ``--requests`` times through ``httpx.ASGITransport``
to ``create_app``, with no server and no network in between. It prints CPU ms per
request (process time, so a busy machine inflates it less than wall time) over three
rounds, and with ``--profile`` pyinstrument's tree for each route. Work done in
``asyncio.to_thread`` shows there as an ``[await]``: profile those functions directly.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import httpx
from fastapi import FastAPI

from benchmarks.load import prepare
from castsmith.config import Settings

PATHS = ["/api/actors?limit=50", "/api/actors/7", "/api/actors/7/manifest", "/api/jobs"]


async def measure(app: FastAPI, requests: int, profile: bool) -> None:
    """Print CPU ms per request of each route (three rounds), profiled if asked."""
    from pyinstrument import Profiler

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        for path in PATHS:  # warm-up: caches, compiled statements, first connections
            for _ in range(5):
                assert (await client.get(path)).status_code == 200, path
        for path in PATHS if profile else PATHS * 3:
            profiler = Profiler(interval=0.0005, async_mode="enabled") if profile else None
            start = time.process_time()
            if profiler:
                profiler.start()
            for _ in range(requests):
                await client.get(path)
            if profiler:
                profiler.stop()
            spent = (time.process_time() - start) / requests * 1000
            print(f"{path:28s} {spent:6.2f} CPU ms/request", flush=True)
            if profiler:
                print(profiler.output_text(unicode=False, color=False))


def main() -> None:
    """Build the library, then measure (and optionally profile) the read routes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    # The load benchmark's server runs without authentication; so does this app.
    os.environ["CASTSMITH_AUTH"] = "off"
    from castsmith.api.app import create_app

    tmp = Path(tempfile.mkdtemp(prefix="castsmith-profile-"))
    container = prepare(Settings(database_url=f"sqlite:///{tmp / 'load.db'}", data_dir=tmp))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    asyncio.run(measure(create_app(container), args.requests, args.profile))


if __name__ == "__main__":
    # Acting as the operator, as benchmarks.load's prepare does.
    main()
