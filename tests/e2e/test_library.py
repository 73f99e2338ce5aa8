"""The Actor Library in a browser: empty state, poster regeneration through the
confirmation dialog (mouse and keyboard), batch selection, layout at 390 px."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveApp, screenshot

pytestmark = pytest.mark.browser


def make_actor(app: LiveApp, name: str, description: str = "a test actor") -> dict[str, Any]:
    """An actor with a generated base image, created through the API."""
    actor: dict[str, Any] = app.post(
        "/api/actors", {"name": name, "description": description, "sex": "female"}
    )
    job = app.post(f"/api/actors/{actor['id']}/base-image/generate")
    assert app.wait_job(job["job_id"])["status"] == "completed"
    return actor


def watch_button(page: Any, selector: str) -> None:
    """Record every (disabled, text) state the button goes through."""
    page.evaluate(
        """(selector) => {
            const button = document.querySelector(selector);
            window.__states = [];
            const note = () => window.__states.push([button.disabled, button.textContent]);
            new MutationObserver(note).observe(button, {
                attributes: true, childList: true, characterData: true, subtree: true,
            });
        }""",
        selector,
    )


def assert_was_busy(page: Any) -> None:
    """The watched button was disabled and said "Generating..." at some point."""
    states = page.evaluate("window.__states")
    assert any(disabled and "Generating..." in text for disabled, text in states), states


def test_empty_library_offers_the_demo_cast(page: Any, live_app: LiveApp) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", name="Your library is empty")).to_be_visible()
    expect(page.get_by_role("button", name="Create demo cast")).to_be_visible()
    screenshot(page, "library-empty")


def test_regenerate_poster_through_the_dialog(page: Any, live_app: LiveApp) -> None:
    actor = make_actor(live_app, "0101_european_30_female", "a woman with red hair")
    page.goto("/")
    card = page.locator(f'.actor-card[data-actor-id="{actor["id"]}"]')
    expect(card.get_by_role("heading", name=actor["name"])).to_be_visible()
    expect(card.locator(".poster-empty")).to_be_visible()
    button = card.locator(".regen-btn")
    expect(button).to_have_text("Regenerate Poster")
    watch_button(page, f'.actor-card[data-actor-id="{actor["id"]}"] .regen-btn')
    button.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(actor["name"])
    dialog.get_by_role("button", name="Regenerate").click()
    expect(page.locator("#toasts")).to_contain_text(
        f"Regenerating poster frame for {actor['name']}..."
    )
    # The offline job may finish within a frame: the recorded states prove the busy one.
    expect(page.locator("#toasts")).to_contain_text("is ready")
    assert_was_busy(page)
    poster = card.locator("img.poster")
    expect(poster).to_be_visible()
    expect(poster).to_have_attribute("srcset", re.compile(r"256w.*512w.*1024w"))
    expect(poster).to_have_attribute("loading", "lazy")
    expect(button).to_be_enabled()
    expect(button).to_have_text("Regenerate Poster")
    expect(card.get_by_text("Placeholder art")).to_be_visible()
    screenshot(page, "library")
