"""More flows in a browser: batch poster regeneration from the library, LoRA settings,
base image upload and from a URL, the actor's character references, live training."""

from __future__ import annotations

import http.server
import io
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.e2e.conftest import LiveApp, screenshot
from tests.e2e.test_library import make_actor
from tests.services import free_port

pytestmark = pytest.mark.browser


def png_bytes(color: tuple[int, int, int], size: int = 320) -> bytes:
    """A plain PNG made here, so the test knows exactly what it uploads."""
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def image_server() -> Iterator[str]:
    """A loopback HTTP server answering every GET with a PNG; its base URL (localhost)."""
    body = png_bytes((30, 120, 200))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    port = free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{port}"
    server.shutdown()
    server.server_close()


def poster_versions(app: LiveApp, actor_id: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = app.client.get(f"/api/actors/{actor_id}/poster-frames").json()[
        "items"
    ]
    return items


def test_batch_regeneration_of_two_selected_actors(page: Any, live_app: LiveApp) -> None:
    actors = [
        make_actor(live_app, "0401_european_30_female", "a pianist"),
        make_actor(live_app, "0402_african_35_male", "a boxer"),
    ]
    for actor in actors:
        job = live_app.post(
            f"/api/actors/{actor['id']}/regenerate-poster-frame", {"actor_name": actor["name"]}
        )
        assert live_app.wait_job(job["job_id"])["status"] == "completed"
    before = {a["id"]: poster_versions(live_app, a["id"])[0]["version"] for a in actors}
    page.goto("/")
    old_src = {}
    for actor in actors:
        card = page.locator(f'.actor-card[data-actor-id="{actor["id"]}"]')
        old_src[actor["id"]] = card.locator("img.poster").get_attribute("src")
        card.get_by_label(f"Select {actor['name']}").check()
    expect(page.locator("#selected-count")).to_have_text("2 selected")
    page.get_by_role("button", name="Regenerate selected posters").click()
    page.get_by_role("dialog").get_by_role("button", name="Regenerate all").click()
    expect(page.locator("#toasts")).to_contain_text("All 2 posters are ready", timeout=30_000)
    for actor in actors:
        versions = poster_versions(live_app, actor["id"])
        assert len(versions) == 2
        current = next(v for v in versions if v["is_current"])
        assert current["version"] > before[actor["id"]]
        card = page.locator(f'.actor-card[data-actor-id="{actor["id"]}"]')
        expect(card.locator("img.poster")).not_to_have_attribute("src", old_src[actor["id"]])
    screenshot(page, "library-batch")


def test_lora_settings_are_kept_after_a_reload(page: Any, live_app: LiveApp) -> None:
    actor = live_app.post("/api/actors", {"name": "0403_asian_28_female"})
    page.goto(f"/actors/{actor['id']}")
    page.get_by_label("Model URL").fill("s3://models/0403.safetensors")
    page.get_by_label("Name", exact=True).fill("lora-0403")
    page.get_by_label("Trigger word").fill("ohwx")
    page.get_by_label("Model strength").fill("0.65")
    page.get_by_label("CLIP strength").fill("0.9")
    page.get_by_role("button", name="Save LoRA").click()
    expect(page.locator("#toasts")).to_contain_text("LoRA settings saved.")
    page.reload()
    expect(page.get_by_label("Model URL")).to_have_value("s3://models/0403.safetensors")
    expect(page.get_by_label("Name", exact=True)).to_have_value("lora-0403")
    expect(page.get_by_label("Trigger word")).to_have_value("ohwx")
    expect(page.get_by_label("Model strength")).to_have_value("0.65")
    expect(page.get_by_label("CLIP strength")).to_have_value("0.9")
    lora = live_app.client.get(f"/api/actors/{actor['id']}").json()["lora"]
    assert lora["trigger_word"] == "ohwx"
    assert lora["strength_model"] == pytest.approx(0.65)


def test_base_image_upload_and_from_url(page: Any, live_app: LiveApp, image_server: str) -> None:
    actor = live_app.post("/api/actors", {"name": "0404_latino_33_male"})
    page.goto(f"/actors/{actor['id']}")
    expect(page.locator("#base-image")).to_contain_text("No base image yet.")
    upload = {"name": "face.png", "mimeType": "image/png", "buffer": png_bytes((200, 40, 40))}
    page.get_by_label("Upload an image").set_input_files(upload)
    page.get_by_role("button", name="Upload", exact=True).click()
    expect(page.locator("#toasts")).to_contain_text("Base image uploaded.")
    image = page.locator("#base-image img")
    expect(image).to_be_visible()
    expect(page.locator("#base-image")).not_to_contain_text("Placeholder art")
    uploaded_src = image.get_attribute("src")
    assert page.evaluate("(img) => img.naturalWidth", image.element_handle()) > 0

    page.get_by_label("From a URL").fill(f"{image_server}/portrait.png")
    page.get_by_role("button", name="Fetch").click()
    expect(page.locator("#toasts")).to_contain_text("Base image fetched.")
    expect(image).not_to_have_attribute("src", uploaded_src or "")
    fetched = live_app.client.get(f"/api/actors/{actor['id']}").json()
    assert fetched["base_image_url"]
    screenshot(page, "actor-base-image")


def test_the_actor_page_references_section(page: Any, live_app: LiveApp) -> None:
    description = "a lighthouse keeper with a grey beard"
    actor = live_app.post(
        "/api/actors", {"name": "0405_european_60_male", "description": description}
    )
    page.goto(f"/actors/{actor['id']}")
    section = page.locator("#references")
    expect(section.get_by_role("heading", name="Character references")).to_be_visible()
    expect(section.get_by_label("Character description")).to_have_value(description)
    section.get_by_label("Images (1-4)").fill("1")
    section.get_by_label("Aspect ratio").select_option("9:16")
    section.get_by_role("button", name="Generate references for this actor").click()
    tiles = section.locator("#reference-gallery .reference")
    expect(tiles).to_have_count(1, timeout=30_000)
    expect(tiles.first).to_contain_text("9:16")
    listed = live_app.client.get(f"/api/character-references?actor_id={actor['id']}").json()
    assert [item["description"] for item in listed["items"]] == [description]

    tiles.first.get_by_role("button", name=re.compile("Copy a link")).click()
    expect(page.locator("#toasts")).to_contain_text(re.compile("Link copied|Copy this link"))
    url = tiles.first.locator('button[data-action="copy-link"]').get_attribute("data-url")
    assert url and page.request.get(url).status == 200

    tiles.first.get_by_label("Attach").check()
    section.get_by_label("Video job id").fill("job_0405")
    section.get_by_role("button", name="Attach selected").click()
    expect(page.locator("#toasts")).to_contain_text("Attached 1 reference(s) to video job job_0405")
    attached = live_app.client.get("/api/video-jobs/job_0405/character-references").json()
    assert len(attached["items"]) == 1
    page.reload()
    expect(section.locator("#reference-gallery .reference")).to_have_count(1)
    screenshot(page, "actor-references")


def test_training_progress_arrives_on_the_event_stream(page: Any, live_app: LiveApp) -> None:
    actor = make_actor(live_app, "0406_asian_45_female", "a gardener")
    streams: list[str] = []
    page.on("request", lambda r: streams.append(r.url) if "/api/events" in r.url else None)
    page.goto(f"/actors/{actor['id']}")
    page.get_by_role("button", name="Generate all prompts").click()
    expect(page.locator("#toasts")).to_contain_text("Training data ready.", timeout=60_000)
    expected = live_app.client.get(f"/api/actors/{actor['id']}/training-data").json()
    count = expected["statistics"]["training_images_count"]
    assert count > 0
    expect(page.locator("#training-grid .item")).to_have_count(count)
    assert any("/api/events?after=" in url for url in streams), streams
    expect(page.get_by_role("button", name="Generate all prompts")).to_be_enabled()


def test_training_falls_back_to_polling_when_the_stream_fails(page: Any, live_app: LiveApp) -> None:
    actor = make_actor(live_app, "0407_african_25_female", "a cyclist")
    page.route("**/api/events*", lambda route: route.abort())
    page.goto(f"/actors/{actor['id']}")
    page.get_by_label("Custom prompt").fill("full body, running")
    page.get_by_role("button", name="Generate one").click()
    expect(page.locator("#training-grid .item")).to_have_count(1, timeout=30_000)
    expect(page.locator("#toasts")).to_contain_text("Training data ready.")
    expect(page.locator("#training-grid")).to_contain_text("full body, running")
