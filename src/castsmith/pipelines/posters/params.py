"""What shapes one poster: the actor's own settings plus a request's overrides.

The overrides travel in the job payload as plain JSON, so they are a pydantic model
that validates the same way in the REST route, the CLI and the worker.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt

from castsmith.db.models import Actor
from castsmith.domain.errors import ValidationError
from castsmith.domain.poster import DEFAULT_STYLE_LORA, poster_prompt
from castsmith.workflows.poster_frame import LoraSpec, PosterParams, resolve_seed

# Field names of PosterParams.validate() errors -> the request fields a user sent.
_FIELD_NAMES = {"lora": "lora_strength_model", "style_lora": "style_lora_strength"}


class PosterOverrides(BaseModel):
    """Per-request changes to how an actor's poster is drawn; every field is optional.

    ``actor_description`` and ``lora_model_url`` are the seed UI's fields; the rest
    override the workflow's defaults. ``style_lora=""`` draws without a style LoRA.
    """

    model_config = ConfigDict(extra="ignore")

    actor_description: str | None = Field(default=None, max_length=2000)
    lora_model_url: str | None = Field(default=None, max_length=2048)
    lora_name: str | None = Field(default=None, max_length=300)
    # Strict numbers: JSON's true is not 1, as the OpenAPI says (an integer, a number).
    lora_strength_model: StrictFloat | None = None
    lora_strength_clip: StrictFloat | None = None
    trigger_word: str | None = Field(default=None, max_length=200)
    style_lora: str | None = Field(default=None, max_length=300)
    style_lora_strength: StrictFloat | None = None
    width: StrictInt | None = None
    height: StrictInt | None = None
    steps: StrictInt | None = None
    guidance: StrictFloat | None = None
    sampler: str | None = None
    scheduler: str | None = None
    seed: StrictInt | None = None
    model_form: Literal["unet", "checkpoint"] | None = None
    teacache: Literal["current", "legacy", "off"] | None = None
    new_seed: StrictBool | None = Field(
        default=None,
        description="Draw with a fresh random seed even when the actor's defaults keep one.",
    )

    def payload(self) -> dict[str, Any]:
        """Only the fields that were given, for a job payload."""
        return self.model_dump(exclude_none=True)


STYLE_STRENGTH = 0.9  # the style LoRA's strength when a request names none

#: Where an actor's remembered poster parameters live in ``Actor.extra`` (the reserved
#: prefix keeps them out of exports), and which override fields they may hold.
DEFAULTS_KEY = "castsmith:poster_defaults"
DEFAULT_FIELDS = (
    "style_lora",
    "style_lora_strength",
    "lora_strength_model",
    "lora_strength_clip",
    "steps",
    "guidance",
    "seed",
    "width",
    "height",
    "teacache",
)


def stored_defaults(actor: Actor) -> dict[str, Any]:
    """The actor's remembered poster parameters (only known fields; ``{}`` when none)."""
    stored = (actor.extra or {}).get(DEFAULTS_KEY)
    if not isinstance(stored, dict):
        return {}
    return {k: v for k, v in stored.items() if k in DEFAULT_FIELDS and v is not None}


def with_actor_defaults(actor: Actor, overrides: PosterOverrides) -> PosterOverrides:
    """``overrides`` over the actor's remembered defaults: what the request names wins.

    A remembered seed is dropped when the request gives its own or asks for a new one,
    so "new seed" means a fresh poster even for an actor that keeps one by default.
    """
    base = stored_defaults(actor)
    if not base:
        return overrides
    given = overrides.payload()
    if given.get("new_seed") or "seed" in given:
        base.pop("seed", None)
    return PosterOverrides.model_validate({**base, **given})


def _character_lora(actor: Actor, overrides: PosterOverrides) -> LoraSpec | None:
    name = overrides.lora_name or actor.lora_name
    url = overrides.lora_model_url or actor.lora_model_url
    if overrides.lora_model_url and not overrides.lora_name:
        name = None  # a new model URL names the file; the stored name may be stale
    source = name or url
    if not source:
        return None
    return LoraSpec(
        name=source,
        strength_model=(
            overrides.lora_strength_model
            if overrides.lora_strength_model is not None
            else actor.lora_strength_model
        ),
        strength_clip=(
            overrides.lora_strength_clip
            if overrides.lora_strength_clip is not None
            else actor.lora_strength_clip
        ),
    )


def _style_lora(overrides: PosterOverrides) -> LoraSpec | None:
    if overrides.style_lora == "":
        return None
    given = overrides.style_lora_strength
    strength = STYLE_STRENGTH if given is None else given
    return LoraSpec(overrides.style_lora or DEFAULT_STYLE_LORA, strength, strength)


def poster_params(actor: Actor, overrides: PosterOverrides, *, fix_seed: bool) -> PosterParams:
    """Combine the actor and ``overrides`` into checked parameters.

    ``fix_seed`` draws a random seed now when none was asked for, so the recorded
    parameters reproduce the poster. Bad values raise ``ValidationError`` naming the
    request field. The actor's remembered defaults (:func:`with_actor_defaults`) fill
    in what ``overrides`` leaves out.
    """
    overrides = with_actor_defaults(actor, overrides)
    description = overrides.actor_description or actor.description or ""
    given = {
        name: getattr(overrides, name)
        for name in ("width", "height", "steps", "guidance", "sampler", "scheduler", "seed")
        if getattr(overrides, name) is not None
    }
    if overrides.model_form is not None:
        given["model_form"] = overrides.model_form
    if overrides.teacache is not None:
        given["teacache"] = overrides.teacache
    params = PosterParams(
        description=description,
        character_lora=_character_lora(actor, overrides),
        style_lora=_style_lora(overrides),
        trigger_word=overrides.trigger_word or actor.lora_trigger_word,
        **given,
    )
    try:
        params.validate()
        poster_prompt(params.description, params.trigger_word)
    except ValidationError as error:
        field = error.field or ""
        if field == "description":
            field = "actor_description"
        raise ValidationError(error.message, _FIELD_NAMES.get(field, field)) from None
    if fix_seed:
        params = dataclasses.replace(params, seed=resolve_seed(params.seed))
    return params


def params_record(params: PosterParams) -> dict[str, Any]:
    """The parameters as JSON for the version row (what the history shows)."""

    def lora(spec: LoraSpec | None) -> dict[str, Any] | None:
        if spec is None:
            return None
        return {
            "name": spec.file_name,
            "strength_model": spec.strength_model,
            "strength_clip": spec.strength_clip,
        }

    return {
        "description": params.description,
        "prompt": poster_prompt(params.description, params.trigger_word),
        "trigger_word": params.trigger_word,
        "character_lora": lora(params.character_lora),
        "style_lora": lora(params.style_lora),
        "width": params.width,
        "height": params.height,
        "steps": params.steps,
        "guidance": params.guidance,
        "sampler": params.sampler,
        "scheduler": params.scheduler,
        "seed": params.seed,
        "model_form": params.model_form,
        "teacache": params.teacache,
    }
