"""Replicate client against the fake predictions API."""

from __future__ import annotations

import httpx
import pytest

from castsmith.domain.errors import ContentFiltered, InvalidRequest, OutputExpired, ProviderError
from castsmith.providers.base import ImageToImage, InputImage, TextToImage
from castsmith.providers.replicate import ReplicateProvider
from tests.fakes import FakeReplicate


def client(http: httpx.AsyncClient, fake: FakeReplicate, **kw: object) -> ReplicateProvider:
    return ReplicateProvider(
        http,
        api_token=fake.token,
        base_url=fake.url,
        timeout=2.0,
        poll_interval=0.01,
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("mode", ["url", "list", "data_uri"])
async def test_prefer_wait_answer_with_each_output_form(
    http: httpx.AsyncClient, replicate_fake: FakeReplicate, mode: str
) -> None:
    replicate_fake.output_mode = mode
    result = await client(http, replicate_fake).text_to_image(
        TextToImage("a fox", width=1920, height=1080, seed=3)
    )
    assert (
        result.images[0].data.startswith(b"\x89PNG")
        and result.images[0].content_type == "image/png"
    )
    call = replicate_fake.calls_to("/v1/models/black-forest-labs/flux-kontext-pro/predictions")[0]
    assert call.headers["prefer"].startswith("wait")
    assert replicate_fake.inputs[0] == {
        "prompt": "a fox",
        "aspect_ratio": "16:9",
        "safety_tolerance": 2,
        "output_format": "png",
        "seed": 3,
    }


async def test_falls_back_to_polling_and_counts_seeds(
    http: httpx.AsyncClient, replicate_fake: FakeReplicate
) -> None:
    replicate_fake.sync_finishes = False
    replicate_fake.polls_before_done = 2
    result = await client(http, replicate_fake).text_to_image(
        TextToImage("a fox", seed=10, count=2)
    )
    assert [img.seed for img in result.images] == [10, 11]
    assert len(replicate_fake.calls_to("/v1/predictions/")) == 6
    assert len(result.provenance.provider_job_id.split(",")) == 2  # type: ignore[union-attr]


async def test_image_to_image_sends_a_data_uri_and_clamps_safety(
    http: httpx.AsyncClient, replicate_fake: FakeReplicate
) -> None:
    provider = client(http, replicate_fake, safety_tolerance=6)
    await provider.image_to_image(
        ImageToImage("make it night", (InputImage(b"\x89PNGx", "a.png"),))
    )
    sent = replicate_fake.inputs[0]
    assert sent["input_image"].startswith("data:image/png;base64,")
    assert sent["safety_tolerance"] == 2 and sent["aspect_ratio"] == "match_input_image"


async def test_failures(http: httpx.AsyncClient, replicate_fake: FakeReplicate) -> None:
    provider = client(http, replicate_fake)
    replicate_fake.fail_next(
        "The input or output was flagged as sensitive. Please try again. (E005)"
    )
    with pytest.raises(ContentFiltered, match="E005"):
        await provider.text_to_image(TextToImage("x"))
    with pytest.raises(InvalidRequest, match="prompt is required"):
        await provider.text_to_image(TextToImage(""))
    replicate_fake.expire_files(404)
    with pytest.raises(OutputExpired):
        await provider.text_to_image(TextToImage("a fox"))


async def test_cancel_and_check(http: httpx.AsyncClient, replicate_fake: FakeReplicate) -> None:
    replicate_fake.sync_finishes = False
    replicate_fake.polls_before_done = 100
    provider = client(http, replicate_fake)
    created = await http.post(
        f"{replicate_fake.url}/v1/models/a/b/predictions",
        json={"input": {"prompt": "p"}},
        headers={"Authorization": f"Bearer {replicate_fake.token}"},
    )
    pid = created.json()["id"]
    await provider.cancel(pid)
    assert replicate_fake.predictions[pid]["status"] == "canceled"
    assert await provider.check() == "token accepted"
    replicate_fake.script("/v1/predictions/", json={"id": "z", "status": "canceled"})
    replicate_fake.sync_finishes = False
    with pytest.raises(ProviderError, match="canceled"):
        await provider.text_to_image(TextToImage("a fox"))
