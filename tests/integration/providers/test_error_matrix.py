"""Every client maps the same transport failures the same way, and never leaks keys."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from castsmith.domain.errors import InvalidRequest, ProviderError, ProviderUnavailable, RateLimited
from castsmith.providers.base import RunWorkflow, TextRequest, TextToImage
from castsmith.providers.comfyui import ComfyUIProvider
from castsmith.providers.flowise import FlowiseText
from castsmith.providers.google import GoogleImages
from castsmith.providers.openai import OpenAIImages, OpenAIText
from castsmith.providers.replicate import ReplicateProvider
from castsmith.providers.runpod import RunPodProvider
from tests.fakes import (
    FakeComfyUI,
    FakeFlowise,
    FakeGoogle,
    FakeOpenAI,
    FakeReplicate,
    FakeRunPod,
    FakeServer,
)
from tests.integration.providers.workflows import flux_graph

Call = Callable[[], Awaitable[Any]]
# Long enough that a fake server on a loaded machine still answers in time; the slow
# answer below waits well past it.
TIMEOUT = 1.5


def runpod(http: httpx.AsyncClient, f: Any) -> tuple[Call, str, str]:
    p = RunPodProvider(
        http, api_key=f.api_key, endpoint_url=f.base, timeout=TIMEOUT, poll_interval=0.01
    )
    return (lambda: p.run_workflow(RunWorkflow(flux_graph()))), "/v2/", f.api_key


def comfyui(http: httpx.AsyncClient, f: Any) -> tuple[Call, str, str]:
    p = ComfyUIProvider(http, base_url=f.url, api_key="proxy-token-xyz", timeout=TIMEOUT)
    return (lambda: p.run_workflow(RunWorkflow(flux_graph()))), "/prompt", "proxy-token-xyz"


def replicate(http: httpx.AsyncClient, f: Any) -> tuple[Call, str, str]:
    p = ReplicateProvider(http, api_token=f.token, base_url=f.url, timeout=TIMEOUT, wait_seconds=1)
    p.wait_seconds = 0  # the create call's timeout adds the Prefer: wait seconds
    return (lambda: p.text_to_image(TextToImage("a fox"))), "/v1/", f.token


def openai_images(http: httpx.AsyncClient, f: Any) -> tuple[Call, str, str]:
    p = OpenAIImages(http, api_key=f.api_key, base_url=f"{f.url}/v1", timeout=TIMEOUT)
    return (lambda: p.text_to_image(TextToImage("a fox"))), "/v1/", f.api_key


def openai_text(http: httpx.AsyncClient, f: Any) -> tuple[Call, str, str]:
    p = OpenAIText(http, api_key=f.api_key, base_url=f"{f.url}/v1", timeout=TIMEOUT)
    return (lambda: p.generate_json(TextRequest("x"))), "/v1/", f.api_key


def google(http: httpx.AsyncClient, f: Any) -> tuple[Call, str, str]:
    p = GoogleImages(http, api_key=f.api_key, project="p", base_url=f.url, timeout=TIMEOUT)
    return (lambda: p.text_to_image(TextToImage("a fox"))), "/v1/", f.api_key


def flowise(http: httpx.AsyncClient, f: Any) -> tuple[Call, str, str]:
    p = FlowiseText(
        http, base_url=f.url, chatflow_id=f.chatflow_id, api_key=f.api_key, timeout=TIMEOUT
    )
    return (lambda: p.generate_json(TextRequest("x"))), "/api/", str(f.api_key)


CASES: list[tuple[type[FakeServer], Callable[..., tuple[Call, str, str]]]] = [
    (FakeRunPod, runpod),
    (FakeComfyUI, comfyui),
    (FakeReplicate, replicate),
    (FakeOpenAI, openai_images),
    (FakeOpenAI, openai_text),
    (FakeGoogle, google),
    (FakeFlowise, flowise),
]
IDS = ["runpod", "comfyui", "replicate", "openai-images", "openai-text", "google", "flowise"]


@pytest.fixture(params=CASES, ids=IDS)
async def case(request: pytest.FixtureRequest, http: httpx.AsyncClient) -> Any:
    fake_cls, build = request.param
    with fake_cls() as fake:
        call, path, secret = build(http, fake)
        yield fake, call, path, secret


def assert_clean(error: ProviderError, secret: str) -> None:
    assert secret not in str(error) and secret not in repr(error.args)


async def test_429_with_retry_after_seconds(case: Any) -> None:
    fake, call, path, secret = case
    fake.script(path, status=429, headers={"Retry-After": "7"}, json={"error": "slow down"})
    with pytest.raises(RateLimited) as caught:
        await call()
    assert caught.value.retry_after == 7 and caught.value.retryable
    assert_clean(caught.value, secret)


async def test_429_with_retry_after_http_date(case: Any) -> None:
    fake, call, path, _ = case
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    fake.script(path, status=429, headers={"Retry-After": when}, json={"detail": "throttled"})
    with pytest.raises(RateLimited) as caught:
        await call()
    assert caught.value.retry_after is not None and 20 <= caught.value.retry_after <= 31


async def test_429_without_retry_after(case: Any) -> None:
    fake, call, path, _ = case
    fake.script(path, status=429, json={"detail": "Request was throttled."})
    with pytest.raises(RateLimited, match="throttled") as caught:
        await call()
    assert caught.value.retry_after is None


async def test_server_error_is_retryable(case: Any) -> None:
    fake, call, path, secret = case
    fake.script(path, status=503, body=f"upstream sick, key {secret}")
    with pytest.raises(ProviderUnavailable, match="HTTP 503") as caught:
        await call()
    assert_clean(caught.value, secret)


async def test_client_error_is_permanent_with_the_reason(case: Any) -> None:
    fake, call, path, _ = case
    fake.script(path, status=400, json={"error": {"message": "width must be divisible by 64"}})
    with pytest.raises(InvalidRequest, match="width must be divisible by 64") as caught:
        await call()
    assert not caught.value.retryable


async def test_malformed_json(case: Any) -> None:
    fake, call, path, _ = case
    fake.script(path, status=200, body=b"{not json")
    with pytest.raises(ProviderUnavailable, match="malformed response"):
        await call()


async def test_slow_answer_hits_the_timeout(case: Any) -> None:
    fake, call, path, _ = case
    fake.script(path, delay=TIMEOUT * 2, passthrough=True)
    with pytest.raises(ProviderUnavailable, match="did not answer within"):
        await call()


async def test_unreachable_server(case: Any) -> None:
    fake, call, _, secret = case
    fake.stop()
    with pytest.raises(ProviderUnavailable, match="could not connect") as caught:
        await call()
    assert_clean(caught.value, secret)
