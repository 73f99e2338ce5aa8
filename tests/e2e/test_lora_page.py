"""The actor page's "Train LoRA" panel in Chromium: generate the dataset, train on the
offline trainer, follow it live, then see the new version, its poster and the test grid."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import LiveApp, screenshot


def test_train_a_lora_from_the_actor_page(browser: Any, page: Any, live_app: LiveApp) -> None:
    actor = live_app.post(
        "/api/actors",
        {"name": "0301_latin_30_female", "description": "a dancer", "sex": "female"},
    )
    base = live_app.post(f"/api/actors/{actor['id']}/base-image/generate")
    live_app.wait_job(base["job_id"])
    page.goto(f"/actors/{actor['id']}")
    page.get_by_role("button", name="Generate all prompts").click()
    expect(page.locator("#toasts")).to_contain_text("Training data ready.", timeout=90_000)
    page.reload()
    panel = page.locator("#train-lora")
    expect(panel).to_contain_text("ready for the offline trainer")
    expect(panel).to_contain_text("Placeholder trainer")

    panel.get_by_label("Trigger token").fill("zq301lat")
    panel.get_by_label("Training steps").fill("300")
    panel.get_by_role("button", name="Train LoRA").click()
    expect(page.locator("#lora-progress")).to_be_visible()
    expect(page.locator("#lora-cancel")).to_be_visible()
    expect(page.locator("#lora-log")).to_contain_text("step", timeout=20_000)
    expect(page.locator("#lora-log")).to_contain_text("step 300/300", timeout=30_000)

    # The page reloads once the grid is drawn: version, poster and grid are there.
    expect(page.locator("#lora-versions")).to_contain_text("current", timeout=90_000)
    expect(page.locator("#lora-versions")).to_contain_text("zq301lat")
    expect(page.locator("#lora-grid img")).to_have_count(9)
    expect(page.locator("#poster-current img.poster")).to_have_count(1)
    screenshot(page, "lora-panel-1280")
    page.locator('button[data-action="lora-strength"][data-strength="0.6"]').click()
    expect(page.locator("#lora-versions")).to_contain_text("strength 0.6")
    expect(page.locator("#l-sm")).to_have_value("0.6")

    narrow = browser.new_context(base_url=live_app.url, viewport={"width": 390, "height": 844})
    phone = narrow.new_page()
    phone.goto(f"/actors/{actor['id']}")
    expect(phone.locator("#lora-grid img")).to_have_count(9)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    screenshot(phone, "lora-panel-390")
    narrow.close()
