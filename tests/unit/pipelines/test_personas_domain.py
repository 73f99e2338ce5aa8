"""Persona task rules: request checks, persona data checks, status flow and roll-up."""

from __future__ import annotations

import itertools

import pytest

from castsmith.domain import personas as rules
from castsmith.domain.errors import Conflict, ValidationError

GOOD = {
    "firstname": "Ada",
    "lastname": "Lovelace",
    "age": 36,
    "gender": "female",
    "location": "London, UK",
    "occupation": "Mathematician",
    "bio": "I write notes on engines.",
}


@pytest.mark.parametrize(
    ("count", "locale", "constraints", "field"),
    [
        (0, "en_US", None, "count"),
        (101, "en_US", None, "count"),
        ("3", "en_US", None, "count"),
        (True, "en_US", None, "count"),
        (3, "english", None, "locale"),
        (3, "xx_YY", None, "locale"),
        (3, "en_US", {"gender": "robot"}, "constraints.gender"),
        (3, "en_US", {"age_min": 10}, "constraints.age_min"),
        (3, "en_US", {"age_min": 50, "age_max": 30}, "constraints.age_min"),
        (3, "en_US", {"shoe_size": 42}, "constraints.shoe_size"),
        (3, "en_US", ["gender"], "constraints"),
    ],
)
def test_bad_requests_name_the_field(
    count: object, locale: object, constraints: object, field: str
) -> None:
    with pytest.raises(ValidationError) as info:
        rules.validate_request(count, locale, constraints, {"en_US", "de_DE"})
    assert info.value.field == field
    assert field.split(".")[-1] in str(info.value)


def test_good_request_is_normalized() -> None:
    request = rules.validate_request(
        100, "de_DE", {"gender": "F", "age_min": 20, "age_max": 30, "occupation": "nurse"}, None
    )
    assert request.count == 100
    assert request.locale == "de_DE"
    assert request.constraints == {
        "gender": "female",
        "age_min": 20,
        "age_max": 30,
        "occupation": "nurse",
    }


def test_persona_accepts_common_spellings() -> None:
    persona = rules.validate_persona(
        {**GOOD, "firstname": None, "first_name": "Ada", "age": "36", "gender": "Woman"}
    )
    assert persona.firstname == "Ada"
    assert persona.age == 36
    assert persona.gender == "female"
    assert persona.name == "Ada Lovelace"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lastname": ""}, "lastname"),
        ({"age": 7}, "age"),
        ({"age": "old"}, "age"),
        ({"bio": None}, "bio"),
        ({"gender": "x"}, "gender"),
    ],
)
def test_bad_persona_names_the_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        rules.validate_persona({**GOOD, **change})
    assert info.value.field == field


def test_persona_may_carry_its_selfie_prompt() -> None:
    assert rules.validate_persona(GOOD).image_prompt is None
    with_prompt = rules.validate_persona({**GOOD, "imagePrompt": " a selfie in the rain "})
    assert with_prompt.image_prompt == "a selfie in the rain"
    assert "image_prompt" in rules.PERSONA_ITEM_SCHEMA["required"]


def test_persona_must_match_constraints() -> None:
    with pytest.raises(ValidationError, match="age 36"):
        rules.validate_persona(GOOD, {"age_min": 40})
    with pytest.raises(ValidationError, match="gender"):
        rules.validate_persona(GOOD, {"gender": "male"})


def test_reply_shapes() -> None:
    assert rules.personas_from_reply({"personas": [GOOD]}) == [GOOD]
    assert rules.personas_from_reply([GOOD, GOOD]) == [GOOD, GOOD]
    assert rules.personas_from_reply(GOOD) == [GOOD]
    assert rules.personas_from_reply("nonsense") == []
    assert rules.image_prompt_from_reply({"image_prompt": " a selfie "}) == "a selfie"
    with pytest.raises(ValidationError):
        rules.image_prompt_from_reply({"something": 1})


def test_status_flow() -> None:
    path = [
        rules.PENDING,
        rules.GENERATING_DATA,
        rules.DATA_GENERATED,
        rules.GENERATING_IMAGES,
        rules.COMPLETED,
    ]
    for current, new in itertools.pairwise(path):
        assert rules.check_transition(current, new) == new
    assert rules.can_transition(rules.COMPLETED_WITH_ERRORS, rules.GENERATING_IMAGES)
    assert rules.can_transition(rules.FAILED, rules.GENERATING_IMAGES)
    with pytest.raises(Conflict):
        rules.check_transition(rules.COMPLETED, rules.GENERATING_IMAGES)
    with pytest.raises(Conflict):
        rules.check_transition(rules.PENDING, rules.COMPLETED)


def test_final_status_follows_the_seed() -> None:
    done, failed = rules.RESULT_COMPLETED, rules.RESULT_FAILED
    assert rules.final_status([done, done, done]) == rules.COMPLETED
    assert rules.final_status([done, failed, done]) == rules.COMPLETED_WITH_ERRORS
    assert rules.final_status([failed, failed]) == rules.FAILED
    assert rules.final_status([]) == rules.FAILED


def test_error_entry_and_batches_and_steps() -> None:
    assert rules.error_entry("Ada", "Lovelace", 7, "boom") == {
        "persona": "Ada Lovelace",
        "result_id": 7,
        "error": "boom",
    }
    assert rules.batch_sizes(12, 5) == [5, 5, 2]
    assert rules.batch_sizes(3, 0) == [1, 1, 1]
    assert (
        rules.step_message(3, "Ada Lovelace") == "[Ada Lovelace] Step 3/7: Uploading base image..."
    )
    assert rules.step_percent(1) == 0.0


def test_prompts_carry_the_constraints() -> None:
    prompt = rules.persona_data_prompt(
        2, "de_DE", {"gender": "male", "age_min": 30, "occupation": "baker"}
    )
    assert "de_DE" in prompt
    assert "gender: male" in prompt
    assert "age between 30 and 100" in prompt
    assert "occupation: baker" in prompt
    persona = rules.validate_persona(GOOD)
    assert "Ada Lovelace" in rules.image_prompt_request(persona)
    assert "2x2 grid" in rules.grid_prompt("a woman")
