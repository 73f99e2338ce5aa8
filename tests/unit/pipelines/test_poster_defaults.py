"""An actor's remembered poster parameters under a request's overrides, and the
configured style LoRA list."""

from __future__ import annotations

from castsmith.config import Settings
from castsmith.db.models import Actor
from castsmith.pipelines.posters.params import (
    DEFAULTS_KEY,
    PosterOverrides,
    poster_params,
    with_actor_defaults,
)


def actor(**remembered: object) -> Actor:
    return Actor(
        id=1,
        name="0001_unit",
        description="a pilot",
        lora_strength_model=0.8,
        lora_strength_clip=0.8,
        extra={DEFAULTS_KEY: remembered, "other": 1} if remembered else {},
    )


def test_remembered_values_fill_what_the_request_leaves_out() -> None:
    row = actor(steps=14, guidance=5.0, seed=99, style_lora="", teacache="off", bogus=1)
    params = poster_params(row, PosterOverrides(steps=20), fix_seed=True)
    assert (params.steps, params.guidance, params.seed, params.teacache) == (20, 5.0, 99, "off")
    assert params.style_lora is None  # "" remembered: no style LoRA


def test_a_new_seed_or_a_given_one_drops_the_remembered_seed() -> None:
    row = actor(seed=99, steps=14)
    assert with_actor_defaults(row, PosterOverrides(new_seed=True)).seed is None
    assert with_actor_defaults(row, PosterOverrides(seed=5)).seed == 5
    assert with_actor_defaults(row, PosterOverrides()).seed == 99
    fresh = poster_params(row, PosterOverrides(new_seed=True), fix_seed=True)
    assert fresh.steps == 14 and fresh.seed is not None


def test_an_actor_without_defaults_draws_as_before() -> None:
    overrides = PosterOverrides(steps=9)
    assert with_actor_defaults(actor(), overrides) is overrides
    assert poster_params(actor(), PosterOverrides(), fix_seed=False).steps == 25


def test_style_lora_choices_are_trimmed_and_unique() -> None:
    settings = Settings(poster_style_loras=" noir_v2, ,SBai_style_101,noir_v2 ")
    assert settings.style_lora_choices == ["noir_v2", "SBai_style_101"]
    assert Settings().style_lora_choices == ["SBai_style_101"]
