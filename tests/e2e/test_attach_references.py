"""Attaching references to a video job shows what the job now holds, and the job id
field says which format it wants."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveApp, screenshot

pytestmark = pytest.mark.browser


def test_attach_shows_the_attachment_and_explains_the_id(page: Any, live_app: LiveApp) -> None:
    made = live_app.client.post(
        "/api/mv/generate_character_reference?wait=60",
        json={"character_description": "a courier on a red bicycle", "num_images": 2},
    )
    assert made.status_code in (200, 202), made.text
    page.goto("/references")
    expect(page.locator("#reference-gallery .reference")).to_have_count(2)
    field = page.get_by_label("Video job id")
    field.fill("job 42!")
    page.get_by_role("button", name="Attach selected").click()
    message = field.evaluate("el => el.validationMessage")
    assert "Letters, digits, _ and - only" in message, message
    expect(page.locator("#a-job-hint")).to_contain_text("for example job_42")

    for box in page.locator(".select-ref").all():
        box.check()
    field.fill("job_42")
    page.get_by_role("button", name="Attach selected").click()
    expect(page.locator("#toasts")).to_contain_text("Attached 2 reference(s) to video job job_42")
    attached = page.locator("#attached")
    expect(attached).to_be_visible()
    expect(attached).to_contain_text("Video job job_42 has 2 reference(s)")
    expect(attached.locator("img")).to_have_count(2)
    expect(attached).to_contain_text("videos/job_42/intermediate/character_reference/")
    screenshot(page, "references-attached")
