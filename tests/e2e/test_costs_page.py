"""The cost ledger in a browser: a job's cost appears on the jobs page when it ends,
and the Costs page (from the nav) totals the calls per provider."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveApp, screenshot

pytestmark = pytest.mark.browser


def test_jobs_page_shows_a_job_s_cost_and_the_costs_page_totals(
    page: Any, live_app: LiveApp
) -> None:
    actor = live_app.post(
        "/api/actors", {"name": "0301_nordic_30_female", "description": "a pilot"}
    )
    page.goto("/jobs?view=all")
    job = live_app.post(f"/api/actors/{actor['id']}/regenerate-poster-frame")
    assert live_app.wait_job(int(job["job_id"]))["status"] == "completed"
    row = page.locator(f'#jobs-table tr[data-job-id="{job["job_id"]}"]')
    expect(row).to_have_attribute("data-status", "completed")
    # Offline posters are free, and say so once the job has ended.
    expect(row.locator(".job-cost")).to_have_text("0.0000")
    expect(row.locator(".job-cost")).to_have_attribute(
        "title", "1 provider call(s): 1 succeeded, 0 failed, 0 cancelled"
    )

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Costs").click()
    expect(page.get_by_role("heading", name="Costs", level=1)).to_be_visible()
    providers = page.locator('table[data-costs-by="provider"] tbody')
    expect(providers).to_contain_text("offline")
    expect(page.locator("#costs-total")).to_contain_text("USD")
    page.get_by_label("Since").fill("2999-01-01")
    page.get_by_role("button", name="Show").click()
    expect(providers).to_contain_text("No provider calls recorded.")
    screenshot(page, "costs")
