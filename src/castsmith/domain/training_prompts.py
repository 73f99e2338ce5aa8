"""The training prompt library: image-to-image instructions for LoRA datasets.

The library ships as a versioned JSON file in the package; users extend or override it
with files of the same shape. Prompts are filtered by actor type and sex (an empty
``sexes`` list means any sex).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from castsmith.domain.errors import ValidationError

SUBJECT_BY_SEX = {"male": "man", "female": "woman"}


@dataclass(frozen=True)
class TrainingPrompt:
    """One prompt of the library."""

    id: str
    text: str
    actor_types: tuple[str, ...]
    sexes: tuple[str, ...]

    def matches(self, actor_type: str, sex: str | None) -> bool:
        """Does this prompt apply to an actor of this type and sex?"""
        type_ok = not self.actor_types or actor_type in self.actor_types
        sex_ok = not self.sexes or (sex or "").lower() in self.sexes
        return type_ok and sex_ok

    def render(self, actor_type: str, sex: str | None) -> str:
        """The prompt text with its subject filled in ("man", "woman", "person", ...)."""
        subject = SUBJECT_BY_SEX.get((sex or "").lower(), "person")
        if actor_type != "person":
            subject = actor_type
        return self.text.format(subject=subject)


@dataclass(frozen=True)
class PromptLibrary:
    """A versioned set of prompts."""

    version: int
    prompts: tuple[TrainingPrompt, ...]

    def for_actor(self, actor_type: str, sex: str | None) -> list[TrainingPrompt]:
        """The prompts that apply to an actor, in library order."""
        return [p for p in self.prompts if p.matches(actor_type, sex)]

    def get(self, prompt_id: str) -> TrainingPrompt:
        """A prompt by id."""
        for prompt in self.prompts:
            if prompt.id == prompt_id:
                return prompt
        raise ValidationError(f"no training prompt with id '{prompt_id}'", "prompt_id")

    def merged(self, other: PromptLibrary) -> PromptLibrary:
        """This library with ``other``'s prompts added (same id replaces)."""
        by_id = {p.id: p for p in self.prompts}
        by_id.update({p.id: p for p in other.prompts})
        return PromptLibrary(max(self.version, other.version), tuple(by_id.values()))


def parse_library(raw: dict[str, Any]) -> PromptLibrary:
    """Validate and build a library from its JSON form."""
    try:
        version = int(raw["version"])
        prompts = tuple(
            TrainingPrompt(
                id=str(item["id"]),
                text=str(item["text"]),
                actor_types=tuple(item.get("actor_types", [])),
                sexes=tuple(s.lower() for s in item.get("sexes", [])),
            )
            for item in raw["prompts"]
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationError(f"malformed prompt library: {exc}", "prompts") from exc
    ids = [p.id for p in prompts]
    if len(ids) != len(set(ids)):
        raise ValidationError("prompt ids must be unique", "prompts")
    return PromptLibrary(version, prompts)


def builtin_library() -> PromptLibrary:
    """The library shipped with castsmith."""
    text = resources.files("castsmith.domain").joinpath("data/training_prompts.json").read_text()
    return parse_library(json.loads(text))


def load_library(extra_files: list[Path] | None = None) -> PromptLibrary:
    """The built-in library extended by the user's files, in order."""
    library = builtin_library()
    for path in extra_files or []:
        library = library.merged(parse_library(json.loads(path.read_text())))
    return library
