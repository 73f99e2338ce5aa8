"""Job webhooks: Standard Webhooks signatures, and deliveries to a loopback receiver."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from castsmith.bootstrap import Container
from castsmith.config import Settings
from castsmith.db.engine import make_engine
from castsmith.db.migrate import upgrade
from castsmith.domain.access import OPERATOR
from castsmith.domain.errors import ConfigurationError, ValidationError
from castsmith.jobs.runner import make_worker
from castsmith.jobs.types import JobSpec, JobView
from castsmith.webhooks import (
    WebhookVerificationError,
    decode_secret,
    generate_secret,
    sign,
    signed_headers,
    verify,
)
from castsmith.webhooks.scheduling import WEBHOOK_KIND
from tests.harness import operator_container

SECRET = "whsec_" + base64.b64encode(b"castsmith-test-webhook-key").decode()


def test_signature_is_hmac_sha256_of_id_timestamp_body() -> None:
    body = b'{"type":"job.completed"}'
    expected = hmac.new(
        b"castsmith-test-webhook-key", b"msg_1.1700000000." + body, hashlib.sha256
    ).digest()
    assert sign(SECRET, "msg_1", 1700000000, body) == "v1," + base64.b64encode(expected).decode()


def test_receiver_verification_accepts_good_and_refuses_tampered() -> None:
    body = b'{"a":1}'
    headers = signed_headers(SECRET, "msg_2", body, timestamp=1700000000)
    verify(SECRET, headers, body, now=1700000010)
    with pytest.raises(WebhookVerificationError, match="no matching signature"):
        verify(SECRET, headers, b'{"a":2}', now=1700000010)
    with pytest.raises(WebhookVerificationError, match="tolerance"):
        verify(SECRET, headers, body, now=1700009999)
    other = generate_secret()
    with pytest.raises(WebhookVerificationError):
        verify(other, headers, body, now=1700000010)
    with pytest.raises(WebhookVerificationError, match="missing"):
        verify(SECRET, {}, body)


def test_malformed_secret_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="whsec_"):
        decode_secret("whsec_***not base64***")
    assert len(decode_secret(generate_secret())) == 24


@dataclass
class Receiver:
    """A loopback webhook receiver that verifies every delivery it gets."""

    secret: str
    fail_first: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0
    url: str = ""

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        self.attempts += 1
        if self.attempts <= self.fail_first:
            return 503
        try:
            verify(self.secret, headers, body)
        except WebhookVerificationError:
            return 401
        self.received.append({"headers": headers, "body": json.loads(body)})
        return 204


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(SECRET)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status = state.handle({k.lower(): v for k, v in self.headers.items()}, body)
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/castsmith"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()


def _container(tmp_path: Path, **extra: Any) -> Container:
    url = f"sqlite:///{tmp_path / 'castsmith.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    settings = Settings(
        data_dir=tmp_path,
        database_url=url,
        webhook_secret=SECRET,  # type: ignore[arg-type]
        fetch_allow_hosts="127.0.0.1",
        job_backoff_base=0.05,
        job_backoff_cap=0.1,
        worker_interval=0.05,
        **extra,
    )
    return operator_container(settings)


async def _run_until(container: Container, done: Any, seconds: float = 15.0) -> None:
    worker = make_worker(container.queue, container.registry, container.settings, container)
    task = asyncio.create_task(worker.run())
    try:
        async with asyncio.timeout(seconds):
            while not await asyncio.to_thread(done):
                await asyncio.sleep(0.05)
    finally:
        worker.stop()
        await task


async def _failed_delivery(container: Container) -> JobView:
    """Run a worker until the first webhook delivery job has failed; that job."""

    def delivery_ended() -> bool:
        items, _ = container.queue.list_jobs(OPERATOR, kind=WEBHOOK_KIND)
        return bool(items) and items[0].status == "failed"

    await _run_until(container, delivery_ended)
    items, _ = container.queue.list_jobs(OPERATOR, kind=WEBHOOK_KIND)
    return items[0]


async def test_completion_webhook_is_signed_and_retried(tmp_path: Path, receiver: Receiver) -> None:
    receiver.fail_first = 2
    container = _container(tmp_path)
    job = container.queue.enqueue("diagnostic.sleep", {"webhook_url": receiver.url})
    failing = container.queue.enqueue(
        "diagnostic.sleep", {"fail_times": 5, "webhook_url": receiver.url}, max_attempts=1
    )
    await _run_until(container, lambda: len(receiver.received) == 2)
    by_job = {r["body"]["data"]["id"]: r for r in receiver.received}
    assert by_job[job.id]["body"]["type"] == "job.completed"
    assert by_job[job.id]["body"]["data"]["status"] == "completed"
    assert by_job[failing.id]["body"]["type"] == "job.failed"
    assert by_job[failing.id]["body"]["data"]["error"]
    assert receiver.attempts == 4  # two 503s, then both delivered
    deliveries, _ = container.queue.list_jobs(OPERATOR, kind=WEBHOOK_KIND)
    assert {d.status for d in deliveries} == {"completed"}
    retried = [d for d in deliveries if d.attempts > 1]
    assert retried, "a delivery answered 503 is retried as a job"
    # The message id stays the same across retries, so receivers can de-duplicate.
    assert all(r["headers"]["webhook-id"].startswith("msg_") for r in receiver.received)
    container.close()


async def test_no_secret_fails_the_delivery_clearly(tmp_path: Path, receiver: Receiver) -> None:
    container = _container(tmp_path)
    container.settings.webhook_secret = None
    container.queue.enqueue("diagnostic.sleep", {"webhook_url": receiver.url})

    failed = await _failed_delivery(container)
    assert "CASTSMITH_WEBHOOK_SECRET" in (failed.error or "")
    assert receiver.received == []
    container.close()


def test_webhook_url_is_checked_at_enqueue_and_is_an_explicit_field(tmp_path: Path) -> None:
    container = _container(tmp_path)
    with pytest.raises(ValidationError) as caught:
        container.queue.enqueue("diagnostic.sleep", {"webhook_url": "file:///etc/passwd"})
    assert caught.value.field == "webhook_url"
    with pytest.raises(ValidationError):
        container.queue.enqueue_many([JobSpec("diagnostic.sleep", webhook_url="ftp://x/y")])
    explicit = container.queue.enqueue_many(
        [JobSpec("diagnostic.sleep", webhook_url="https://hooks.example.com/own")]
    )[0]
    assert explicit.webhook_url == "https://hooks.example.com/own"
    # The URL is what the caller passed for this job: its children do not inherit it.
    parent = container.queue.enqueue(
        "diagnostic.sleep", {}, webhook_url="https://hooks.example.com/x"
    )
    child = container.queue.spawn(parent.id, [JobSpec("diagnostic.sleep")])[0]
    assert parent.webhook_url == "https://hooks.example.com/x"
    assert child.webhook_url is None
    assert "webhook_url" not in parent.payload
    # A payload key is taken as the field, and leaves the payload.
    keyed = container.queue.enqueue("diagnostic.sleep", {"webhook_url": "https://h.example/k"})
    assert keyed.webhook_url == "https://h.example/k" and keyed.payload == {}
    container.close()


async def test_private_receiver_is_refused_without_allow_list(
    tmp_path: Path, receiver: Receiver
) -> None:
    container = _container(tmp_path)
    container.settings.fetch_allow_hosts = ""
    container.queue.enqueue("diagnostic.sleep", {"webhook_url": receiver.url})

    failed = await _failed_delivery(container)
    assert "private or reserved address" in (failed.error or "")
    assert receiver.attempts == 0
    container.close()


async def test_deliveries_stop_after_the_configured_attempts(
    tmp_path: Path, receiver: Receiver
) -> None:
    receiver.fail_first = 1000
    container = _container(tmp_path, webhook_max_attempts=3)
    container.queue.enqueue("diagnostic.sleep", {"webhook_url": receiver.url})

    failed = await _failed_delivery(container)
    assert receiver.attempts == 3
    assert failed.attempts == 3
    assert "HTTP 503; gave up after 3 attempts" in (failed.error or "")
    container.close()
