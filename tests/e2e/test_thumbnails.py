"""The actor page's training grid loads small thumbnails, never the full images, and each
thumbnail links to its full image; also for an image that joins the grid while it is open."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.e2e.conftest import LiveApp

pytestmark = pytest.mark.browser

FULL = 1024


def base_png() -> bytes:
    """A 1024 px base image, so the training images are 1024 px too."""
    image = Image.linear_gradient("L").resize((FULL, FULL)).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def image_requests(page: Any) -> list[str]:
    """URLs of the images the page fetches from now on."""
    seen: list[str] = []
    page.on(
        "response",
        lambda r: seen.append(r.url) if r.request.resource_type == "image" else None,
    )
    return seen


def network_bytes(page: Any) -> dict[str, int]:
    """Bytes received over the network per URL from now on (0 for a cached image)."""
    received: dict[str, int] = {}
    urls: dict[str, str] = {}
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.on(
        "Network.requestWillBeSent", lambda e: urls.__setitem__(e["requestId"], e["request"]["url"])
    )

    def finished(event: dict[str, Any]) -> None:
        url = urls.get(event["requestId"], "")
        received[url] = received.get(url, 0) + int(event["encodedDataLength"])

    cdp.on("Network.loadingFinished", finished)
    return received


def loaded_grid(page: Any, count: int) -> list[dict[str, Any]]:
    """The grid's images once all ``count`` have loaded: src, size, and the link around."""
    images = page.locator("#training-grid img")
    expect(images).to_have_count(count)
    page.wait_for_function(
        "n => [...document.querySelectorAll('#training-grid img')]"
        ".filter(i => i.complete && i.naturalWidth > 0).length === n",
        arg=count,
    )
    found: list[dict[str, Any]] = images.evaluate_all(
        "all => all.map(i => ({src: i.currentSrc, width: i.naturalWidth, height: i.naturalHeight,"
        " lazy: i.loading, href: i.closest('a') && i.closest('a').href}))"
    )
    return found


def test_the_training_grid_shows_thumbnails_linking_to_full_images(
    page: Any, live_app: LiveApp
) -> None:
    actor = live_app.post("/api/actors", {"name": "0301_thumbs", "description": "a sculptor"})
    base = live_app.client.put(
        f"/api/actors/{actor['id']}/base-image",
        files={"file": ("base.png", base_png(), "image/png")},
    )
    base.raise_for_status()
    for prompt in ("in the rain", "by a window"):
        answer = live_app.post(
            f"/api/actors/{actor['id']}/training-data/generate-single?wait=30", {"prompt": prompt}
        )
        assert live_app.wait_job(answer["job_id"])["status"] == "completed"

    fetched = image_requests(page)
    page.goto(f"/actors/{actor['id']}")
    grid = loaded_grid(page, 2)
    for image in grid:
        assert "/thumbnails/" in image["src"]
        assert max(image["width"], image["height"]) <= 320
        assert image["lazy"] == "lazy"
        assert "/training_data/" in image["href"]  # the full image, one click away
    # Only thumbnails came over the wire for the grid: no full training image.
    assert not [url for url in fetched if "/training_data/" in url]

    # Seen again, the grid comes from the browser's cache: the links did not change.
    again = network_bytes(page)
    for _ in range(2):  # a second try only if a new link period began in between
        again.clear()
        page.wait_for_timeout(1100)  # a later second: a link made per second would differ
        page.goto(f"/actors/{actor['id']}")
        revisit = loaded_grid(page, 2)
        if [i["src"] for i in revisit] == [i["src"] for i in grid]:
            break
        grid = revisit
    thumbs = {url: size for url, size in again.items() if "/thumbnails/" in url}
    assert sum(thumbs.values()) == 0, thumbs

    # An image made from the page joins the grid (drawn by the script) as a thumbnail too.
    page.get_by_label("Custom prompt").fill("on a bridge at dusk")
    page.get_by_role("button", name="Generate one").click()
    grid = loaded_grid(page, 3)
    assert all("/thumbnails/" in image["src"] for image in grid)
    assert not [url for url in fetched if "/training_data/" in url]

    # Following the link opens the full 1024 px image.
    with page.context.expect_page() as opened:
        page.locator("#training-grid a.thumb-link").first.click()
    full = opened.value
    full.wait_for_load_state()
    assert "/training_data/" in full.url
    script = "() => [document.images[0].naturalWidth, document.images[0].naturalHeight]"
    size = full.evaluate(script)
    assert max(size) == FULL


def grid_images(page: Any, selector: str, count: int) -> list[dict[str, Any]]:
    """The ``count`` images under ``selector`` once loaded: src, size and link around."""
    images = page.locator(f"{selector} img")
    expect(images).to_have_count(count, timeout=60_000)
    for index in range(count):
        images.nth(index).scroll_into_view_if_needed()
    page.wait_for_function(
        "s => [...document.querySelectorAll(s + ' img')].every(i => i.complete && i.naturalWidth)",
        arg=selector,
    )
    found: list[dict[str, Any]] = images.evaluate_all(
        "all => all.map(i => ({src: i.currentSrc, width: i.naturalWidth,"
        " height: i.naturalHeight, href: i.closest('a') && i.closest('a').href}))"
    )
    return found


def test_persona_and_reference_grids_show_thumbnails_too(page: Any, live_app: LiveApp) -> None:
    task = live_app.post("/api/persona-tasks", {"count": 1})
    assert live_app.wait_job(task["job_id"], 60)["status"] == "completed"
    fetched = image_requests(page)
    page.goto(f"/personas/{task['task_id']}")
    for image in grid_images(page, ".persona .thumbs", 5):
        assert "/thumbnails/" in image["src"]
        assert max(image["width"], image["height"]) <= 320
        assert "/avatars/" in image["href"]  # the full persona image, one click away
    assert not [url for url in fetched if "/avatars/" in url]

    # A reference made on the page joins its gallery (drawn by the script) as a thumbnail.
    page.goto("/references")
    page.get_by_label("Character description").fill("a pilot in a leather jacket")
    page.get_by_label("Images (1-4)").fill("2")
    page.get_by_role("button", name="Generate").click()
    for image in grid_images(page, "#reference-gallery", 2):
        assert "/thumbnails/" in image["src"]
        assert "character_reference" in image["href"]
    assert not [url for url in fetched if "/character_references/" in url]
