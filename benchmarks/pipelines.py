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

from castsmith.domain.access import OPERATOR

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # for tests.fakes when run as a script
# Run as a script, this folder comes first on sys.path, where benchmarks/queue.py would
# shadow the standard library's ``queue`` (anyio and others import it).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "benchmarks"]

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
    from castsmith.pipelines.posters.params import PosterOverrides

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
    container = build_container(settings).acting_for(OPERATOR)
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


# --- persona tasks -------------------------------------------------------------------


def _persona_fakes(conn: Any, image_latency: float, text_latency: float, prompts: bool) -> None:
    """Serve the fake OpenAI and Flowise in this (separate) process until told to stop.

    ``prompts`` makes the flow put the selfie prompt into the persona data (as castsmith
    asks); without it each persona makes its own prompt call first, as the older
    worker did.
    """
    import json

    from starlette.responses import JSONResponse
    from tests.fakes import FakeOpenAI
    from tests.integration.pipelines.test_personas_support import PersonaFlowise

    class Flow(PersonaFlowise):
        async def _predict(self, request: Any) -> Any:
            answer = await super()._predict(request)
            if prompts and isinstance(answer, JSONResponse):
                body = json.loads(bytes(answer.body))
                if isinstance(body.get("json"), dict):
                    body["json"]["image_prompt"] = f"a selfie of {body['json']['firstname']}"
                    return JSONResponse(body)
            return answer

    with FakeOpenAI(latency=image_latency) as openai, Flow(latency=text_latency) as flow:
        conn.send(
            {
                "openai_api_key": openai.api_key,
                "openai_base_url": f"{openai.url}/v1",
                "flowise_url": flow.url,
                "flowise_chatflow_id": flow.chatflow_id,
                "flowise_api_key": flow.api_key,
            }
        )
        conn.recv()


def _persona_run(
    tmp: Path, personas: int, cap: int, image_latency: float, text_latency: float, prompts: bool
) -> dict[str, float]:
    """One persona task against the fakes; returns the image-stage and whole-task seconds."""
    import multiprocessing

    import httpx
    from sqlalchemy import select

    from castsmith.api.app import create_app
    from castsmith.bootstrap import build_container
    from castsmith.config import ProviderLimit, Settings
    from castsmith.db.migrate import upgrade
    from castsmith.db.models import Job
    from castsmith.jobs.worker import Worker
    from castsmith.pipelines.personas import KIND_BASE, KIND_GRID

    # The fakes run in their own process, as remote providers would: in this one they
    # would compete with the worker for the interpreter lock.
    context = multiprocessing.get_context("fork")
    here, there = context.Pipe()
    server = context.Process(
        target=_persona_fakes, args=(there, image_latency, text_latency, prompts), daemon=True
    )
    server.start()
    remote = here.recv()

    async def main() -> dict[str, float]:
        settings = Settings(
            data_dir=tmp,
            database_url=f"sqlite:///{tmp / 'bench.db'}",
            provider_limits={"openai": ProviderLimit(concurrency=cap)},
            multithread_flowise=5,
            text_provider="flowise",
            image_provider="openai",
            **remote,
        )
        container = build_container(settings).acting_for(OPERATOR)
        upgrade(container.engine)
        # The CLI worker's poll: in-process enqueues and recorded outcomes wake the
        # claim loop at once, so a short poll would only add idle claims.
        worker = Worker(container.queue, container.registry, container, 16, poll_interval=0.2)
        running = asyncio.create_task(worker.run())
        transport = httpx.ASGITransport(app=create_app(container))
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://b") as client:
                started = time.perf_counter()
                made = await client.post("/api/persona-tasks", json={"count": personas})
                task_id = made.json()["task_id"]
                # Poll the light list view: the detail view signs 50 image URLs per call,
                # and in this one process that work would slow the worker it measures.
                while True:
                    page = (await client.get("/api/persona-tasks", params={"limit": 1})).json()
                    if page["items"][0]["status"] in {
                        "completed",
                        "completed_with_errors",
                        "failed",
                    }:
                        break
                    await asyncio.sleep(0.01)
                whole = time.perf_counter() - started
                task = (await client.get(f"/api/persona-tasks/{task_id}")).json()
                assert task["status"] == "completed", task["error_log"]
        finally:
            worker.stop()
            await running
        with container.sessions() as session:
            children = session.scalars(
                select(Job).where(Job.kind.in_([KIND_BASE, KIND_GRID]))
            ).all()
            first = min(child.created_at for child in children)
            last = max(child.finished_at for child in children if child.finished_at)
        container.close()
        return {"images": (last - first).total_seconds(), "task": whole}

    try:
        return asyncio.run(main())
    finally:
        here.send("stop")
        server.join(timeout=10)


def _ideal_rounds(personas: int, cap: int) -> int:
    """Rounds of equal image calls the best schedule needs: each persona's grid call can
    start only after its base call, at most ``cap`` calls at a time.

    Bases first (the longest remaining chain first, which is optimal for chains of
    unit-time calls): that gives max(2, ceil(2 * personas / cap)) rounds.
    """
    bases, ready, rounds = personas, 0, 0
    while bases or ready:
        run_bases = min(bases, cap)
        run_grids = min(ready, cap - run_bases)
        bases, ready = bases - run_bases, ready - run_grids + run_bases
        rounds += 1
    return rounds


@benchmark("personas")
def personas_benchmark(
    personas: int = 10, cap: int = 8, image_latency: float = 0.45, text_latency: float = 0.2
) -> None:
    """A persona task with an image-provider cap against the older one-by-one design.

    Fake latencies keep the older worker's proportions (about 45 s per image call and
    20 s per Flowise call, scaled down 100x). The one-by-one run is the same code with
    a cap of 1 and a separate prompt call per persona, which is what the older worker
    did; the ideal schedule is :func:`_ideal_rounds` rounds of one image call.
    """
    with tempfile.TemporaryDirectory() as one, tempfile.TemporaryDirectory() as two:
        seed = _persona_run(Path(one), personas, 1, image_latency, text_latency, False)
        ours = _persona_run(Path(two), personas, cap, image_latency, text_latency, True)
    ideal = _ideal_rounds(personas, cap) * image_latency
    speedup = seed["images"] / ours["images"]
    print(
        f"personas: {personas} personas, image-provider cap {cap}, fake OpenAI latency "
        f"{image_latency:.2f} s/call, fake Flowise {text_latency:.2f} s/call, SQLite, local store"
    )
    print(f"{'design':<34}{'image stage (s)':>17}{'whole task (s)':>16}")
    print(f"{'one by one (older worker)':<34}{seed['images']:>17.2f}{seed['task']:>16.2f}")
    print(f"{'castsmith (cap ' + str(cap) + ')':<34}{ours['images']:>17.2f}{ours['task']:>16.2f}")
    print(f"{'ideal schedule':<34}{ideal:>17.2f}")
    print(
        f"image stage speedup {speedup:.1f}x (goal >= 6x: {'met' if speedup >= 6 else 'NOT met'})"
    )
    print(f"whole task speedup {seed['task'] / ours['task']:.1f}x")
    ratio = ours["images"] / ideal
    print(
        f"image stage vs ideal {ratio:.2f}x (goal <= 1.2x: {'met' if ratio <= 1.2 else 'NOT met'})"
    )


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
    from castsmith.pipelines import actors, training

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
    container = build_container(settings).acting_for(OPERATOR)
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
        options = training.GenerateOptions()
        jobs = [
            await training.enqueue_generate_one(
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
    # A benchmark acts with the operator's authority, as the CLI and workers do.
    main(sys.argv[1:])
