"""Persona bios read as sentences: "an ingénieur", German job nouns keep their capital."""

from __future__ import annotations

import random
import re

import pytest
from faker import Faker

from castsmith.providers.base import TextRequest
from castsmith.providers.offline._persona import VOWELS, job_noun, make_person, with_article


def people(locale: str, count: int = 60) -> list[dict[str, object]]:
    fake = Faker(locale)
    fake.seed_instance(5)
    rng = random.Random(5)
    request = TextRequest(prompt="a persona", variables={"locale": locale})
    return [make_person(fake, request, rng) for _ in range(count)]


def test_articles_follow_the_first_letter() -> None:
    assert with_article("ingénieur") == "an ingénieur"
    assert with_article("engineer") == "an engineer"
    assert with_article("Friseur") == "a Friseur"
    assert with_article("Arzt") == "an Arzt"


def test_german_nouns_keep_their_capital_and_others_do_not() -> None:
    assert job_noun("Pfleger", "de_DE") == "Pfleger"
    assert job_noun("Building services engineer", "en_GB") == "building services engineer"


@pytest.mark.parametrize("locale", ["fr_FR", "en_US", "de_DE", "it_IT"])
def test_no_a_before_a_vowel_in_bios_and_prompts(locale: str) -> None:
    # The articles castsmith writes, before the job: not every "a" in a text (an Italian
    # town is called "Badia A Elmi").
    for person in people(locale):
        job = job_noun(str(person["occupation"]), locale)
        wanted = "an" if job[:1].lower() in VOWELS else "a"
        for text in (str(person["bio"]), str(person["image_prompt"])):
            articles = re.findall(rf"\b(an?) {re.escape(job)}", text, re.I)
            assert [a.lower() for a in articles] == [wanted] * len(articles), text
        # The prompt always names the job with its article ("working as an ...").
        assert f"working as {wanted} {job}" in str(person["image_prompt"])


def test_german_bios_name_the_job_with_its_capital() -> None:
    for person in people("de_DE"):
        job = str(person["occupation"])
        assert job[0].isupper()
        bio = str(person["bio"])
        assert job in bio or job.lower() not in bio, bio
