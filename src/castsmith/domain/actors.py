"""Actor naming and validation rules, the list cursor and the portrait prompt.

Pure functions with no I/O. An actor name becomes part of object keys
(``system_actors/base_images/{actor_name}_base.jpg``), so it is kept to a small, safe
alphabet: ASCII letters, digits, ``_``, ``-`` and ``.``, 1 to 100 characters, never
``..``. The seeds' ``NNNN_ethnicity_age_sex`` names (``0001_european_20_female``) are
typical, but any name of that alphabet is accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from castsmith.domain.cursors import Cursors
from castsmith.domain.errors import InvalidName, ValidationError

MAX_ACTOR_NAME = 100
MAX_DESCRIPTION = 10_000
MAX_LIST_LIMIT = 200
DEFAULT_LIST_LIMIT = 50

_NAME = re.compile(r"^[A-Za-z0-9_.\-]+\Z")
_TOKEN = re.compile(r"^[A-Za-z0-9_\- ]{1,40}\Z")
# The seeds' naming scheme: number, ethnicity, age, sex.
_SEED_NAME = re.compile(
    r"^(?P<number>\d+)_(?P<ethnicity>[a-z]+)_(?P<age>\d{1,3})_(?P<sex>[a-z]+)\Z"
)


def validate_actor_name(value: object, field: str = "name") -> str:
    """Return ``value`` when it is a safe actor name, else raise ``InvalidName``."""
    if not isinstance(value, str):
        raise InvalidName(f"{field} must be text", field)
    if not value:
        raise InvalidName(f"{field} must not be empty", field)
    if len(value) > MAX_ACTOR_NAME:
        raise InvalidName(
            f"{field} is too long ({len(value)} characters; at most {MAX_ACTOR_NAME})", field
        )
    if ".." in value or value == ".":
        raise InvalidName(f"{field} must not contain '..' or be '.': {value!r}", field)
    if not _NAME.match(value):
        raise InvalidName(
            f"{field} may contain only letters, digits, '_', '-' and '.': {value!r}", field
        )
    return value


def validate_token(value: object, field: str) -> str | None:
    """A short label (sex, actor type, ethnicity, style); ``None`` and ``""`` mean unset."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _TOKEN.match(value):
        raise ValidationError(
            f"{field} must be 1-40 letters, digits, spaces, '_' or '-': {value!r}", field
        )
    return value.strip().lower()


def validate_age(value: object, field: str = "age") -> int | None:
    """An age in whole years from 0 to 150, or ``None``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 150:
        raise ValidationError(f"{field} must be a whole number from 0 to 150: {value!r}", field)
    return value


def validate_strength(value: object, field: str) -> float:
    """A LoRA strength; ComfyUI accepts -10..10, anything outside is a typo."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not -10 <= value <= 10:
        raise ValidationError(f"{field} must be a number from -10 to 10: {value!r}", field)
    return float(value)


def validate_description(value: object, field: str = "description") -> str:
    """Free text up to 10,000 characters."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be text", field)
    if len(value) > MAX_DESCRIPTION:
        raise ValidationError(f"{field} is longer than {MAX_DESCRIPTION} characters", field)
    return value


def parse_seed_name(name: str) -> dict[str, Any]:
    """Fields implied by a seed-style name (``0012_european_30_male``), else ``{}``."""
    match = _SEED_NAME.match(name)
    if not match:
        return {}
    return {
        "ethnicity": match["ethnicity"],
        "age": int(match["age"]),
        "sex": match["sex"],
    }


def validate_limit(value: int | None) -> int:
    """The page size of a listing: 1 to 200, 50 when not given."""
    if value is None:
        return DEFAULT_LIST_LIMIT
    if not 1 <= value <= MAX_LIST_LIMIT:
        raise ValidationError(f"limit must be from 1 to {MAX_LIST_LIMIT}: {value}", "limit")
    return value


ACTOR_CURSORS = Cursors("a")
encode_cursor = ACTOR_CURSORS.encode
"""An opaque cursor pointing after the actor with id ``last_id``."""
decode_cursor = ACTOR_CURSORS.after
"""The id a cursor points after (``None`` for none); ``ValidationError`` when garbled."""


@dataclass(frozen=True)
class PortraitSubject:
    """What the portrait prompt of a base image is made from."""

    name: str
    description: str = ""
    sex: str | None = None
    age: int | None = None
    ethnicity: str | None = None
    actor_type: str = "person"


def portrait_prompt(subject: PortraitSubject) -> str:
    """A neutral, front-facing studio portrait prompt for an actor's base image.

    A base image is the identity reference for every later image (training data,
    posters), so it asks for an even light, a plain background and the face in full
    view rather than anything stylised.
    """
    who: list[str] = []
    if subject.age is not None:
        who.append(f"{subject.age} year old")
    if subject.ethnicity:
        who.append(subject.ethnicity)
    if subject.actor_type and subject.actor_type != "person":
        who.append(subject.actor_type)
    else:
        who.append({"male": "man", "female": "woman"}.get(subject.sex or "", "person"))
    lead = "a " + " ".join(who)
    details = subject.description.strip().rstrip(".")
    parts = [
        f"Photorealistic head-and-shoulders studio portrait of {lead}",
        details,
        "facing the camera, neutral expression, eyes open, even soft light, "
        "plain light grey background, sharp focus, natural skin texture",
    ]
    return ", ".join(part for part in parts if part)


LORA_FIELDS = ("model_url", "name", "trigger_word", "strength_model", "strength_clip")
_TEXT_LIMITS = {"model_url": 2048, "name": 300, "trigger_word": 200}


MODEL_URL_SCHEMES = ("http", "https", "s3")


def validate_model_url(value: str, field: str = "lora.model_url") -> str:
    """A LoRA file's address: ``http(s)://host/path`` or ``s3://bucket/key``."""
    text = value.strip()
    scheme, sep, rest = text.partition("://")
    host, _, path = rest.partition("/")
    if not sep or scheme.lower() not in MODEL_URL_SCHEMES or not host or not path or " " in text:
        raise ValidationError(
            f"{field} must be a URL such as https://example.com/models/name.safetensors "
            f"or s3://bucket/models/name.safetensors; got {value!r}",
            field,
        )
    return text


def _clean_lora(value: object) -> dict[str, Any]:
    if value is None:
        return {
            "lora_model_url": None,
            "lora_name": None,
            "lora_trigger_word": None,
            "lora_strength_model": 0.8,
            "lora_strength_clip": 0.8,
        }
    if not isinstance(value, dict):
        raise ValidationError("lora must be an object or null", "lora")
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key not in LORA_FIELDS:
            raise ValidationError(f"lora has no field {key!r}", f"lora.{key}")
        if key.startswith("strength_"):
            out[f"lora_{key}"] = validate_strength(item, f"lora.{key}")
            continue
        if item is not None and (not isinstance(item, str) or len(item) > _TEXT_LIMITS[key]):
            raise ValidationError(
                f"lora.{key} must be text of at most {_TEXT_LIMITS[key]} characters",
                f"lora.{key}",
            )
        if key == "model_url" and item:
            item = validate_model_url(item)
        out[f"lora_{key}"] = item or None
    return out


def clean_actor_fields(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """Validate user-given actor fields and return them as column values.

    ``partial`` (a PATCH) validates only what is present; otherwise ``name`` is
    required. Every error is a ``ValidationError`` naming the field.
    """
    out: dict[str, Any] = {}
    if not partial and "name" not in data:
        raise InvalidName("name is required", "name")
    for key, value in data.items():
        if key == "name":
            out["name"] = validate_actor_name(value)
        elif key == "description":
            out["description"] = validate_description(value)
        elif key == "actor_type":
            out["actor_type"] = validate_token(value, "actor_type") or "person"
        elif key in {"sex", "ethnicity", "style"}:
            out[key] = validate_token(value, key)
        elif key == "age":
            out["age"] = validate_age(value)
        elif key == "owner_id":
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValidationError("owner_id must be a whole number or null", "owner_id")
            out["owner_id"] = value
        elif key == "lora":
            out.update(_clean_lora(value))
        else:
            raise ValidationError(f"unknown actor field {key!r}", key)
    return out
