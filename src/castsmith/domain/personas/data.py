"""Persona data as a text provider returns it: the record, its checks and its JSON shape."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from castsmith.domain.errors import ValidationError
from castsmith.domain.personas.request import (
    GENDERS,
    MAX_AGE,
    MAX_BIO,
    MIN_AGE,
    clean_text,
    normalize_gender,
    optional_text,
    whole_number,
)


@dataclass(frozen=True)
class PersonaData:
    """One persona as the text provider described it, checked."""

    firstname: str
    lastname: str
    age: int
    gender: str
    location: str
    occupation: str
    bio: str
    image_prompt: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain fields, for prompts and rows."""
        return asdict(self)

    @property
    def name(self) -> str:
        """``First Last``."""
        return f"{self.firstname} {self.lastname}"


_FIELD_ALIASES = {
    "firstname": ("firstname", "first_name", "firstName", "given_name"),
    "lastname": ("lastname", "last_name", "lastName", "surname", "family_name"),
    "image_prompt": ("image_prompt", "imagePrompt", "selfie_prompt"),
}

PERSONA_FIELDS = ("firstname", "lastname", "age", "gender", "location", "occupation", "bio")


def _pick(data: Mapping[str, Any], name: str) -> object:
    for key in _FIELD_ALIASES.get(name, (name,)):
        if data.get(key) is not None:
            return data[key]
    return None


def validate_persona(data: object, constraints: Mapping[str, Any] | None = None) -> PersonaData:
    """Check one persona record; ``ValidationError`` names the field that is wrong."""
    if not isinstance(data, Mapping):
        raise ValidationError("a persona must be an object", "persona")
    age_raw = _pick(data, "age")
    if isinstance(age_raw, str) and age_raw.strip().isdigit():
        age_raw = int(age_raw.strip())
    persona = PersonaData(
        firstname=clean_text(_pick(data, "firstname"), "firstname", 120),
        lastname=clean_text(_pick(data, "lastname"), "lastname", 120),
        age=whole_number(age_raw, "age", MIN_AGE, MAX_AGE),
        gender=normalize_gender(_pick(data, "gender")),
        location=clean_text(_pick(data, "location"), "location"),
        occupation=clean_text(_pick(data, "occupation"), "occupation"),
        bio=clean_text(_pick(data, "bio"), "bio", MAX_BIO),
        image_prompt=optional_text(_pick(data, "image_prompt"), "image_prompt", MAX_BIO),
    )
    rules = constraints or {}
    if "gender" in rules and persona.gender != rules["gender"]:
        raise ValidationError(f"gender {persona.gender!r} breaks the constraint", "gender")
    if not rules.get("age_min", MIN_AGE) <= persona.age <= rules.get("age_max", MAX_AGE):
        raise ValidationError(f"age {persona.age} is outside the requested range", "age")
    return persona


def personas_from_reply(reply: object) -> list[object]:
    """The list of persona records in a text provider's reply, whatever its wrapping."""
    if isinstance(reply, list):
        return list(reply)
    if isinstance(reply, Mapping):
        for key in ("personas", "people", "items", "data", "results"):
            value = reply.get(key)
            if isinstance(value, list):
                return list(value)
        if _pick(reply, "firstname") is not None:
            return [reply]
    return []


PERSONA_ITEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "firstname": {"type": "string"},
        "lastname": {"type": "string"},
        "age": {"type": "integer", "minimum": MIN_AGE, "maximum": MAX_AGE},
        "gender": {"type": "string", "enum": list(GENDERS)},
        "location": {"type": "string"},
        "occupation": {"type": "string"},
        "bio": {"type": "string"},
        "image_prompt": {"type": "string"},
    },
    "required": [*PERSONA_FIELDS, "image_prompt"],
    "additionalProperties": False,
}

PERSONA_BATCH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"personas": {"type": "array", "items": PERSONA_ITEM_SCHEMA}},
    "required": ["personas"],
    "additionalProperties": False,
}

IMAGE_PROMPT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"image_prompt": {"type": "string"}},
    "required": ["image_prompt"],
    "additionalProperties": False,
}


def image_prompt_from_reply(reply: object) -> str:
    """The image prompt out of a text provider's reply (``image_prompt`` or ``prompt``)."""
    if isinstance(reply, Mapping):
        for key in ("image_prompt", "prompt", "text"):
            value = reply.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
    raise ValidationError("the text provider returned no image prompt", "image_prompt")
