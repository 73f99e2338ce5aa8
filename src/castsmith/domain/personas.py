"""Persona tasks: the request rules, the status flow and persona data checks (pure).

A task moves through::

    pending ──> generating-data ──> data-generated ──> generating-images ──> completed
       │               │                                   │    ^           completed_with_errors
       └───────────────┴──────────> failed <───────────────┘    │           failed
                                                                 └── retry-failed (re-runs
                                                                     only the failed personas)

The end of a task is decided by its personas: all of them done -> ``completed`` (empty
error log); some -> ``completed_with_errors`` (the failures in the error log); none ->
``failed``. Each persona (a result) is ``pending``, ``generating``, ``completed`` or
``failed`` on its own.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from castsmith.domain.errors import Conflict, ValidationError

PENDING = "pending"
GENERATING_DATA = "generating-data"
DATA_GENERATED = "data-generated"
GENERATING_IMAGES = "generating-images"
COMPLETED = "completed"
COMPLETED_WITH_ERRORS = "completed_with_errors"
FAILED = "failed"

TASK_STATUSES = (
    PENDING,
    GENERATING_DATA,
    DATA_GENERATED,
    GENERATING_IMAGES,
    COMPLETED,
    COMPLETED_WITH_ERRORS,
    FAILED,
)
FINISHED_STATUSES = frozenset({COMPLETED, COMPLETED_WITH_ERRORS, FAILED})

TRANSITIONS: dict[str, frozenset[str]] = {
    PENDING: frozenset({GENERATING_DATA, FAILED}),
    GENERATING_DATA: frozenset({DATA_GENERATED, FAILED}),
    DATA_GENERATED: frozenset({GENERATING_IMAGES, FAILED}),
    GENERATING_IMAGES: frozenset({COMPLETED, COMPLETED_WITH_ERRORS, FAILED}),
    COMPLETED: frozenset(),
    # retry-failed puts a partly or wholly failed task back to work.
    COMPLETED_WITH_ERRORS: frozenset({GENERATING_IMAGES}),
    FAILED: frozenset({GENERATING_IMAGES, PENDING}),
}

RESULT_PENDING = "pending"
RESULT_GENERATING = "generating"
RESULT_COMPLETED = "completed"
RESULT_FAILED = "failed"
RESULT_STATUSES = (RESULT_PENDING, RESULT_GENERATING, RESULT_COMPLETED, RESULT_FAILED)

MIN_COUNT = 1
MAX_COUNT = 100
MIN_AGE = 18
MAX_AGE = 100
GENDERS = ("female", "male", "non-binary")
MAX_TEXT = 200
MAX_BIO = 4000
IMAGES_PER_PERSONA = 5

_LOCALE = re.compile(r"^[a-z]{2,3}_[A-Z]{2}\Z")
_CONSTRAINT_TEXT_KEYS = ("occupation", "location", "ethnicity", "style", "nationality")


def can_transition(current: str, new: str) -> bool:
    """Whether a task may move from ``current`` to ``new``."""
    return new in TRANSITIONS.get(current, frozenset())


def check_transition(current: str, new: str) -> str:
    """Return ``new`` if the move is allowed, else raise ``Conflict`` in plain words."""
    if not can_transition(current, new):
        raise Conflict(f"a persona task cannot go from {current!r} to {new!r}")
    return new


def final_status(result_statuses: Iterable[str]) -> str:
    """A task's end from its personas' statuses (no personas at all counts as failed)."""
    values = list(result_statuses)
    done = sum(1 for status in values if status == RESULT_COMPLETED)
    if values and done == len(values):
        return COMPLETED
    if done == 0:
        return FAILED
    return COMPLETED_WITH_ERRORS


def error_entry(firstname: str, lastname: str, result_id: int, error: str) -> dict[str, Any]:
    """One line of a task's error log, as the seed records it."""
    return {"persona": f"{firstname} {lastname}".strip(), "result_id": result_id, "error": error}


def batch_sizes(count: int, batch_size: int) -> list[int]:
    """Split ``count`` personas into batches of at most ``batch_size``."""
    size = max(1, batch_size)
    return [min(size, count - start) for start in range(0, count, size)]


# --- the request ---------------------------------------------------------------------


@dataclass(frozen=True)
class TaskRequest:
    """A checked request for ``count`` personas."""

    count: int
    locale: str
    constraints: Mapping[str, Any]


def _int(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{field} must be a whole number, got {value!r}", field)
    if not low <= value <= high:
        raise ValidationError(f"{field} must be between {low} and {high}, got {value}", field)
    return value


def _text(value: object, field: str, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field} must be non-empty text", field)
    if len(value) > limit:
        raise ValidationError(f"{field} is too long ({len(value)} > {limit} characters)", field)
    return value.strip()


def _optional_text(value: object, field: str, limit: int) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return _text(value, field, limit)


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
    text = _text(value, field).lower().replace("_", "-")
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
            out[key] = _int(value, field, MIN_AGE, MAX_AGE)
        elif key in _CONSTRAINT_TEXT_KEYS:
            out[key] = _text(value, field)
        else:
            known = ", ".join(("gender", "age_min", "age_max", *_CONSTRAINT_TEXT_KEYS))
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
        count=_int(count, "count", MIN_COUNT, MAX_COUNT),
        locale=validate_locale(locale, known_locales),
        constraints=validate_constraints(constraints),
    )


# --- persona data --------------------------------------------------------------------


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
        firstname=_text(_pick(data, "firstname"), "firstname", 120),
        lastname=_text(_pick(data, "lastname"), "lastname", 120),
        age=_int(age_raw, "age", MIN_AGE, MAX_AGE),
        gender=normalize_gender(_pick(data, "gender")),
        location=_text(_pick(data, "location"), "location"),
        occupation=_text(_pick(data, "occupation"), "occupation"),
        bio=_text(_pick(data, "bio"), "bio", MAX_BIO),
        image_prompt=_optional_text(_pick(data, "image_prompt"), "image_prompt", MAX_BIO),
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


# --- prompts -------------------------------------------------------------------------


def persona_data_prompt(count: int, locale: str, constraints: Mapping[str, Any]) -> str:
    """The instruction for one batch of persona data."""
    lines = [
        f"Create {count} distinct, realistic adult personas for the locale {locale}.",
        "For each give firstname, lastname, age (an integer), gender (female, male or "
        "non-binary), location (city and country), occupation, a short first-person "
        "bio of two or three sentences, and image_prompt: one paragraph describing a "
        "photorealistic smartphone selfie of this person (face, hair, skin tone, clothing, "
        "expression, setting, light). Names and places must fit the locale.",
    ]
    rules = []
    if "gender" in constraints:
        rules.append(f"gender: {constraints['gender']}")
    if "age_min" in constraints or "age_max" in constraints:
        low = constraints.get("age_min", MIN_AGE)
        high = constraints.get("age_max", MAX_AGE)
        rules.append(f"age between {low} and {high}")
    rules.extend(
        f"{key}: {constraints[key]}" for key in _CONSTRAINT_TEXT_KEYS if key in constraints
    )
    if rules:
        lines.append("Every persona must match: " + "; ".join(rules) + ".")
    lines.append('Answer with JSON: {"personas": [...]}.')
    return "\n".join(lines)


def image_prompt_request(persona: PersonaData) -> str:
    """The instruction asking the text provider for a selfie prompt of ``persona``."""
    return (
        "Write one prompt for a photorealistic smartphone selfie of this person: "
        f"{persona.name}, {persona.age}-year-old {persona.gender}, {persona.occupation} "
        f"living in {persona.location}. Bio: {persona.bio}\n"
        "Describe face, hair, skin tone, clothing, expression, setting and light in one "
        'paragraph. Answer with JSON: {"image_prompt": "..."}.'
    )


def grid_prompt(image_prompt: str) -> str:
    """The image-to-image prompt for the 2x2 grid made from the base selfie."""
    return (
        "Create a 2x2 grid of four different photos of the same person as in the input "
        "image, separated by thin white gutters: different poses, outfits, places and "
        "times of day, same face and identity. "
        f"Person: {image_prompt}"
    )


# --- progress ------------------------------------------------------------------------

STEPS = (
    "Generating image prompt",
    "Generating base selfie image",
    "Uploading base image",
    "Generating 4-image grid",
    "Splitting and trimming grid image",
    "Uploading 4 split images",
    "Updating database with image URLs",
)


def step_message(step: int, name: str = "") -> str:
    """``[Name] Step 3/7: Uploading base image...`` (1-based ``step``)."""
    prefix = f"[{name}] " if name else ""
    return f"{prefix}Step {step}/{len(STEPS)}: {STEPS[step - 1]}..."


def step_percent(step: int) -> float:
    """Progress in percent when ``step`` (1-based) starts."""
    return round(100.0 * (step - 1) / len(STEPS), 1)
