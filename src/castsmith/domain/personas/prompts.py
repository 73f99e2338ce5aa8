"""What the text and image providers are asked for, persona by persona (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from castsmith.domain.personas.data import PersonaData
from castsmith.domain.personas.request import CONSTRAINT_TEXT_KEYS, MAX_AGE, MIN_AGE


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
    rules.extend(f"{key}: {constraints[key]}" for key in CONSTRAINT_TEXT_KEYS if key in constraints)
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
