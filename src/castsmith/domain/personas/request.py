"""A create-task request for personas, and the field checks persona data shares (pure)."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from castsmith.domain.errors import ValidationError

MIN_COUNT = 1
MAX_COUNT = 100
MIN_AGE = 18
MAX_AGE = 100
GENDERS = ("female", "male", "non-binary")
MAX_TEXT = 200
MAX_BIO = 4000
IMAGES_PER_PERSONA = 5

_LOCALE = re.compile(r"^[a-z]{2,3}_[A-Z]{2}\Z")
#: Constraints given as free text, in the order prompts name them.
CONSTRAINT_TEXT_KEYS = ("occupation", "location", "ethnicity", "style", "nationality")


@dataclass(frozen=True)
class TaskRequest:
    """A checked request for ``count`` personas."""

    count: int
    locale: str
    constraints: Mapping[str, Any]


def whole_number(value: object, field: str, low: int, high: int) -> int:
    """``value`` as a whole number in ``low``..``high``; an error names ``field``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{field} must be a whole number, got {value!r}", field)
    if not low <= value <= high:
        raise ValidationError(f"{field} must be between {low} and {high}, got {value}", field)
    return value


def clean_text(value: object, field: str, limit: int = MAX_TEXT) -> str:
    """Non-empty text of at most ``limit`` characters, stripped."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field} must be non-empty text", field)
    if len(value) > limit:
        raise ValidationError(f"{field} is too long ({len(value)} > {limit} characters)", field)
    return value.strip()


def optional_text(value: object, field: str, limit: int) -> str | None:
    """Like :func:`clean_text`, but missing or blank text is ``None``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return clean_text(value, field, limit)


def validate_locale(locale: object, known: Collection[str] | None = None) -> str:
    """A locale such as ``en_US`` or ``de_DE``; ``known`` narrows it to supported ones."""
    if not isinstance(locale, str) or not _LOCALE.match(locale):
        raise ValidationError(
            f"locale must look like en_US or de_DE (language_REGION), got {locale!r}", "locale"
        )
    if known is not None and locale not in known:
        raise ValidationError(f"locale {locale!r} is not supported", "locale")
    return locale


def normalize_gender(value: object, field: str = "gender") -> str:
    """``female``/``male``/``non-binary`` from the usual spellings."""
    text = clean_text(value, field).lower().replace("_", "-")
    aliases = {
        "f": "female",
        "woman": "female",
        "m": "male",
        "man": "male",
        "nonbinary": "non-binary",
        "nb": "non-binary",
    }
    text = aliases.get(text, text)
    if text not in GENDERS:
        raise ValidationError(f"{field} must be one of {', '.join(GENDERS)}, got {value!r}", field)
    return text


def validate_constraints(raw: object) -> dict[str, Any]:
    """Check optional constraints; every message names ``constraints.<key>``."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise ValidationError("constraints must be an object", "constraints")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        field = f"constraints.{key}"
        if value is None:
            continue
        if key == "gender":
            out[key] = normalize_gender(value, field)
        elif key in ("age_min", "age_max"):
            out[key] = whole_number(value, field, MIN_AGE, MAX_AGE)
        elif key in CONSTRAINT_TEXT_KEYS:
            out[key] = clean_text(value, field)
        else:
            known = ", ".join(("gender", "age_min", "age_max", *CONSTRAINT_TEXT_KEYS))
            raise ValidationError(f"unknown constraint {key!r}; known: {known}", field)
    if out.get("age_min", MIN_AGE) > out.get("age_max", MAX_AGE):
        raise ValidationError(
            f"constraints.age_min ({out['age_min']}) is above age_max ({out['age_max']})",
            "constraints.age_min",
        )
    return out


def validate_request(
    count: object, locale: object, constraints: object, known_locales: Collection[str] | None
) -> TaskRequest:
    """Check a create-task request (``count`` 1..100, locale, constraints)."""
    return TaskRequest(
        count=whole_number(count, "count", MIN_COUNT, MAX_COUNT),
        locale=validate_locale(locale, known_locales),
        constraints=validate_constraints(constraints),
    )
