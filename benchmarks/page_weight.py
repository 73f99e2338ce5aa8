"""Page weight: an actor page with a 200-image training set, as Chromium loads it.

Run: ``.venv/bin/python -m benchmarks.page_weight [--images 200] [--runs 3]
[--base portrait|photo|noise] [--old]``.

A scratch SQLite library (local store, offline provider) gets one actor with a 1024 px
base image and ``--images`` training images made from it by the real pipeline (1024 px
JPEGs, each stored with its thumbnail). The offline provider's portrait is flat art that
compresses far better than photographs; ``--base photo`` starts from a photograph
instead (scikit-image's astronaut, scaled to 1024 px), ``--base noise`` from noise (the
worst case: nothing compresses it). The app is served by uvicorn on loopback (with
its in-process worker, as ``castsmith serve`` runs) and the actor page is opened in
Debian's Chromium through Playwright, each run in a fresh browser context (empty cache):

- bytes over the wire, from the DevTools protocol (``Network.loadingFinished``: headers
  and bodies as received), at the ``load`` event plus network quiet (what the first view
  costs: lazy images below the fold are not fetched) and after scrolling the whole grid
  into view (every one of the 200 images fetched), and when the page is opened again in
  the same browser a second later (what it kept from the first view reused);
- first paint and first contentful paint (``performance.getEntriesByType('paint')``) and
  the time to the ``load`` event, from the start of the navigation.

With ``--old`` the thumbnails are dropped before the first visit, which is then measured
too: images stored before thumbnails existed get theirs on demand, through
``/api/assets/{id}/thumb``, as the grid scrolls them into view.

The same is measured for the page as it was before thumbnails, for comparison: the
actor page's HTML is rewritten on its way to the browser so each grid image is the full
image again (``<img src=full loading=lazy>``, no size attributes, as the old template
wrote it); the script-drawn parts are the same in both.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import re
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from PIL import Image

from castsmith.api.app import create_app
from castsmith.bootstrap import Container, build_container
from castsmith.config import Settings
from castsmith.db.migrate import upgrade
from castsmith.domain.access import OPERATOR

CHROMIUM = "/usr/bin/chromium"
FINISHED = frozenset({"completed", "completed_with_errors", "failed", "cancelled"})
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
# One grid cell as the thumbnail template writes it: the link to the full image around
# the thumbnail. The "before" page puts the full image itself in the cell instead.
THUMB_CELL = re.compile(
    r'<a class="thumb-link" href="([^"]+)"[^>]*><img src="[^"]+" alt="([^"]*)"[^>]*></a>'
)
PAINT_JS = (
    "() => Object.fromEntries("
    "performance.getEntriesByType('paint').map(e => [e.name, e.startTime]))"
)
NAVIGATION_JS = (
    "() => { const n = performance.getEntriesByType('navigation')[0];"
    " return [n.responseStart, n.loadEventEnd]; }"
)
# Bring the first image not yet loaded into view until every one is: lazy images load
# only near the viewport, and the page grows as the old page's images arrive.
ALL_LOADED_JS = (
    "() => { const left = [...document.querySelectorAll('#training-grid img')]"
    ".filter(i => !i.complete); if (left.length) left[0].scrollIntoView();"
    " return left.length === 0; }"
)


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def base_image(kind: str, size: int = 1024) -> bytes:
    """A 1024 px PNG: a photograph (scikit-image's astronaut, scaled up), or noise that no
    encoder can shrink (the worst case for every image and thumbnail made from it)."""
    if kind == "photo":
        from skimage import data

        photo = data.astronaut()  # type: ignore[no-untyped-call]
        image = Image.fromarray(photo).resize((size, size), Image.Resampling.LANCZOS)
    else:
        noise = [Image.effect_noise((size, size), sigma) for sigma in (60, 45)]
        ramp = Image.linear_gradient("L").resize((size, size))
        image = Image.merge("RGB", (noise[0], ramp, noise[1]))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def fill(container: Container, images: int, base: str) -> int:
    """One actor with a 1024 px base image (the offline provider's portrait, or
    :func:`base_image`) and ``images`` training images made from it."""
    from castsmith.pipelines import actors
    from castsmith.pipelines.training.generate import generate_training_image
    from castsmith.pipelines.training.images import TrainingRequest

    async def make() -> int:
        actor = await actors.create_actor(container, {"name": "page_weight_actor"})
        if base == "portrait":
            await actors.generate_base_image(container, actor["id"])
        else:
            await actors.set_base_image(container, actor["id"], base_image(base))
        gate = asyncio.Semaphore(4)

        async def one(n: int) -> None:
            async with gate:
                request = TrainingRequest(actor["id"], f"portrait number {n}, soft light")
                await generate_training_image(container, request)

        await asyncio.gather(*(one(n) for n in range(images)))
        return int(actor["id"])

    return asyncio.run(make())


@contextmanager
def serving(container: Container, port: int) -> Iterator[str]:
    """The app (with its in-process worker) on loopback for the block; its base URL."""
    app = create_app(container, run_worker=True)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def idle(container: Container, timeout: float = 900.0) -> None:
    """Wait until no job is queued or running."""
    deadline = time.monotonic() + timeout
    while True:
        by_status = container.queue.stats()["jobs_by_status"]
        active = {s: n for s, n in by_status.items() if s not in FINISHED and n}
        if not active:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"jobs still active after {timeout} s: {active}")
        time.sleep(0.5)


def forget_thumbnails(container: Container) -> None:
    """Remove every thumbnail (rows and objects): images as stored before thumbnails."""
    from sqlalchemy import delete, select

    from castsmith.db.models import AssetRendition
    from castsmith.pipelines.thumbnails import THUMB

    with container.sessions.begin() as session:
        keys = list(
            session.scalars(select(AssetRendition.storage_key).where(AssetRendition.name == THUMB))
        )
        session.execute(delete(AssetRendition).where(AssetRendition.name == THUMB))

    async def remove() -> None:
        await asyncio.gather(*(container.store.delete(key) for key in keys))

    asyncio.run(remove())


def as_before(html: str) -> str:
    """The actor page as the template wrote it before thumbnails: full images in the grid."""
    return THUMB_CELL.sub(lambda m: f'<img src="{m[1]}" alt="{m[2]}" loading="lazy">', html)


@dataclass
class Run:
    """One page load."""

    first_view_bytes: int
    all_images_bytes: int
    second_view_bytes: int
    """The page opened again in the same browser after the whole grid was seen."""
    first_paint_ms: float
    first_contentful_paint_ms: float
    load_ms: float
    first_byte_ms: float
    """Until the page's first byte: the server's work on the HTML."""
    grid_loaded_ms: float
    """From the first view until every grid image had loaded, scrolling down to the first
    one not loaded every 100 ms (so mostly a count of scroll steps when they are quick)."""
    grid_images: int
    by_type: dict[str, int]
    """Bytes over the wire per resource type (Document, Image, Script...) until the whole
    grid was seen."""


def measure(browser: Any, url: str, *, before: bool) -> Run:
    """Open ``url`` in a fresh context and measure it (see the module docstring)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    received: list[int] = []
    types: dict[str, str] = {}
    by_type: dict[str, int] = {}
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")  # the context is fresh: its cache starts empty

    def finished(event: dict[str, Any]) -> None:
        size = int(event["encodedDataLength"])
        received.append(size)
        kind = types.get(event["requestId"], "Other")
        by_type[kind] = by_type.get(kind, 0) + size

    cdp.on("Network.responseReceived", lambda e: types.__setitem__(e["requestId"], e["type"]))
    cdp.on("Network.loadingFinished", finished)
    if before:

        def rewrite(route: Any) -> None:
            response = route.fetch()
            route.fulfill(response=response, body=as_before(response.text()))

        page.route(re.compile(r"/actors/\d+$"), rewrite)
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    first_view = int(sum(received))
    paints = page.evaluate(PAINT_JS)
    first_byte_ms, load_ms = (float(v) for v in page.evaluate(NAVIGATION_JS))
    scroll_start = float(page.evaluate("() => performance.now()"))
    page.wait_for_function(ALL_LOADED_JS, polling=100, timeout=300_000)
    grid_loaded_ms = float(page.evaluate("() => performance.now()")) - scroll_start
    page.wait_for_load_state("networkidle")
    count = page.locator("#training-grid img").count()
    whole_grid, grid_by_type = int(sum(received)), dict(by_type)
    # The same page again a little later, with what the browser kept from the first view.
    page.wait_for_timeout(1100)
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    run = Run(
        first_view_bytes=first_view,
        all_images_bytes=whole_grid,
        second_view_bytes=int(sum(received)) - whole_grid,
        first_paint_ms=float(paints.get("first-paint", float("nan"))),
        first_contentful_paint_ms=float(paints.get("first-contentful-paint", float("nan"))),
        load_ms=load_ms,
        first_byte_ms=first_byte_ms,
        grid_loaded_ms=grid_loaded_ms,
        grid_images=count,
        by_type=grid_by_type,
    )
    context.close()
    return run


def report(name: str, runs: list[Run]) -> None:
    """Print the median and every run of one variant."""

    def med(values: list[float]) -> float:
        return statistics.median(values)

    mb = 1024 * 1024
    print(f"\n{name} ({len(runs)} runs, {runs[0].grid_images} grid images; median, then each)")
    rows = (
        ("first view, MB", [r.first_view_bytes / mb for r in runs], "{:.2f}"),
        ("whole grid scrolled, MB", [r.all_images_bytes / mb for r in runs], "{:.2f}"),
        ("second view, MB", [r.second_view_bytes / mb for r in runs], "{:.2f}"),
        ("HTML first byte, ms", [r.first_byte_ms for r in runs], "{:.0f}"),
        ("first paint, ms", [r.first_paint_ms for r in runs], "{:.0f}"),
        ("first contentful paint, ms", [r.first_contentful_paint_ms for r in runs], "{:.0f}"),
        ("load event, ms", [r.load_ms for r in runs], "{:.0f}"),
        ("scrolling the grid, ms", [r.grid_loaded_ms for r in runs], "{:.0f}"),
    )
    for label, values, form in rows:
        each = " / ".join(form.format(v) for v in values)
        print(f"  {label:28} {form.format(med(values)):>8}   ({each})")
    kinds = ", ".join(f"{k} {v / 1024:.0f} KB" for k, v in sorted(runs[0].by_type.items()))
    print(f"  whole grid by type (run 1):  {kinds}")


def main() -> None:
    """Fill a scratch library, serve it, load the actor page with and without thumbnails."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--base",
        choices=("portrait", "photo", "noise"),
        default="portrait",
        help="the offline provider's portrait (flat art), a photograph, or pure noise",
    )
    parser.add_argument(
        "--old",
        action="store_true",
        help="drop the thumbnails before the first visit, as for images stored earlier",
    )
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    print("load:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    with tempfile.TemporaryDirectory(prefix="castsmith-page-weight-") as scratch:
        port = free_port()
        settings = Settings(data_dir=Path(scratch), host="127.0.0.1", port=port)
        container = build_container(settings).acting_for(OPERATOR)
        upgrade(container.engine)
        started = time.perf_counter()
        actor_id = fill(container, args.images, args.base)
        print(f"made {args.images} training images in {time.perf_counter() - started:.1f} s")
        if args.old:
            forget_thumbnails(container)
        with serving(container, port) as base, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            url = f"{base}/actors/{actor_id}"
            variants: dict[str, list[Run]] = {"with thumbnails": [], "before (full images)": []}
            if args.old:
                # The warm-up is then an older library's first visit: the grid's
                # thumbnails are made on demand as they scroll into view. The server is
                # warmed by the HTML alone (which names no thumbnail yet).
                httpx.get(url, timeout=60).raise_for_status()
                idle(container)  # the dataset checks that view asked for
                variants["first visit, thumbnails made on demand"] = [
                    measure(browser, url, before=False)
                ]
            else:
                measure(browser, url, before=False)  # warm-up: templates, first queries
            # The first view asks for the dataset checks; measure once they are done, as
            # an actor page is seen most of the time, not beside 200 face detections.
            idle(container)
            for _ in range(args.runs):  # interleaved, so both see the same machine load
                variants["with thumbnails"].append(measure(browser, url, before=False))
                variants["before (full images)"].append(measure(browser, url, before=True))
            browser.close()
        container.close()
    for name, runs in variants.items():
        report(name, runs)
    print("\nload:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
