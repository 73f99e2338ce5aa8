"""The other pages in a browser: actor page (base image, keyboard-only poster
regeneration, training data), persona tasks, character references, jobs, 390 px."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveApp, screenshot
from tests.e2e.test_library import assert_was_busy, watch_button

pytestmark = pytest.mark.browser


def test_actor_page_base_image_keyboard_poster_and_training(page: Any, live_app: LiveApp) -> None:
    actor = live_app.post("/api/actors", {"name": "0201_asian_40_male", "description": "a chef"})
    page.goto(f"/actors/{actor['id']}")
    expect(page.get_by_role("heading", name=actor["name"], level=1)).to_be_visible()
    page.get_by_role("button", name="Generate base image").click()
    expect(page.locator("#base-image img")).to_be_visible()
    expect(page.locator("#base-image")).to_contain_text("Placeholder art")

    # Keyboard only: Tab to the button, Enter, Enter on the confirm button.
    button = page.locator("#poster-regenerate")
    watch_button(page, "#poster-regenerate")
    page.locator("#base-url button").focus()
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "poster-regenerate":
            break
    assert page.evaluate("document.activeElement.id") == "poster-regenerate"
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_be_visible()
    assert page.evaluate("document.activeElement.id") == "poster-draw"
    page.keyboard.press("Enter")
    expect(page.locator("#toasts")).to_contain_text(
        f"Regenerating poster frame for {actor['name']}"
    )
    expect(page.locator("#poster-history img.poster")).to_have_count(1)
    expect(page.locator("#poster-current")).to_contain_text("Current poster")
    expect(page.locator("#toasts")).to_contain_text("is ready")
    assert_was_busy(page)
    expect(button).to_be_enabled()

    # A second version: the history shows two, the older one can be made current again.
    button.click()
    page.get_by_role("dialog").get_by_role("button", name="Draw poster").click()
    expect(page.locator("#poster-history img.poster")).to_have_count(2)
    page.locator('#poster-history button[data-action="make-current"]').first.click()
    expect(page.locator("#toasts")).to_contain_text("is now the current poster")

    # Escape closes the dialog and nothing is queued.
    button.click()
    expect(page.get_by_role("dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()

    page.get_by_label("Custom prompt").fill("close-up portrait, soft light")
    page.get_by_role("button", name="Generate one").click()
    expect(page.locator("#training-grid .item")).to_have_count(1)
    expect(page.locator("#training-grid")).to_contain_text("close-up portrait, soft light")
    page.locator('#training-grid button[data-action="reject"]').click()
    expect(page.locator('#training-grid button[data-action="restore"]')).to_be_visible()
    screenshot(page, "actor")


def test_persona_task_runs_to_completion(page: Any, live_app: LiveApp) -> None:
    page.goto("/personas")
    page.get_by_label("Count (1-100)").fill("3")
    page.get_by_role("button", name="Start task").click()
    row = page.locator("#tasks-table tbody tr[data-task-id]").first
    expect(row).to_have_attribute("data-status", "completed", timeout=40_000)
    screenshot(page, "personas")
    row.get_by_role("link").click()
    expect(page.locator(".persona")).to_have_count(3)
    expect(page.locator(".persona").first.locator("img")).to_have_count(5)
    # Nothing failed, so there is nothing to retry.
    expect(page.get_by_role("button", name="Retry failed")).to_be_hidden()
    screenshot(page, "persona-task")


def test_references_generate_and_open_link(page: Any, live_app: LiveApp) -> None:
    page.goto("/references")
    page.get_by_label("Character description").fill("a detective in a long grey coat")
    page.get_by_label("Images (1-4)").fill("2")
    page.get_by_role("button", name="Generate").click()
    expect(page.locator("#reference-gallery .reference")).to_have_count(2, timeout=30_000)
    page.locator('#reference-gallery button[data-action="copy-link"]').first.click()
    expect(page.locator("#toasts")).to_contain_text(re.compile("Link copied|Copy this link"))
    url = page.locator('#reference-gallery button[data-action="copy-link"]').first.get_attribute(
        "data-url"
    )
    assert url
    response = page.request.get(url)
    assert response.status == 200
    assert response.headers["content-type"].startswith("image/")
    screenshot(page, "references")


def test_no_horizontal_scroll_at_390px(browser: Any, live_app: LiveApp) -> None:
    context = browser.new_context(base_url=live_app.url, viewport={"width": 390, "height": 844})
    tab = context.new_page()
    # An actor of its own: the test must not depend on another test having made one.
    actor = live_app.post("/api/actors", {"name": "narrow_screen_actor"})
    try:
        for path in ("/", "/personas", "/references", "/jobs", f"/actors/{actor['id']}"):
            tab.goto(path)
            wide = tab.evaluate("document.documentElement.scrollWidth")
            assert wide <= 390, f"{path} scrolls sideways ({wide} px)"
        tab.get_by_role("button", name="Menu").click()
        # A loaded machine (two browsers beside the suite) can take more than the 5 s
        # default to paint the opened menu.
        expect(tab.get_by_role("link", name="Jobs")).to_be_visible(timeout=15_000)
        tab.goto("/")
        screenshot(tab, "library-390")
    finally:
        context.close()
