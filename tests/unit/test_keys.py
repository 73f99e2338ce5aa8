"""Object key layouts and the name checks that keep keys inside their prefixes."""

from __future__ import annotations

import pytest

from castsmith.domain import keys
from castsmith.domain.errors import ConfigurationError, InvalidName
from castsmith.domain.keys import DEFAULT_LAYOUT as DEFAULT


def test_default_layouts_match_the_seed_paths() -> None:
    name = "0001_european_20_female"
    assert DEFAULT.poster_frame(name, 3, "sm") == (
        f"actors/{name}/poster_frame/v3/{name}_poster_sm.webp"
    )
    assert DEFAULT.poster_frame_current(name, "lg") == (
        f"actors/{name}/poster_frame/{name}_poster_lg.webp"
    )
    assert DEFAULT.character_poster_frame("user-7", "42", 1, "md") == (
        "characters/user-7/42/poster_frames/v1/42_poster_md.webp"
    )
    assert DEFAULT.base_image(name) == f"system_actors/base_images/{name}_base.jpg"
    assert DEFAULT.training_image("0012_european_30_male", 14) == (
        "system_actors/training_data/0012_european_30_male/0012_european_30_male_14.jpg"
    )
    assert DEFAULT.persona_base(123, 456) == "avatars/task_123/persona_456/base.png"
    assert [DEFAULT.persona_image(123, 456, i) for i in range(4)] == [
        f"avatars/task_123/persona_456/image_{i}.png" for i in range(4)
    ]
    assert DEFAULT.character_reference("abc-123", "png") == "character_references/abc-123.png"
    assert DEFAULT.job_character_reference("job9", "abc-123", "jpg") == (
        "videos/job9/intermediate/character_reference/abc-123.jpg"
    )


def test_versions_never_share_a_key() -> None:
    name = "0002_asian_30_male"
    assert DEFAULT.poster_frame(name, 1, "md") != DEFAULT.poster_frame(name, 2, "md")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "empty"),
        ("..", "'..'"),
        ("a..b", "'..'"),
        (".", "'..'"),
        ("a/b", "'/'"),
        ("a\\b", "'/'"),
        ("a\x00b", "control"),
        ("a\nb", "control"),
        ("a\x7fb", "control"),
        ("a\u202eb", "control"),
        (" padded", "whitespace"),
        ("x" * 129, "too long"),
    ],
)
def test_bad_names_are_refused_with_field_and_reason(value: str, reason: str) -> None:
    with pytest.raises(InvalidName) as caught:
        DEFAULT.poster_frame(value, 1, "sm")
    assert caught.value.field == "actor_name"
    assert "actor_name" in str(caught.value)
    assert reason in str(caught.value)


@pytest.mark.parametrize("key", ["../x", "a/../../b", "a/./b", "/abs", "a//b", "a/b/", "a\x01b"])
def test_bad_keys_are_refused(key: str) -> None:
    with pytest.raises(InvalidName):
        keys.validate_key(key)


def test_good_names_pass() -> None:
    for name in ["0001_european_20_female", "user@example.com", "abc-DEF_1.2", "Zoë"]:
        assert keys.validate_name(name, "actor_name") == name


def test_numbers_and_sizes_are_checked() -> None:
    with pytest.raises(InvalidName, match="version"):
        DEFAULT.poster_frame("a", 0, "sm")
    with pytest.raises(InvalidName, match="size"):
        DEFAULT.poster_frame("a", 1, "xl")  # type: ignore[arg-type]
    with pytest.raises(InvalidName, match="i must be at most 3"):
        DEFAULT.persona_image(1, 2, 4)
    with pytest.raises(InvalidName, match="ext"):
        DEFAULT.character_reference("a", "../png")
    with pytest.raises(InvalidName, match="task_id"):
        DEFAULT.persona_base("../1", 2)


def test_templates_are_configurable() -> None:
    layout = keys.KeyLayout({"base_image": "bases/{actor_name}.jpg"})
    assert layout.base_image("0001_x") == "bases/0001_x.jpg"
    assert layout.training_image("0001_x", 2) == "system_actors/training_data/0001_x/0001_x_2.jpg"


@pytest.mark.parametrize(
    ("templates", "message"),
    [
        ({"nope": "x/{actor_name}"}, "unknown key layout"),
        ({"base_image": "x/{who}.jpg"}, "unknown placeholder"),
        ({"base_image": "../{actor_name}.jpg"}, "'..'"),
        ({"base_image": "/{actor_name}.jpg"}, "empty segment"),
    ],
)
def test_bad_templates_are_refused(templates: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        keys.KeyLayout(templates)
