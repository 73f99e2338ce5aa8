"""Flowise text provider against the fake prediction API."""

from __future__ import annotations

import httpx
import pytest

from castsmith.domain.errors import InvalidRequest, ProviderUnavailable
from castsmith.providers.base import TextRequest
from castsmith.providers.flowise import FlowiseText
from tests.fakes import FakeFlowise


def client(http: httpx.AsyncClient, fake: FakeFlowise) -> FlowiseText:
    return FlowiseText(
        http, base_url=fake.url, chatflow_id=fake.chatflow_id, api_key=fake.api_key, timeout=2.0
    )


@pytest.mark.parametrize("mode", ["json", "fenced", "prose"])
async def test_reads_json_in_every_answer_form(
    http: httpx.AsyncClient, flowise_fake: FakeFlowise, mode: str
) -> None:
    flowise_fake.reply_mode = mode
    result = await client(http, flowise_fake).generate_json(
        TextRequest("a persona", {"type": "object"}, variables={"count": 1})
    )
    assert result.data == {"first_name": "Ada", "last_name": "Lovelace"}
    sent = flowise_fake.questions[0]
    assert "a persona" in sent["question"] and sent["overrideConfig"]["vars"] == {"count": 1}
    assert result.provenance.provider_job_id == "msg-1"


async def test_errors(http: httpx.AsyncClient, flowise_fake: FakeFlowise) -> None:
    wrong = FlowiseText(http, base_url=flowise_fake.url, chatflow_id="nope")
    with pytest.raises(InvalidRequest, match="chatflow nope not found"):
        await wrong.generate_json(TextRequest("x"))
    unauth = FlowiseText(
        http, base_url=flowise_fake.url, chatflow_id=flowise_fake.chatflow_id, api_key="bad-key-777"
    )
    with pytest.raises(InvalidRequest, match="Unauthorized") as caught:
        await unauth.generate_json(TextRequest("x"))
    assert "bad-key-777" not in str(caught.value)
    flowise_fake.reply_mode = "prose"
    flowise_fake.reply = "no json here"
    with pytest.raises(ProviderUnavailable, match="malformed response"):
        await client(http, flowise_fake).generate_json(TextRequest("x"))
    flowise_fake.script(
        "/api/v1/prediction/",
        status=500,
        json={"statusCode": 500, "success": False, "message": "LLM timed out"},
    )
    with pytest.raises(ProviderUnavailable, match="LLM timed out"):
        await client(http, flowise_fake).generate_json(TextRequest("x"))
    assert "reachable" in await client(http, flowise_fake).check()
