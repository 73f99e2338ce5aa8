"""The training prompt library."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from castsmith.domain.errors import ValidationError
from castsmith.domain.training_prompts import builtin_library, load_library


def test_builtin_library_filters_by_type_and_sex() -> None:
    library = builtin_library()
    female = {p.id for p in library.for_actor("person", "female")}
    male = {p.id for p in library.for_actor("person", "male")}
    assert "formal-dress" in female and "formal-dress" not in male
    assert "beard-closeup" in male and "beard-closeup" not in female
    assert "closeup-neutral" in female & male
    assert {p.id for p in library.for_actor("robot", None)} == {"creature-closeup"}


def test_rendered_prompt_names_the_subject() -> None:
    prompt = builtin_library().get("smiling")
    assert "This woman" in prompt.render("person", "female")
    assert "This person" in prompt.render("person", None)


def test_user_files_extend_and_override(tmp_path: Path) -> None:
    extra = tmp_path / "mine.json"
    extra.write_text(
        json.dumps(
            {
                "version": 2,
                "prompts": [
                    {"id": "smiling", "text": "This {subject} grinning", "actor_types": ["person"]},
                    {"id": "astronaut", "text": "This {subject} as an astronaut"},
                ],
            }
        )
    )
    library = load_library([extra])
    assert library.version == 2
    assert library.get("smiling").text == "This {subject} grinning"
    assert library.get("astronaut").matches("person", "male")


def test_malformed_library_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"version": 1, "prompts": [{"id": "x"}]}))
    with pytest.raises(ValidationError, match="malformed"):
        load_library([bad])
