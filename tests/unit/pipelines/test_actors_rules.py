"""Actor naming rules, cursors, portrait prompts, URL-to-key parsing and address checks."""

from __future__ import annotations

import pytest

from castsmith.domain.actors import (
    PortraitSubject,
    clean_actor_fields,
    decode_cursor,
    encode_cursor,
    parse_seed_name,
    portrait_prompt,
    validate_actor_name,
)
from castsmith.domain.errors import InvalidName, ValidationError
from castsmith.net.guard import check_url
from castsmith.pipelines.actors.interchange import key_from_url


@pytest.mark.parametrize(
    "name", ["0001_european_20_female", "Ada", "v1.2-beta", "a" * 100, "x.y_z-1"]
)
def test_safe_names_pass(name: str) -> None:
    assert validate_actor_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "..", "a..b", ".", "a/b", "a\\b", "tab\there", "a" * 101, "é", "sp ace", None]
)
def test_unsafe_names_are_refused_naming_the_field(name: object) -> None:
    with pytest.raises(InvalidName) as caught:
        validate_actor_name(name)
    assert caught.value.field == "name"


def test_fields_are_checked_and_named() -> None:
    assert clean_actor_fields({"name": "n", "sex": "Female"}, partial=False)["sex"] == "female"
    with pytest.raises(ValidationError) as caught:
        clean_actor_fields({"age": -1}, partial=True)
    assert caught.value.field == "age"
    with pytest.raises(ValidationError) as caught:
        clean_actor_fields({"lora": {"strength_model": 50}}, partial=True)
    assert caught.value.field == "lora.strength_model"
    with pytest.raises(InvalidName):
        clean_actor_fields({"description": "no name"}, partial=False)


def test_cursor_round_trip_and_garbage() -> None:
    assert decode_cursor(encode_cursor(12345)) == 12345
    assert decode_cursor(None) is None
    with pytest.raises(ValidationError) as caught:
        decode_cursor("not-a-cursor")
    assert caught.value.field == "cursor"


def test_portrait_prompt_uses_the_description() -> None:
    fields = parse_seed_name("0012_european_30_male")
    assert fields == {"ethnicity": "european", "age": 30, "sex": "male"}
    prompt = portrait_prompt(PortraitSubject(name="x", description="green eyes.", **fields))
    assert "30 year old european man" in prompt and "green eyes" in prompt


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://b.s3.us-west-1.amazonaws.com/system_actors/a/b.jpg", "system_actors/a/b.jpg"),
        ("https://b.s3-accelerate.amazonaws.com/actors/x/y.webp", "actors/x/y.webp"),
        ("https://s3.us-west-1.amazonaws.com/b/actors/x/y.webp", "actors/x/y.webp"),
        ("s3://bucket/models/m.safetensors", "models/m.safetensors"),
        ("https://b.s3.amazonaws.com/a/../../etc/passwd", None),
        ("ftp://b/x", None),
    ],
)
def test_keys_are_parsed_from_urls(url: str, key: str | None) -> None:
    assert key_from_url(url) == key


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://10.0.0.8/x",
        "http://192.168.1.1/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/x",
        "http://[::ffff:127.0.0.1]/x",
        "http://0.0.0.0/x",
        "file:///etc/passwd",
        "http:///nohost",
    ],
)
async def test_private_and_odd_urls_are_refused(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        await check_url(url, frozenset())
    assert caught.value.field == "url"


async def test_allow_list_lets_a_host_through() -> None:
    await check_url("http://127.0.0.1:9/x", frozenset({"127.0.0.1"}))
