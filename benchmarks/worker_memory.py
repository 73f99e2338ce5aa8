"""Worker memory over many jobs: RSS per round, Python heap growth and allocator state.

Run: ``.venv/bin/python -m benchmarks.worker_memory [--rounds 20] [--trace] [--trim]``.

The same scratch library and workload as ``benchmarks.load``'s worker part (50 actors;
rounds of 50 offline posters and 450 diagnostic jobs), but the worker runs in this
process, built and tuned the way ``castsmith worker`` does it (``make_worker``, then
``castsmith.jobs.memory.tune_allocator``), so that after every round we can read:

- RSS (``/proc/self/status``);
- glibc's own account (``mallinfo2``): bytes in use by ``malloc`` callers, bytes held
  free inside the arenas (fragmentation the process keeps), and the number of arenas;
- with ``--trace``, a ``tracemalloc`` snapshot diffed between the warm-up round (2)
  and the last round: the top allocation sites by growth. ``tracemalloc`` sees only
  the Python heap, so RSS growth it does not show is native (Pillow, SQLite) or
  allocator overhead;
- ``gc`` object counts by type, diffed the same way.

``--trim`` calls ``malloc_trim(0)`` after each measurement (before the next round) and
prints RSS before/after it: memory it gives back was free memory the arenas kept.
Environment knobs for the allocator (``MALLOC_ARENA_MAX``, ``MALLOC_TRIM_THRESHOLD_``)
work as for any process and are printed with the results;
``CASTSMITH_WORKER_MALLOC=off`` runs the worker without castsmith's own remedies (the
figures before them), ``=arenas`` with the other one.

``--draw-cpu`` measures instead what a mode costs: CPU ms to draw and encode one
1024x1024 offline portrait in four threads (best of three runs of 40).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import ctypes
import ctypes.util
import gc
import logging
import os
import tempfile
import time
import tracemalloc
from pathlib import Path

from castsmith.bootstrap import Container
from castsmith.config import Settings
from castsmith.jobs import memory
from castsmith.jobs.types import JobSpec

POSTERS = 50
DIAGNOSTIC = 450


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    libc = ctypes.CDLL(name)
    return libc if hasattr(libc, "mallinfo2") else None


LIBC = _libc()
if LIBC is not None:
    LIBC.mallinfo2.restype = _MallInfo2


def rss_mb() -> float:
    """This process's resident memory in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def heap_mb() -> tuple[float, float, float]:
    """glibc's view: MB in use, MB free inside the arenas, MB in mmapped chunks."""
    if LIBC is None:
        return (0.0, 0.0, 0.0)
    info = LIBC.mallinfo2()
    mb = 1024 * 1024
    return info.uordblks / mb, info.fordblks / mb, info.hblkhd / mb


def arenas() -> int:
    """How many malloc arenas exist (one line per arena in malloc_info's XML)."""
    if LIBC is None:
        return 0
    path = Path(tempfile.mkstemp(prefix="castsmith-malloc-")[1])
    try:
        stream = LIBC.fopen(str(path).encode(), b"w")
        LIBC.malloc_info(0, ctypes.c_void_p(stream))
        LIBC.fclose(ctypes.c_void_p(stream))
        return path.read_text().count("<heap nr=")
    finally:
        path.unlink()


def object_counts() -> collections.Counter[str]:
    """Live objects tracked by the garbage collector, by type name."""
    return collections.Counter(type(o).__qualname__ for o in gc.get_objects())


async def run_rounds(container: Container, rounds: int, trace: bool, trim: bool) -> None:
    from sqlalchemy import func, select

    from castsmith.jobs.runner import make_worker
    from castsmith.jobs.sql import JOBS
    from castsmith.pipelines import posters
    from castsmith.pipelines.posters.params import PosterOverrides

    if LIBC is not None:
        # Without a prototype ctypes would pass the pointers above as 32-bit ints.
        LIBC.fopen.restype = ctypes.c_void_p
    worker = make_worker(
        container.queue, container.registry, container.settings, container, concurrency=8
    )
    task = asyncio.create_task(worker.run())

    def unfinished(ids: list[int]) -> int:
        query = select(func.count()).select_from(JOBS)
        query = query.where(JOBS.c.id.in_(ids), JOBS.c.finished_at.is_(None))
        with container.engine.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    warm_snapshot: tracemalloc.Snapshot | None = None
    warm_counts: collections.Counter[str] = collections.Counter()
    samples: list[float] = []
    started = time.monotonic()
    for number in range(1, rounds + 1):
        ids = [
            (await posters.request_poster(container, a, PosterOverrides())).id
            for a in range(1, POSTERS + 1)
        ]
        more = container.queue.enqueue_many([JobSpec("diagnostic.sleep")] * DIAGNOSTIC)
        ids += [job.id for job in more]
        # Polled as benchmarks.load does: the jobs end in the worker's own tasks.
        while True:
            if not await asyncio.to_thread(unfinished, ids):
                break
            await asyncio.sleep(0.2)
        gc.collect()
        samples.append(rss_mb())
        used, free, mapped = heap_mb()
        line = (
            f"round {number:>2}: {(POSTERS + DIAGNOSTIC) * number:>6} jobs, "
            f"RSS {samples[-1]:6.1f} MB; malloc in use {used:6.1f}, free in arenas "
            f"{free:6.1f}, mmapped {mapped:5.1f}; {arenas()} arenas; "
            f"{time.monotonic() - started:5.0f} s"
        )
        if trace:
            line += f"; traced {tracemalloc.get_traced_memory()[0] / 2**20:6.1f} MB"
        if trim and LIBC is not None:
            LIBC.malloc_trim(0)
            line += f"; after malloc_trim {rss_mb():6.1f} MB"
        print(line, flush=True)
        if number == min(2, rounds):
            warm_counts = object_counts()
            if trace:
                warm_snapshot = tracemalloc.take_snapshot()
    worker.stop()
    await task

    warm, last = samples[min(1, len(samples) - 1)], samples[-1]
    print(
        f"worker: RSS after warm-up {warm:.1f} MB, after {len(samples) * 500} jobs {last:.1f} MB "
        f"(+{last - warm:.1f}; goal <= 20: {'met' if last - warm <= 20 else 'MISSED'}); "
        f"load {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    growth = object_counts()
    growth.subtract(warm_counts)
    print("objects (gc) grown since round 2:")
    for name, count in growth.most_common(15):
        if count > 0:
            print(f"  {count:+8d}  {name}")
    if warm_snapshot is not None:
        final = tracemalloc.take_snapshot()
        ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
        diff = final.filter_traces(ignore).compare_to(warm_snapshot.filter_traces(ignore), "lineno")
        print("tracemalloc, top growth since round 2:")
        for stat in diff[:20]:
            print(f"  {stat}")


def draw_cpu() -> None:
    """CPU per drawn and encoded portrait under this process's allocator settings."""
    from concurrent.futures import ThreadPoolExecutor

    from castsmith.providers.offline._portrait import encode_png, render_portrait
    from castsmith.providers.offline._traits import parse_traits

    traits = parse_traits("a woman with long red hair and glasses")

    def one(seed: int) -> int:
        return len(encode_png(render_portrait(traits, 1024, 1024, seed), "benchmark"))

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, range(8)))  # warm-up
        runs = []
        for _ in range(3):
            start = time.process_time()
            list(pool.map(one, range(40)))
            runs.append((time.process_time() - start) / 40 * 1000)
    print(
        f"mode {memory.mode()}: {min(runs):.1f} CPU ms per portrait (runs "
        f"{', '.join(f'{r:.1f}' for r in runs)}); load {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--trace", action="store_true", help="tracemalloc (slower)")
    parser.add_argument("--trim", action="store_true", help="malloc_trim(0) after each round")
    parser.add_argument("--draw-cpu", action="store_true", help="CPU per drawn portrait")
    args = parser.parse_args()
    if args.draw_cpu:
        memory.tune_allocator()
        draw_cpu()
        return
    # The same prepared library as benchmarks.load.
    from benchmarks.load import prepare

    logging.basicConfig(level=logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="castsmith-wmem-"))
    settings = Settings(
        database_url=f"sqlite:///{tmp / 'load.db'}", data_dir=tmp, worker_interval=0.1
    )
    knobs = {k: v for k, v in os.environ.items() if k.startswith("MALLOC_")}
    print(
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; allocator {knobs}",
        flush=True,
    )
    if args.trace:
        tracemalloc.start(1)  # one frame: the allocating line, at the least cost
    container = prepare(settings)
    print(f"castsmith allocator tuning: {'on' if memory.tune_allocator() else 'off'}")
    try:
        asyncio.run(run_rounds(container, args.rounds, args.trace, args.trim))
    finally:
        container.close()


if __name__ == "__main__":
    # A benchmark acts with the operator's authority, as the CLI and workers do.
    main()
