"""An actor's remembered poster parameters: what the regenerate dialog opens with and
what every later poster of the actor is drawn with unless a request says otherwise.

They live in the actor's JSON ``extra`` under :data:`.params.DEFAULTS_KEY` (no column
of their own), and :func:`.params.poster_params` lays a request's overrides over them.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from castsmith.db.repositories.actors import ActorRepository
from castsmith.domain.poster import DEFAULT_STYLE_LORA
from castsmith.pipelines._services import Services
from castsmith.pipelines.posters.params import (
    DEFAULTS_KEY,
    STYLE_STRENGTH,
    PosterOverrides,
    poster_params,
    stored_defaults,
)
from castsmith.workflows.poster_frame import PosterParams

#: Sizes the dialog offers (multiples of 16, around one megapixel as FLUX likes them).
SIZES = ((1024, 1024), (896, 1152), (832, 1216), (1152, 896), (1216, 832), (768, 768))


def poster_choices(style_loras: list[str]) -> dict[str, Any]:
    """What the regenerate dialog offers: the configured style LoRAs, sizes, and the
    values a poster is drawn with when neither the request nor the actor names one."""
    base = PosterParams("")
    return {
        "style_loras": style_loras,
        "sizes": [list(size) for size in SIZES],
        "defaults": {
            "style_lora": DEFAULT_STYLE_LORA,
            "style_lora_strength": STYLE_STRENGTH,
            "steps": base.steps,
            "guidance": base.guidance,
            "width": base.width,
            "height": base.height,
            "teacache": base.teacache,
        },
    }


class PosterDefaults(BaseModel):
    """The parameters an actor remembers; a missing field falls back to the workflow's
    default. ``seed`` is kept only when the user chose to keep one (else a new seed is
    drawn each time); ``style_lora=""`` remembers "no style LoRA". Strict: JSON's
    ``true`` is not the integer 1 the OpenAPI asks for."""

    model_config = ConfigDict(extra="forbid", strict=True)

    style_lora: str | None = Field(default=None, max_length=300)
    style_lora_strength: float | None = None
    lora_strength_model: float | None = None
    lora_strength_clip: float | None = None
    steps: int | None = None
    guidance: float | None = None
    seed: int | None = None
    width: int | None = None
    height: int | None = None
    teacache: Literal["current", "legacy", "off"] | None = None


async def get_defaults(services: Services, actor_id: int) -> dict[str, Any]:
    """The actor's remembered poster parameters (``{}`` when it has none)."""

    def load() -> dict[str, Any]:
        with services.sessions() as session:
            return stored_defaults(ActorRepository(session, services.caller).get(actor_id))

    return await asyncio.to_thread(load)


async def save_defaults(
    services: Services, actor_id: int, defaults: PosterDefaults
) -> dict[str, Any]:
    """Check ``defaults`` as a poster request would be checked, then remember them
    (replacing what the actor remembered before); return what is stored.

    Bad values raise ``ValidationError`` naming the field, like the regenerate route.
    """
    values = defaults.model_dump(exclude_none=True)

    def store() -> dict[str, Any]:
        with services.sessions.begin() as session:
            actor = ActorRepository(session, services.caller).get_for_update(actor_id)
            # Checked on their own: what was remembered before must not hide a bad value.
            previous = dict(actor.extra or {})
            actor.extra = {k: v for k, v in previous.items() if k != DEFAULTS_KEY}
            poster_params(actor, PosterOverrides.model_validate(values), fix_seed=False)
            actor.extra = {**previous, DEFAULTS_KEY: values}
            return dict(values)

    return await asyncio.to_thread(store)
