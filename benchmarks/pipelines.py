"""Pipeline benchmarks: ``.venv/bin/python benchmarks/pipelines.py [NAME ...]``.

Each pipeline registers one function with ``@benchmark("name")``; with no arguments
every benchmark runs. Each prints its figures as a small table.
"""

from __future__ import annotations

import asyncio
import base64
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # for tests.fakes when run as a script

BENCHMARKS: dict[str, Callable[[], None]] = {}


def benchmark(name: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """Register a benchmark under ``name``."""

    def wrap(func: Callable[[], None]) -> Callable[[], None]:
        BENCHMARKS[name] = func
        return func

    return wrap


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile (nearest rank)."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


# --- posters ----------------------------------------------------------------------------


def _photo_png(size: int = 1024) -> bytes:
    """A shaded 1024 px PNG with light noise, like a cel-shaded FLUX poster."""
    import io

    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:size, 0:size]
    base = np.stack([x * 255 / size, y * 255 / size, (x + y) * 127 / size], axis=-1)
    noisy = np.clip(base + rng.normal(0, 4, base.shape), 0, 255).astype("uint8")
    image = Image.fromarray(noisy, "RGB")
    draw = ImageDraw.Draw(image)
    draw.ellipse((300, 200, 724, 760), fill=(230, 190, 160))
    draw.rectangle((380, 700, 640, 1024), fill=(40, 60, 150))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@benchmark("posters")
def posters_benchmark(runs: int = 15, latency: float = 0.5) -> None:
    """Poster regeneration time beyond the provider latency L (fake RunPod + S3 server)."""
    import boto3
    from moto.server import ThreadedMotoServer
    from tests.fakes.runpod import FakeRunPod
    from tests.services import free_port

    from castsmith.bootstrap import build_container
    from castsmith.config import Settings
    from castsmith.db.migrate import upgrade
    from castsmith.db.models import Actor
    from castsmith.pipelines import posters
    from castsmith.pipelines.posters_params import PosterOverrides

    poster_png = _photo_png()

    class PosterRunPod(FakeRunPod):
        def _output(self) -> Any:
            data = base64.b64encode(poster_png).decode()
            return {"images": [{"filename": "poster_00001_.png", "type": "base64", "data": data}]}

    port = free_port()
    s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    s3.start()
    fake = PosterRunPod(latency=latency)
    fake.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="k",
        aws_secret_access_key="s",
    ).create_bucket(Bucket="bench-posters")
    data_dir = Path(tempfile.mkdtemp(prefix="castsmith-bench-"))
    settings = Settings(
        data_dir=data_dir,
        storage_backend="s3",
        s3_bucket="bench-posters",
        s3_endpoint=endpoint,
        s3_access_key="k",  # type: ignore[arg-type]
        s3_secret_key="s",  # type: ignore[arg-type]
        s3_addressing="path",
        s3_allow_http=True,
        runpod_api_key=fake.api_key,  # type: ignore[arg-type]
        runpod_endpoint_url=fake.base,
        runpod_mode="runsync",
        poster_provider="runpod",
    )
    container = build_container(settings)
    upgrade(container.engine)
    with container.sessions.begin() as session:
        actor = Actor(
            name="0001_bench_actor",
            description="a woman with long brown hair",
            lora_name="0001_bench_actor",
        )
        session.add(actor)
        session.flush()
        actor_id = actor.id

    async def measure() -> tuple[list[float], list[float]]:
        provider = container.providers.default_poster()
        totals: list[float] = []
        provider_times: list[float] = []
        original = provider.run_workflow

        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                provider_times.append(time.perf_counter() - started)

        provider.run_workflow = timed  # type: ignore[method-assign]
        for n in range(runs + 2):
            started = time.perf_counter()
            marks: list[tuple[str, float]] = []

            async def mark(_percent: float, message: str, marks: list[Any] = marks) -> None:
                marks.append((message, time.perf_counter()))

            await posters.generate_poster(
                container, actor_id, PosterOverrides(seed=n), progress=mark
            )
            if "-v" in sys.argv:
                steps = [(m, round((t - started) * 1000)) for m, t in marks]
                print("phases (ms since start):", steps)
            if n >= 2:  # two warm-up runs (connections, imports)
                totals.append(time.perf_counter() - started)
        return totals, provider_times[2:]

    try:
        totals, provider_times = asyncio.run(measure())
    finally:
        container.close()
        fake.stop()
        s3.stop()

    beyond_l = [(t - latency) * 1000 for t in totals]
    beyond_call = [(t - p) * 1000 for t, p in zip(totals, provider_times, strict=True)]
    print(
        f"posters: {runs} regenerations, fake RunPod runsync latency L = {latency:.2f} s, "
        "1024x1024 PNG, moto S3 over HTTP, SQLite"
    )
    print(f"{'figure':<44}{'median':>10}{'p95':>10}")
    for label, values in (
        ("total per poster (s)", [t for t in totals]),
        ("beyond L (ms)", beyond_l),
        ("beyond the provider call (ms)", beyond_call),
    ):
        print(f"{label:<44}{statistics.median(values):>10.3f}{percentile(values, 0.95):>10.3f}")
    goal = statistics.median(beyond_l) <= 150
    print(f"goal: median beyond L <= 150 ms: {'met' if goal else 'NOT met'}")


# --- training data ----------------------------------------------------------------------


@benchmark("training")
def training_benchmark(images: int = 100, cap: int = 16, latency: float = 1.0) -> None:
    """``images`` training image jobs at a provider cap, against the ideal schedule.

    A fake Replicate server answers each prediction after exactly ``latency`` seconds;
    the provider is capped at ``cap`` running jobs; an in-process worker with more slots
    than the cap runs the jobs, queued at once. Ideal: ceil(images / cap) * latency.
    """
    import io
    import math

    from PIL import Image
    from sqlalchemy import func, select
    from starlette.requests import Request
    from starlette.responses import Response
    from tests.fakes.replicate import FakeReplicate

    from castsmith.bootstrap import build_container
    from castsmith.config import ProviderLimit, Settings
    from castsmith.db.migrate import upgrade
    from castsmith.db.models import Actor, Job
    from castsmith.jobs.worker import Worker
    from castsmith.pipelines import actors, training_jobs

    class TimedReplicate(FakeReplicate):
        """Each create takes exactly ``latency``; the highest overlap is recorded."""

        in_flight = 0
        peak = 0

        async def _create(self, request: Request) -> Response:
            TimedReplicate.in_flight += 1
            TimedReplicate.peak = max(TimedReplicate.peak, TimedReplicate.in_flight)
            try:
                await asyncio.sleep(latency)
                return await super()._create(request)
            finally:
                TimedReplicate.in_flight -= 1

    fake = TimedReplicate(token="bench")
    fake.start()
    data_dir = Path(tempfile.mkdtemp(prefix="castsmith-bench-"))
    settings = Settings(
        data_dir=data_dir,
        replicate_api_token="bench",  # type: ignore[arg-type]
        replicate_base_url=fake.url,
        image_provider="replicate",
        provider_limits={"replicate": ProviderLimit(concurrency=cap)},
    )
    container = build_container(settings)
    upgrade(container.engine)
    with container.sessions.begin() as session:
        actor = Actor(name="0001_bench_training", actor_type="person", sex="female")
        session.add(actor)
        session.flush()
        actor_id = actor.id
    base = io.BytesIO()
    Image.new("RGB", (512, 512), (180, 140, 120)).save(base, format="PNG")

    async def measure() -> float:
        await actors.set_base_image(container, actor_id, base.getvalue())
        options = training_jobs.GenerateOptions()
        jobs = [
            await training_jobs.enqueue_generate_one(
                container, actor_id, f"this woman, pose {i}", options
            )
            for i in range(images)
        ]
        ids = [job.id for job in jobs]
        # The clock starts once every job is queued, when the worker starts claiming.
        started = time.perf_counter()
        worker = Worker(
            container.queue,
            container.registry,
            container,
            concurrency=cap + 8,
            poll_interval=0.05,
            heartbeat_interval=1.0,
        )
        task = asyncio.create_task(worker.run())

        done = ["completed", "failed", "cancelled"]
        query = select(func.count()).where(Job.id.in_(ids), Job.status.in_(done))

        def ended() -> int:
            with container.sessions() as session:
                return session.scalar(query) or 0

        while True:
            if await asyncio.to_thread(ended) >= images:
                break
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - started
        worker.stop()
        await task
        views = [container.queue.get(job_id) for job_id in ids]
        failed = [view.error for view in views if view.status != "completed"]
        if failed:
            raise SystemExit(f"{len(failed)} training images failed: {failed[0]}")
        return elapsed

    try:
        elapsed = asyncio.run(measure())
    finally:
        container.close()
        fake.stop()
    ideal = math.ceil(images / cap) * latency
    print(
        f"training: {images} images, provider cap {cap}, fake Replicate latency L = "
        f"{latency:.2f} s per prediction, 512x512 base, SQLite + local storage"
    )
    print(f"{'figure':<44}{'value':>10}")
    print(f"{'wall time, worker start to last done (s)':<44}{elapsed:>10.2f}")
    print(f"{'ideal ceil(N/cap)*L (s)':<44}{ideal:>10.2f}")
    print(f"{'ratio':<44}{elapsed / ideal:>10.2f}")
    print(f"{'peak predictions in flight':<44}{TimedReplicate.peak:>10d}")
    goal = elapsed <= 1.2 * ideal and TimedReplicate.peak <= cap
    print(f"goal: within 1.2x of the ideal, cap never exceeded: {'met' if goal else 'NOT met'}")


def main(argv: list[str]) -> None:
    """Run the named benchmarks (all when none are named)."""
    names = [a for a in argv if not a.startswith("-")] or list(BENCHMARKS)
    for name in names:
        if name not in BENCHMARKS:
            raise SystemExit(f"unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}")
        BENCHMARKS[name]()


if __name__ == "__main__":
    main(sys.argv[1:])
