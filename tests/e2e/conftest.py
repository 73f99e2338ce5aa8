"""Browser tests: the app under uvicorn on a loopback port (offline provider, SQLite,
local storage, in-process worker) driven by Debian's Chromium through Playwright."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from castsmith.api.app import create_app
from castsmith.config import Settings
from castsmith.db.engine import make_engine
from castsmith.db.migrate import upgrade
from tests.harness import FINISHED, operator_container
from tests.services import free_port, service_missing

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@dataclass
class LiveApp:
    """The running app: its base URL and a JSON client for setting up data."""

    url: str
    client: httpx.Client

    def post(self, path: str, body: Any = None) -> Any:
        """POST JSON and return the decoded answer (raises on an error status)."""
        response = self.client.post(path, json=body)
        response.raise_for_status()
        return response.json()

    def wait_job(self, job_id: int, timeout: float = 30.0) -> dict[str, Any]:
        """Poll a job until it ends."""
        deadline = time.monotonic() + timeout
        while True:
            job: dict[str, Any] = self.client.get(f"/api/jobs/{job_id}").json()
            if job["status"] in FINISHED:
                return job
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} still {job['status']}")
            time.sleep(0.1)


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """The app with its worker, served on a free loopback port for this module."""
    data = tmp_path_factory.mktemp("castsmith")
    port = free_port()
    # Signed local file URLs are absolute: they must name the port actually served.
    # "localhost" may be fetched from (a test's image server); the app itself is 127.0.0.1.
    settings = Settings(data_dir=data, host="127.0.0.1", port=port, fetch_allow_hosts="localhost")
    engine = make_engine(str(settings.database_url))
    upgrade(engine)
    engine.dispose()
    container = operator_container(settings)
    app = create_app(container, run_worker=True)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=url, timeout=30) as client:
        yield LiveApp(url=url, client=client)
    server.should_exit = True
    thread.join(timeout=15)
    container.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium, headless."""
    if not CHROMIUM.exists():
        service_missing("Chromium", "apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any, live_app: LiveApp) -> Iterator[Any]:
    """A fresh page at 1280 px wide, with the app's URL as base."""
    context = browser.new_context(base_url=live_app.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    tab = context.new_page()
    yield tab
    context.close()


def screenshot(page: Any, name: str) -> None:
    """Save a full-page screenshot as a test artifact."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
