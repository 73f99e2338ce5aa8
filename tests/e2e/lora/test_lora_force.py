"""The "Train LoRA" panel in Chromium on a dataset that is not ready: the readiness
report's reasons, a refused training, then "Train anyway"."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.e2e.conftest import LiveApp


def test_a_dataset_that_is_not_ready_is_trained_only_when_forced(
    page: Any, live_app: LiveApp
) -> None:
    name = "0302_latin_30_female"
    actor = live_app.post("/api/actors", {"name": name, "description": "a singer", "sex": "female"})
    actor_id = actor["id"]
    base = live_app.post(f"/api/actors/{actor_id}/base-image/generate")
    live_app.wait_job(base["job_id"])
    dataset = live_app.post(
        f"/api/actors/{actor_id}/training-data/generate-all-prompts",
        {"actor_id": actor_id, "actor_name": name},
    )
    live_app.wait_job(dataset["job_id"], 90)
    items = live_app.client.get(f"/api/actors/{actor_id}/training-data").json()["training_data"]
    for item in items[3:]:
        live_app.client.delete(f"/api/actors/{actor_id}/training-data/{item['id']}")

    page.goto(f"/actors/{actor_id}")
    panel = page.locator("#train-lora")
    expect(page.locator("#lora-readiness")).to_contain_text("not ready for training")
    expect(page.locator("#lora-readiness-reasons")).to_contain_text(
        "3 usable image(s), at least 10 needed"
    )
    force = panel.get_by_label("Train anyway: the dataset is not ready")
    expect(force).to_be_visible()
    expect(force).not_to_be_checked()

    panel.get_by_label("Trigger token").fill("zq302lat")
    panel.get_by_label("Training steps").fill("100")
    panel.get_by_role("button", name="Train LoRA").click()
    expect(page.locator("#toasts")).to_contain_text("is not ready for training")
    expect(page.locator("#lora-message")).to_have_text("The dataset is not ready for training.")
    expect(page.locator("#lora-versions")).to_contain_text("No LoRA versions yet.")

    force.check()
    panel.get_by_role("button", name="Train LoRA").click()
    expect(page.locator("#lora-progress")).to_be_visible()
    expect(page.locator("#lora-versions")).to_contain_text("current", timeout=90_000)
    expect(page.locator("#lora-versions")).to_contain_text("3 images")
