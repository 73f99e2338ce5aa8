"""Pure parts of the poster pipeline: parameters from actor + overrides, keys, URL shapes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from castsmith.db.models import Actor
from castsmith.domain.errors import ValidationError
from castsmith.domain.keys import DEFAULT_LAYOUT
from castsmith.pipelines.posters.params import PosterOverrides, params_record, poster_params
from castsmith.pipelines.posters.store import ActorRef, poster_keys, seed_response
from castsmith.storage.urls import UrlBuilder


def actor(**fields: object) -> Actor:
    values: dict[str, object] = {
        "id": 1,
        "name": "0001_european_20_female",
        "description": "a young European woman with long brown hair",
        "lora_model_url": "s3://bucket/models/0001_european_20_female.safetensors",
        "lora_name": None,
        "lora_trigger_word": "ohwx",
        "lora_strength_model": 0.8,
        "lora_strength_clip": 0.7,
        "owner_id": None,
    }
    values.update(fields)
    return Actor(**values)


def test_actor_lora_and_trigger_word_shape_the_poster() -> None:
    params = poster_params(actor(), PosterOverrides(), fix_seed=True)
    assert params.character_lora is not None
    assert params.character_lora.file_name == "0001_european_20_female.safetensors"
    assert (params.character_lora.strength_model, params.character_lora.strength_clip) == (0.8, 0.7)
    assert params.style_lora is not None and params.style_lora.name == "SBai_style_101"
    assert params.seed is not None
    record = params_record(params)
    assert record["prompt"].startswith("ohwx, a young European woman with long brown hair")


def test_overrides_win_and_an_empty_style_lora_removes_it() -> None:
    overrides = PosterOverrides(
        actor_description="an old sailor",
        lora_model_url="https://models.example/new_lora.safetensors",
        style_lora="",
        steps=12,
        seed=42,
        width=768,
        height=512,
    )
    params = poster_params(actor(lora_name="old_lora"), overrides, fix_seed=True)
    assert params.description == "an old sailor"
    assert params.character_lora is not None
    assert params.character_lora.file_name == "new_lora.safetensors"
    assert params.style_lora is None
    assert (params.steps, params.seed, params.width, params.height) == (12, 42, 768, 512)
    assert overrides.payload() == {
        "actor_description": "an old sailor",
        "lora_model_url": "https://models.example/new_lora.safetensors",
        "style_lora": "",
        "steps": 12,
        "seed": 42,
        "width": 768,
        "height": 512,
    }


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (PosterOverrides(width=1000), "width"),
        (PosterOverrides(guidance=-1), "guidance"),
        (PosterOverrides(scheduler="nope"), "scheduler"),
        (PosterOverrides(seed=-5), "seed"),
        (PosterOverrides(style_lora_strength=50), "style_lora_strength"),
        (PosterOverrides(lora_strength_model=50), "lora_strength_model"),
    ],
)
def test_bad_values_name_the_request_field(overrides: PosterOverrides, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        poster_params(actor(), overrides, fix_seed=False)
    assert caught.value.field == field


def test_an_actor_without_description_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        poster_params(actor(description=""), PosterOverrides(), fix_seed=False)
    assert caught.value.field == "actor_description"


def test_keys_are_versioned_and_owned_actors_use_the_user_layout() -> None:
    system = poster_keys(DEFAULT_LAYOUT, ActorRef(1, "0001_a", None), 3)
    assert system.renditions["sm"] == "actors/0001_a/poster_frame/v3/0001_a_poster_sm.webp"
    assert system.source == "actors/0001_a/poster_frame/v3/0001_a_poster_source.png"
    owned = poster_keys(DEFAULT_LAYOUT, ActorRef(7, "mine", 42), 1, "jpg")
    assert owned.renditions["lg"] == "characters/42/7/poster_frames/v1/7_poster_lg.webp"
    assert owned.source == "characters/42/7/poster_frames/v1/7_poster_source.jpg"


async def test_aws_response_has_the_seed_url_shapes() -> None:
    urls = UrlBuilder(backend="s3", secret=b"k", bucket="bucket", region="us-west-1")
    services = SimpleNamespace(urls=urls)
    keys = poster_keys(DEFAULT_LAYOUT, ActorRef(1, "0001_a", None), 2).renditions
    body = await seed_response(services, ActorRef(1, "0001_a", None), keys)  # type: ignore[arg-type]
    assert body["actor_id"] == "1" and body["success"] is True
    frames = body["poster_frames"]
    assert frames["accelerated"]["webp_sm"] == (
        "https://bucket.s3-accelerate.amazonaws.com/actors/0001_a/poster_frame/v2/0001_a_poster_sm.webp"
    )
    assert frames["standard"]["webp_lg"] == (
        "https://bucket.s3.us-west-1.amazonaws.com/actors/0001_a/poster_frame/v2/0001_a_poster_lg.webp"
    )
