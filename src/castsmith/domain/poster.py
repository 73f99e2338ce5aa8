"""The poster frame prompt and its default generation parameters."""

from __future__ import annotations

from castsmith.domain.errors import ValidationError

POSTER_PROMPT_TEMPLATE = (
    "{trigger}{description}, stylized storyboard art portrait with a graphic novel look, "
    "square composition, the character looks straight into the camera with direct eye "
    "contact, vibrant colorful palette with bold primary colors, digital cel shading in "
    "the spirit of hand-painted animation films, clean confident line work, "
    "animation reference sheet quality"
)

DEFAULT_STYLE_LORA = "SBai_style_101"
MAX_DESCRIPTION_CHARS = 2000


def poster_prompt(description: str, trigger_word: str | None = None) -> str:
    """Fill the poster template with an actor's description (and LoRA trigger word)."""
    cleaned = " ".join(description.split())
    if not cleaned:
        raise ValidationError("the actor needs a description to draw a poster", "description")
    if len(cleaned) > MAX_DESCRIPTION_CHARS:
        raise ValidationError(
            f"the description is {len(cleaned)} characters; at most {MAX_DESCRIPTION_CHARS}",
            "description",
        )
    trigger = f"{trigger_word.strip()}, " if trigger_word and trigger_word.strip() else ""
    return POSTER_PROMPT_TEMPLATE.format(trigger=trigger, description=cleaned)
