"""OpenAI images and chat completions against the fake API."""

from __future__ import annotations

import httpx
import pytest
from pydantic import BaseModel

from castsmith.domain.errors import ContentFiltered, InvalidRequest, OutputExpired, RateLimited
from castsmith.providers.base import ImageToImage, InputImage, TextRequest, TextToImage
from castsmith.providers.openai import OpenAIImages, OpenAIText
from tests.fakes import FakeOpenAI


def images(http: httpx.AsyncClient, fake: FakeOpenAI) -> OpenAIImages:
    return OpenAIImages(http, api_key=fake.api_key, base_url=f"{fake.url}/v1", timeout=2.0)


async def test_generation_sets_the_model_and_decodes_b64(
    http: httpx.AsyncClient, openai_fake: FakeOpenAI
) -> None:
    result = await images(http, openai_fake).text_to_image(
        TextToImage("a fox", width=1536, height=1024, count=2)
    )
    assert len(result.images) == 2 and result.images[0].content_type == "image/png"
    body = openai_fake.calls_to("/v1/images/generations")[0].json()
    assert body["model"] == "gpt-image-1" and body["size"] == "1536x1024" and body["n"] == 2
    assert result.provenance.provider_job_id == "req_fake"


async def test_url_outputs_are_downloaded_and_expiry_is_reported(
    http: httpx.AsyncClient, openai_fake: FakeOpenAI
) -> None:
    openai_fake.response_mode = "url"
    result = await images(http, openai_fake).text_to_image(TextToImage("a fox"))
    assert result.images[0].data.startswith(b"\x89PNG")
    openai_fake.expire_files(403)
    with pytest.raises(OutputExpired):
        await images(http, openai_fake).text_to_image(TextToImage("a fox"))


async def test_edits_send_every_image_as_image_array(
    http: httpx.AsyncClient, openai_fake: FakeOpenAI
) -> None:
    pics = (InputImage(b"\x89PNG1", "a.png"), InputImage(b"\x89PNG2", "b.png"))
    result = await images(http, openai_fake).image_to_image(ImageToImage("a 2x2 grid", pics))
    assert len(result.images) == 1
    assert (
        openai_fake.edit_fields[0].count("image[]") == 2 and "model" in openai_fake.edit_fields[0]
    )


async def test_moderation_and_quota(http: httpx.AsyncClient, openai_fake: FakeOpenAI) -> None:
    provider = images(http, openai_fake)
    with pytest.raises(ContentFiltered, match="safety system"):
        await provider.text_to_image(TextToImage("BLOCKED thing"))
    openai_fake.script(
        "/v1/images",
        status=429,
        json={
            "error": {
                "message": "You exceeded your current quota",
                "type": "insufficient_quota",
                "code": "insufficient_quota",
            }
        },
    )
    with pytest.raises(InvalidRequest, match="quota"):
        await provider.text_to_image(TextToImage("a fox"))
    openai_fake.script(
        "/v1/images",
        status=429,
        headers={"retry-after-ms": "1500"},
        json={
            "error": {
                "message": "Rate limit reached",
                "type": "requests",
                "code": "rate_limit_exceeded",
            }
        },
    )
    with pytest.raises(RateLimited) as caught:
        await provider.text_to_image(TextToImage("a fox"))
    assert caught.value.retry_after == 1.5


async def test_bad_key_is_never_echoed(http: httpx.AsyncClient, openai_fake: FakeOpenAI) -> None:
    provider = OpenAIImages(http, api_key="sk-wrong-secret-abc", base_url=f"{openai_fake.url}/v1")
    with pytest.raises(InvalidRequest) as caught:
        await provider.text_to_image(TextToImage("a fox"))
    assert "credentials" in str(caught.value) and "sk-wrong-secret-abc" not in str(caught.value)


class Persona(BaseModel):
    first_name: str
    age: int


async def test_chat_completions_structured_output(
    http: httpx.AsyncClient, openai_fake: FakeOpenAI
) -> None:
    text = OpenAIText(
        http, api_key=openai_fake.api_key, base_url=f"{openai_fake.url}/v1", timeout=2.0
    )
    openai_fake.chat_reply = {"first_name": "Mia", "age": 31}
    result = await text.generate_json(TextRequest("one persona", Persona, system="be brief"))
    assert result.data == Persona(first_name="Mia", age=31)
    sent = openai_fake.calls_to("/v1/chat/completions")[0].json()
    assert sent["response_format"]["type"] == "json_schema"
    assert (
        sent["response_format"]["json_schema"]["schema"]["properties"]["age"]["type"] == "integer"
    )
    openai_fake.chat_reply = {"first_name": "Mia"}
    with pytest.raises(Exception, match="does not match the schema") as caught:
        await text.generate_json(TextRequest("one persona", Persona))
    assert caught.value.retryable  # type: ignore[attr-defined]
    openai_fake.refuse_chat = True
    with pytest.raises(ContentFiltered):
        await text.generate_json(TextRequest("one persona", Persona))
    assert await text.check() == "key accepted"
