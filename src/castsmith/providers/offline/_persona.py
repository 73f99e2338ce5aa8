"""Persona data for the offline text provider: Faker fills whatever schema is asked.

Field names are matched loosely (``first_name``, ``firstname``, ``givenName`` ...) to
one coherent person: name, age, gender, location, occupation, a bio from curated
templates and an image prompt describing them. Arrays of objects become several
people. The locale follows ``variables["locale"]`` or a nationality in the prompt.
"""

from __future__ import annotations

import random
import re
from typing import Any

from faker import Faker

from castsmith.providers._support import schema_dict
from castsmith.providers.base import TextRequest

LOCALES = {
    "american": "en_US",
    "british": "en_GB",
    "english": "en_GB",
    "irish": "en_IE",
    "australian": "en_AU",
    "canadian": "en_CA",
    "french": "fr_FR",
    "german": "de_DE",
    "spanish": "es_ES",
    "mexican": "es_MX",
    "italian": "it_IT",
    "portuguese": "pt_PT",
    "brazilian": "pt_BR",
    "dutch": "nl_NL",
    "swedish": "sv_SE",
    "norwegian": "no_NO",
    "danish": "da_DK",
    "finnish": "fi_FI",
    "polish": "pl_PL",
    "czech": "cs_CZ",
    "russian": "ru_RU",
    "ukrainian": "uk_UA",
    "greek": "el_GR",
    "turkish": "tr_TR",
    "japanese": "ja_JP",
    "chinese": "zh_CN",
    "korean": "ko_KR",
    "indian": "en_IN",
    "israeli": "he_IL",
    "european": "en_GB",
}
HOBBIES = (
    "trail running",
    "film photography",
    "sourdough baking",
    "bouldering",
    "jazz piano",
    "urban sketching",
    "birdwatching",
    "salsa dancing",
    "chess",
    "vintage cycling",
    "pottery",
    "open-water swimming",
    "gardening",
    "board games",
    "vinyl collecting",
)
BIOS = (
    "{first} is a {age}-year-old {job_l} from {city} who spends weekends on {hobby}.",
    "Born and raised in {city}, {first} works as {a_job} and never misses a chance at {hobby}.",
    "{first} {last} has been {a_job} for years; off the clock it's all about {hobby}.",
    "{a_job_c} with a soft spot for {hobby}, {first} calls {city} home.",
    "{first} moved to {city} for work as {a_job} and stayed for the {hobby} scene.",
    "Friends know {first} as the {job_l} who turns every trip into {a_hobby} adventure.",
    "{age}, {city}-based {job_l}. {pronoun_c} unwinds with {hobby} and good coffee.",
    "{first} splits {pronoun_p} time between being {a_job} and {hobby} around {city}.",
)
SHOTS = (
    "a candid smartphone selfie",
    "a natural-light portrait photo",
    "a casual selfie outdoors",
    "a close-up portrait with soft window light",
)


def _norm(key: str) -> str:
    return re.sub(r"[^a-z]", "", key.lower())


def _locale(request: TextRequest) -> str:
    wanted = request.variables.get("locale")
    if isinstance(wanted, str) and wanted:
        return wanted
    for word in re.findall(r"[a-z]+", request.prompt.lower()):
        if word in LOCALES:
            return LOCALES[word]
    return "en_US"


def _gender(request: TextRequest, rng: random.Random) -> str:
    wanted = str(request.variables.get("gender") or "").lower()
    text = f" {request.prompt.lower()} "
    if wanted in ("female", "male"):
        return wanted
    if re.search(r"\b(female|woman|women)\b", text) and not re.search(r"\b(male|man|men)\b", text):
        return "female"
    if re.search(r"\b(male|man|men)\b", text) and not re.search(r"\b(female|woman|women)\b", text):
        return "male"
    return rng.choice(("female", "male"))


# Nouns keep their capital in these languages ("ein Friseur", never "friseur").
CAPITALISED_NOUNS = ("de",)
VOWELS = "aeiouàáâäæéèêëíìîïóòôöœúùûü"


def job_noun(job: str, locale: str) -> str:
    """The job as it reads inside a sentence: lower case, except German nouns."""
    if locale.split("_")[0].lower() in CAPITALISED_NOUNS:
        return job
    return job[:1].lower() + job[1:]


def with_article(noun: str) -> str:
    """``a`` or ``an`` before ``noun`` by its first letter ("an ingénieur")."""
    return ("an " if noun[:1].lower() in VOWELS else "a ") + noun


def make_person(fake: Faker, request: TextRequest, rng: random.Random) -> dict[str, Any]:
    """One coherent person."""
    gender = _gender(request, rng)
    first = fake.first_name_female() if gender == "female" else fake.first_name_male()
    last = fake.last_name()
    age = int(request.variables.get("age") or rng.randint(19, 64))
    city, country = fake.city(), fake.current_country()
    job = fake.job()
    job_l = job_noun(job, str(fake.locales[0]) if fake.locales else "en_US")
    hobby = rng.choice(HOBBIES)
    pronoun = ("she", "her") if gender == "female" else ("he", "his")
    bio = rng.choice(BIOS).format(
        first=first,
        last=last,
        age=age,
        job_l=job_l,
        a_job=with_article(job_l),
        a_job_c="A" + with_article(job_l)[1:],
        a_hobby=with_article(hobby),
        city=city,
        hobby=hobby,
        pronoun_c=pronoun[0].capitalize(),
        pronoun_p=pronoun[1],
    )
    hair = rng.choice(("black", "brown", "auburn", "blonde", "dark brown", "red"))
    if age > 58:
        hair = "grey"
    look = rng.choice(("short", "long", "wavy", "curly")) + f" {hair} hair"
    prompt = (
        f"{rng.choice(SHOTS)} of a {age}-year-old {'woman' if gender == 'female' else 'man'} "
        f"from {country}, {look}, working as {with_article(job_l)}, relaxed expression, "
        "photorealistic, no text"
    )
    return {
        "first_name": first,
        "last_name": last,
        "full_name": f"{first} {last}",
        "age": age,
        "gender": gender,
        "city": city,
        "country": country,
        "location": f"{city}, {country}",
        "occupation": job,
        "bio": bio,
        "image_prompt": prompt,
        "hobbies": [hobby],
        "email": f"{_norm(first)}.{_norm(last)}@{fake.free_email_domain()}",
        "phone": fake.phone_number(),
        "birthdate": str(fake.date_of_birth(None, age, age)),
    }


ALIASES = {
    "firstname": "first_name",
    "givenname": "first_name",
    "lastname": "last_name",
    "surname": "last_name",
    "familyname": "last_name",
    "name": "full_name",
    "fullname": "full_name",
    "age": "age",
    "gender": "gender",
    "sex": "gender",
    "city": "city",
    "country": "country",
    "nationality": "country",
    "location": "location",
    "hometown": "location",
    "occupation": "occupation",
    "job": "occupation",
    "jobtitle": "occupation",
    "profession": "occupation",
    "bio": "bio",
    "biography": "bio",
    "about": "bio",
    "description": "bio",
    "imageprompt": "image_prompt",
    "prompt": "image_prompt",
    "selfieprompt": "image_prompt",
    "baseimageprompt": "image_prompt",
    "hobbies": "hobbies",
    "interests": "hobbies",
    "email": "email",
    "phone": "phone",
    "birthdate": "birthdate",
    "dateofbirth": "birthdate",
    "dob": "birthdate",
}


class _Filler:
    def __init__(self, request: TextRequest, seed: int) -> None:
        self.request = request
        self.rng = random.Random(seed)
        self.fake = Faker(_locale(request))
        self.fake.seed_instance(seed)
        self.root = schema_dict(request.schema)
        self.person = make_person(self.fake, request, self.rng)

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            node: Any = self.root
            for part in ref[2:].split("/"):
                node = node.get(part, {}) if isinstance(node, dict) else {}
            return self._resolve(node) if isinstance(node, dict) else {}
        for key in ("anyOf", "oneOf", "allOf"):
            options = [o for o in schema.get(key) or [] if o.get("type") != "null"]
            if options:
                return self._resolve(options[0])
        return schema

    def value(self, schema: dict[str, Any], key: str = "") -> Any:
        schema = self._resolve(schema)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "string")
        if "enum" in schema:
            choices = schema["enum"]
            wanted = self.person.get(ALIASES.get(_norm(key), ""), None)
            return wanted if wanted in choices else self.rng.choice(choices)
        if kind == "object" or "properties" in schema:
            props = schema.get("properties") or {}
            if not props:
                return dict(self.person)
            return {name: self.value(sub, name) for name, sub in props.items()}
        if kind == "array":
            return self._array(schema, key)
        known = self.person.get(ALIASES.get(_norm(key), ""))
        if kind in ("integer", "number"):
            if isinstance(known, int):
                return known
            low, high = int(schema.get("minimum", 1)), int(schema.get("maximum", 100))
            number = self.rng.randint(low, max(low, high))
            return number if kind == "integer" else float(number)
        if kind == "boolean":
            return self.rng.random() < 0.5
        if known is not None and not isinstance(known, list):
            return str(known)
        if schema.get("format") == "email":
            return str(self.person["email"])
        return str(self.fake.sentence(nb_words=8))

    def _array(self, schema: dict[str, Any], key: str) -> list[Any]:
        items = self._resolve(schema.get("items") or {"type": "string"})
        is_people = items.get("type") == "object" or "properties" in items
        wanted = self.request.variables.get("count") if is_people else None
        count = int(wanted or schema.get("minItems") or (3 if is_people else 2))
        count = min(count, int(schema.get("maxItems", count)))
        if not is_people and ALIASES.get(_norm(key)) == "hobbies":
            return self.rng.sample(HOBBIES, k=min(count, len(HOBBIES)))
        result = []
        for _ in range(count):
            if is_people:
                self.person = make_person(self.fake, self.request, self.rng)
            result.append(self.value(items, key))
        return result


def persona_json(request: TextRequest, seed: int) -> Any:
    """JSON shaped by the request's schema, filled with one or more coherent people."""
    filler = _Filler(request, seed)
    return filler.value(filler.root)
