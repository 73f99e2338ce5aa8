"""The empty library's "Create demo cast" button, on an app of its own (an empty one)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveApp, screenshot

pytestmark = pytest.mark.browser


def test_the_demo_cast_button_fills_the_library_with_posters(page: Any, live_app: LiveApp) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Your library is empty")).to_be_visible()
    page.get_by_role("button", name="Create demo cast").click()
    cards = page.locator(".actor-card")
    # The page reloads once every demo job has ended.
    expect(cards.first).to_be_visible(timeout=60_000)
    count = cards.count()
    assert count >= 3
    expect(page.locator(".actor-card img.poster")).to_have_count(count, timeout=30_000)
    for index in range(count):
        src = cards.nth(index).locator("img.poster").get_attribute("src")
        assert src
        answer = page.request.get(src)
        assert answer.status == 200
        assert answer.headers["content-type"] == "image/webp"
    actors = live_app.client.get("/api/actors").json()["items"]
    assert len(actors) == count
    screenshot(page, "library-demo-cast")
