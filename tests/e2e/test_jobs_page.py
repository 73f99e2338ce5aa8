"""The jobs page in a browser: one row per job through a burst of events, the count,
buttons that are hidden really hidden, and cancelling a running job asks first."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveApp, screenshot

pytestmark = pytest.mark.browser


def sleep_job(app: LiveApp, seconds: float) -> int:
    job = app.post("/api/jobs", {"kind": "diagnostic.sleep", "payload": {"seconds": seconds}})
    return int(job["id"])


def row_count(page: Any) -> int:
    count: int = page.locator("#jobs-table tbody tr[data-job-id]").count()
    return count


def test_burst_of_events_keeps_one_row_per_job_and_the_count(page: Any, live_app: LiveApp) -> None:
    page.goto("/jobs?view=all")
    before = row_count(page)
    expect(page.locator("#jobs-count")).to_have_text(f"{before} job(s)")
    # Eight short jobs: each sends queued, running, four progress events and completed,
    # most of them before the page has read the job for its row.
    ids = [sleep_job(live_app, 0.2) for _ in range(8)]
    for job_id in ids:
        assert live_app.wait_job(job_id)["status"] == "completed"
    for job_id in ids:
        row = page.locator(f'#jobs-table tr[data-job-id="{job_id}"]')
        expect(row).to_have_attribute("data-status", "completed")
    page.wait_for_timeout(500)  # late events must not add rows either
    for job_id in ids:
        expect(page.locator(f'#jobs-table tr[data-job-id="{job_id}"]')).to_have_count(1)
    assert row_count(page) == before + len(ids)
    expect(page.locator("#jobs-count")).to_have_text(f"{before + len(ids)} job(s)")

    # A completed job offers neither Cancel nor Retry, on the live rows and after a reload.
    first = ids[0]
    for _ in range(2):
        row = page.locator(f'#jobs-table tr[data-job-id="{first}"]')
        expect(row.get_by_role("button", name=f"Cancel job {first}")).to_be_hidden()
        expect(row.get_by_role("button", name=f"Retry job {first}")).to_be_hidden()
        page.reload()
    expect(page.locator("#jobs-count")).to_have_text(re.compile(rf"^{row_count(page)} job\(s\)$"))


def test_cancel_a_running_job_asks_first(page: Any, live_app: LiveApp) -> None:
    job_id = sleep_job(live_app, 30)
    page.goto("/jobs")
    row = page.locator(f'tr[data-job-id="{job_id}"]')
    expect(row).to_have_attribute("data-status", "running")
    expect(row.get_by_role("button", name=f"Retry job {job_id}")).to_be_hidden()
    cancel = row.get_by_role("button", name=f"Cancel job {job_id}")

    # Saying no keeps it running.
    cancel.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Job #{job_id} is running")
    dialog.get_by_role("button", name="Cancel", exact=True).click()
    expect(dialog).to_be_hidden()
    assert live_app.client.get(f"/api/jobs/{job_id}").json()["status"] == "running"
    expect(row).to_have_attribute("data-status", "running")

    cancel.click()
    dialog.get_by_role("button", name="Cancel job").click()
    expect(row).to_have_attribute("data-status", "cancelled")
    expect(cancel).to_be_hidden()
    expect(row.get_by_role("button", name=f"Retry job {job_id}")).to_be_visible()
    assert live_app.client.get(f"/api/jobs/{job_id}").json()["status"] == "cancelled"
    screenshot(page, "jobs")
