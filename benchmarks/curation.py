"""Curation checks: one 1024x1024 photograph on one core, and a 200-image dataset.

Run: ``.venv/bin/python benchmarks/curation.py`` (``--runs N`` timing runs per photo,
``--images N`` for the dataset size). Needs the test photographs (``make dev-deps``).

1. Per photograph, in this process (one core: ``preload`` keeps NumPy's BLAS on one
   thread, as in a check process): decode, scale to the working size, HOG detection,
   5-point landmarks and the 128-d descriptor, sharpness, exposure and the perceptual
   hash together (``imaging.curation.analyse``). Goal: median <= 150 ms.
2. A dataset of N (200) uploaded photographs on SQLite + a local folder: the check job's
   work (``check_assets``, two worker processes) and the readiness report. Goal: <= 30 s.
Peak memory: this process and the largest check process (``ru_maxrss``).

Every figure is given as CPU time (``time.process_time``, and ``getrusage`` for the check
processes) as well as wall time, with the load average: on a shared, busy machine the
wall time mostly measures the wait for a core, the CPU time what the work costs.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder comes first on sys.path, where sibling benchmarks (such
# as queue.py) would shadow standard-library modules.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import io  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from functools import partial  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image, ImageEnhance  # noqa: E402
from tests.photos import photo  # noqa: E402

from castsmith.bootstrap import build_container  # noqa: E402
from castsmith.config import Settings  # noqa: E402
from castsmith.db.engine import make_engine  # noqa: E402
from castsmith.db.migrate import upgrade  # noqa: E402
from castsmith.domain.access import OPERATOR  # noqa: E402
from castsmith.imaging.curation import analyse, find_faces, preload, working_image  # noqa: E402
from castsmith.pipelines.actors import set_base_image  # noqa: E402
from castsmith.pipelines.training.checks import check_assets, shutdown_pools  # noqa: E402
from castsmith.pipelines.training.curation import readiness_report  # noqa: E402
from castsmith.pipelines.training.upload import upload_training_images  # noqa: E402

PHOTOS = ("obama", "obama2", "obama3", "biden", "astronaut")
PER_PHOTO_GOAL_MS = 150.0
DATASET_GOAL_S = 30.0


def square_1024(name: str, variant: int = 0) -> bytes:
    """The photograph cropped to a square around its upper part, at 1024x1024, as JPEG;
    ``variant`` shifts the crop and the brightness a little."""
    image = photo(name).convert("RGB")
    side = min(image.width, image.height)
    shift = (variant * 7) % max(1, (image.height - side) // 2 + 1)
    left = (image.width - side) // 2
    square = image.crop((left, shift, left + side, shift + side)).resize((1024, 1024))
    if variant:
        square = ImageEnhance.Brightness(square).enhance(0.9 + (variant % 5) * 0.05)
    out = io.BytesIO()
    square.save(out, "JPEG", quality=90)
    return out.getvalue()


def load() -> str:
    """The load averages (1, 5, 15 minutes), as ``uptime`` prints them."""
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def _timed(call: Callable[[], object], wall: list[float], cpu: list[float]) -> None:
    start, start_cpu = time.perf_counter(), time.process_time()
    call()
    wall.append(time.perf_counter() - start)
    cpu.append(time.process_time() - start_cpu)


def _ms(values: list[float]) -> str:
    p90 = np.percentile(values, 90) * 1000
    return f"median {statistics.median(values) * 1000:.0f} ms, p90 {p90:.0f} ms"


def per_photo(runs: int) -> None:
    preload()
    totals: list[float] = []
    cpu: list[float] = []
    detect: list[float] = []
    detect_cpu: list[float] = []
    described: list[float] = []
    described_cpu: list[float] = []
    for name in PHOTOS:
        data = square_1024(name)
        analyse(data)  # warm the caches
        work = np.asarray(working_image(Image.open(io.BytesIO(data))), dtype=np.uint8)
        for _ in range(runs):
            _timed(partial(analyse, data), totals, cpu)
            _timed(partial(find_faces, work, describe=False), detect, detect_cpu)
            _timed(partial(find_faces, work, describe=True), described, described_cpu)
    med = statistics.median(cpu) * 1000
    print(f"per 1024x1024 photograph, one core ({len(PHOTOS)} photographs x {runs} runs):")
    # CPU time is what the photograph costs the core; wall time adds waiting for it on
    # a busy machine.
    print(
        f"  all checks, CPU time: {_ms(cpu)} "
        f"(goal <= {PER_PHOTO_GOAL_MS:.0f} ms: {'met' if med <= PER_PHOTO_GOAL_MS else 'NOT met'})"
    )
    print(f"  all checks, wall time: {_ms(totals)}")
    descriptor = statistics.median(described_cpu) - statistics.median(detect_cpu)
    print(
        f"  of which (CPU) detection {statistics.median(detect_cpu) * 1000:.0f} ms, "
        f"landmarks + descriptor {descriptor * 1000:.0f} ms"
    )
    print(f"  load average after part 1: {load()}")


async def dataset(images: int, processes: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="castsmith-bench-curation-"))
    settings = Settings(data_dir=folder, curation_processes=processes, max_upload_bytes=50_000_000)
    engine = make_engine(settings.database_url)
    upgrade(engine)
    engine.dispose()
    container = build_container(settings).acting_for(OPERATOR)
    try:
        with container.sessions.begin() as session:
            from castsmith.db.models import Actor

            actor = Actor(name="0099_bench_50_male", actor_type="person", sex="male")
            session.add(actor)
            session.flush()
            actor_id = actor.id
        await set_base_image(container, actor_id, square_1024("obama"))
        files = [(f"{n}.jpg", square_1024(PHOTOS[n % len(PHOTOS)], n)) for n in range(images)]
        await upload_training_images(container, actor_id, files)
        before, before_self = _cpu_seconds(), _cpu_seconds(children=False)
        start = time.perf_counter()
        checked = await check_assets(container, actor_id=actor_id)
        report = await readiness_report(container, actor_id)
        took = time.perf_counter() - start
    finally:
        shutdown_pools()  # joins the check processes, so their CPU time is counted
        container.close()
    cpu = _cpu_seconds() - before
    cpu_self = _cpu_seconds(children=False) - before_self
    print(f"dataset of {images} photographs (+ base), {processes} check processes:")
    print(
        f"  checks and report: {took:.1f} s wall for {checked} images "
        f"(goal <= {DATASET_GOAL_S:.0f} s: {'met' if took <= DATASET_GOAL_S else 'NOT met'}); "
        f"report: {report.usable} usable, {report.reject_suggested} to reject"
    )
    print(
        f"  CPU time, all processes: {cpu:.1f} s ({cpu / max(1, checked) * 1000:.0f} ms an "
        f"image, starting the check processes included); that is {cpu / processes:.1f} s "
        f"on {processes} dedicated cores"
    )
    print(
        f"  of which this process (reading, recording, report) {cpu_self:.1f} s, "
        f"the check processes {cpu - cpu_self:.1f} s"
    )
    print(f"  load average after part 2: {load()}")


def _cpu_seconds(*, children: bool = True) -> float:
    """User + system CPU time of this process and (``children``) its ended, joined
    child processes."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    total = me.ru_utime + me.ru_stime
    if children:
        ended = resource.getrusage(resource.RUSAGE_CHILDREN)
        total += ended.ru_utime + ended.ru_stime
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    print(f"load average before: {load()}")
    per_photo(args.runs)
    asyncio.run(dataset(args.images, args.processes))
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory: this process {me:.0f} MB, largest check process {children:.0f} MB")
    print(f"load average after: {load()}")


if __name__ == "__main__":
    # A benchmark acts with the operator's authority, as the CLI and workers do.
    main()
