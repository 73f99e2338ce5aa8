"""Secrets are masked as whole tokens of at least eight characters, nothing else."""

from __future__ import annotations

from castsmith.domain.redaction import redact


def test_a_secret_is_masked_wherever_it_stands_as_a_token() -> None:
    key = "rp_live_4f9a2c"
    text = f"POST /run?key={key}&x=1 failed; Authorization: Bearer {key}. ({key})"
    assert redact(text, [key]) == ("POST /run?key=***&x=1 failed; Authorization: Bearer ***. (***)")


def test_a_short_key_never_masks_other_words() -> None:
    # A key "test" must not turn a job id test-1234 into ***-1234.
    assert redact("runpod job test-1234 failed: test", ["test"]) == (
        "runpod job test-1234 failed: test"
    )


def test_a_secret_inside_a_longer_word_is_left_alone() -> None:
    key = "abcdefgh"
    assert redact(f"x{key} {key}_suffix {key}-2 {key}", [key]) == (
        f"x{key} {key}_suffix {key}-2 ***"
    )


def test_the_longer_of_two_overlapping_secrets_is_masked_whole() -> None:
    assert redact("token supersecret99 end", ["supersecret", "supersecret99"]) == ("token *** end")
    assert redact("no secrets here", []) == "no secrets here"
    assert redact("empty", ["", "short"]) == "empty"
