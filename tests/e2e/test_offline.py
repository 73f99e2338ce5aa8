"""Without a network: the API docs render from installed assets, an unknown actor is a
page that says so, pages have a favicon (no console error), the LoRA URL is checked."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveApp, screenshot

pytestmark = pytest.mark.browser


def offline(page: Any, live_app: LiveApp) -> list[str]:
    """Refuse every request that leaves the app; returns the list of refused URLs."""
    refused: list[str] = []

    def route(request_route: Any) -> None:
        url = request_route.request.url
        if url.startswith(live_app.url):
            request_route.continue_()
        else:
            refused.append(url)
            request_route.abort()

    page.route("**/*", route)
    return refused


def test_swagger_ui_renders_offline(page: Any, live_app: LiveApp) -> None:
    refused = offline(page, live_app)
    page.goto("/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("castsmith", timeout=30_000)
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    expect(page.get_by_text("/api/actors/{actor_id}/regenerate-poster-frame").first).to_be_visible()
    assert refused == []
    screenshot(page, "docs-offline")


def test_redoc_renders_offline(page: Any, live_app: LiveApp) -> None:
    refused = offline(page, live_app)
    page.goto("/redoc")
    expect(page.get_by_role("heading", name="castsmith", exact=False).first).to_be_visible(
        timeout=30_000
    )
    expect(page.get_by_text("regenerate-poster-frame").first).to_be_attached()
    # ReDoc may ask for web fonts and its own logo; they are cosmetic, and the page
    # rendered without them. No script or style came from elsewhere.
    assert all("fonts" in url or url.endswith(".svg") for url in refused), refused


def test_unknown_actor_is_a_page_and_pages_have_a_favicon(page: Any, live_app: LiveApp) -> None:
    errors: list[str] = []

    def console(message: Any) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", console)
    response = page.goto("/actors/9999")
    assert response.status == 404
    assert response.headers["content-type"].startswith("text/html")
    expect(page.get_by_role("heading", name="Not Found", level=1)).to_be_visible()
    expect(page.locator("main")).to_contain_text("9999")
    page.get_by_role("link", name="Back to the Actor Library").click()
    expect(page).to_have_url(f"{live_app.url}/")
    assert page.request.get("/favicon.ico").status == 200
    icon = page.locator('link[rel="icon"]').get_attribute("href")
    assert icon and page.request.get(icon).status == 200
    errors.clear()  # the 404 of /actors/9999 itself is logged; nothing else may be
    page.goto("/jobs")
    page.wait_for_timeout(500)
    assert errors == []
    # The API keeps answering JSON for the same thing.
    api = live_app.client.get("/api/actors/9999")
    assert api.status_code == 404
    assert api.json()["detail"]


def test_lora_model_url_must_be_a_url(page: Any, live_app: LiveApp) -> None:
    actor = live_app.post("/api/actors", {"name": "0601_european_30_male", "description": "x"})
    page.goto(f"/actors/{actor['id']}")
    field = page.get_by_label("Model URL")
    field.fill("not a url")
    page.get_by_role("button", name="Save LoRA").click()
    assert field.evaluate("el => !el.validity.valid")
    refused = live_app.client.patch(
        f"/api/actors/{actor['id']}", json={"lora": {"model_url": "not a url", "name": "x"}}
    )
    assert refused.status_code == 422
    assert "lora.model_url must be a URL" in refused.json()["detail"]
    field.fill("s3://models/loras/castsmith_style.safetensors")
    page.get_by_role("button", name="Save LoRA").click()
    expect(page.locator("#toasts")).to_contain_text("LoRA settings saved")
    saved = live_app.client.get(f"/api/actors/{actor['id']}").json()["lora"]
    assert saved["model_url"] == "s3://models/loras/castsmith_style.safetensors"
