"""Read a character description into drawable traits for the offline renderer.

Words the description names win (hair colour, skin tone, age, sex, hair style,
accessories, background); everything else is derived from a hash of the description,
so the same description always gives the same character and different descriptions
give different ones.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

RGB = tuple[int, int, int]

HAIR_COLOURS: dict[str, RGB] = {
    "black": (28, 24, 26),
    "brown": (96, 58, 32),
    "brunette": (88, 52, 30),
    "chestnut": (120, 62, 30),
    "auburn": (140, 52, 28),
    "red": (178, 58, 30),
    "ginger": (196, 96, 40),
    "blonde": (232, 198, 112),
    "blond": (226, 192, 104),
    "golden": (220, 170, 70),
    "platinum": (236, 228, 206),
    "silver": (196, 198, 204),
    "grey": (150, 150, 154),
    "gray": (150, 150, 154),
    "white": (232, 232, 228),
    "pink": (236, 120, 170),
    "blue": (60, 110, 210),
    "green": (60, 160, 90),
    "purple": (130, 70, 180),
}
SKIN_TONES: dict[str, RGB] = {
    "pale": (246, 222, 206),
    "fair": (240, 208, 184),
    "light": (232, 196, 168),
    "european": (236, 200, 172),
    "caucasian": (236, 200, 172),
    "nordic": (244, 214, 194),
    "olive": (198, 156, 110),
    "mediterranean": (206, 162, 120),
    "latina": (196, 146, 104),
    "latino": (196, 146, 104),
    "hispanic": (196, 146, 104),
    "asian": (232, 190, 150),
    "tan": (190, 140, 96),
    "tanned": (190, 140, 96),
    "indian": (164, 112, 76),
    "brown": (150, 100, 66),
    "african": (110, 70, 46),
    "dark": (96, 62, 42),
    "black": (84, 54, 38),
    "ebony": (72, 46, 32),
}
SKIN_WORDS = re.compile(r"\b(\w+)[- ](?:skin|skinned|complexion)\b")
HAIR_WORDS = re.compile(r"\b((?:[a-z]+[- ]){1,3})hair(?:ed)?\b")
STYLES = ("long", "short", "curly", "bald", "ponytail", "bun", "bob", "afro", "braids")
ACCESSORIES = {
    "glasses": ("glasses", "spectacles", "eyeglasses"),
    "hat": ("hat", "cap", "beanie", "fedora"),
    "earrings": ("earring", "earrings"),
    "beard": ("beard", "bearded"),
    "moustache": ("moustache", "mustache"),
    "freckles": ("freckles", "freckled"),
}
BACKGROUNDS: dict[str, tuple[RGB, RGB]] = {
    "beach": ((120, 196, 230), (236, 210, 150)),
    "forest": ((40, 90, 50), (110, 150, 80)),
    "city": ((70, 80, 100), (150, 140, 150)),
    "studio": ((70, 70, 80), (120, 120, 132)),
    "office": ((110, 120, 130), (170, 160, 150)),
    "sunset": ((240, 130, 70), (120, 60, 120)),
    "night": ((20, 24, 60), (60, 50, 110)),
    "snow": ((170, 190, 210), (210, 215, 225)),
    "park": ((90, 150, 200), (90, 150, 70)),
}
FEMALE = {"female", "woman", "women", "girl", "lady", "she", "her", "mother", "actress"}
MALE = {"male", "man", "men", "boy", "guy", "he", "his", "father", "gentleman", "actor"}


@dataclass(frozen=True)
class Traits:
    """What the renderer draws for one character."""

    hair: RGB
    hair_style: str
    skin: RGB
    eyes: RGB
    clothes: RGB
    background: tuple[RGB, RGB]
    face_width: float  # head width relative to height
    jaw: float  # 0 pointed .. 1 square
    age: int
    sex: str
    accessories: frozenset[str]


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def _pick(value: int, options: tuple[str, ...] | list[str]) -> str:
    return options[value % len(options)]


def _colour(digest: bytes, offset: int, low: int = 40, high: int = 200) -> RGB:
    span = high - low
    return (
        low + digest[offset] % span,
        low + digest[offset + 1] % span,
        low + digest[offset + 2] % span,
    )


def _age(text: str, words: list[str], digest: bytes) -> int:
    match = re.search(r"\b(\d{1,2})\s*(?:-|\s)?(?:years?|yrs?|y/o|yo)\b", text)
    if match:
        return int(match.group(1))
    # Actor names look like 0001_european_20_female.
    for word in words:
        if word.isdigit() and 16 <= int(word) <= 99 and len(word) == 2:
            return int(word)
    if "elderly" in words or "old" in words:
        return 72
    if "teen" in words or "teenage" in words:
        return 17
    return 22 + digest[20] % 40


def parse_traits(description: str) -> Traits:
    """The traits of the character a description names."""
    text = description.lower()
    words = re.findall(r"[a-z]+|\d+", text)
    wordset = set(words)
    digest = _digest(" ".join(words))

    hair = None
    for match in HAIR_WORDS.finditer(text):
        for word in re.split(r"[- ]", match.group(1)):
            hair = HAIR_COLOURS.get(word, hair)
    if hair is None:
        hair = list(HAIR_COLOURS.values())[digest[0] % 10]  # natural colours first

    skin = None
    for match in SKIN_WORDS.finditer(text):
        skin = SKIN_TONES.get(match.group(1), skin)
    if skin is None:
        skin = next(
            (SKIN_TONES[w] for w in words if w in SKIN_TONES and w not in {"black", "brown"}), None
        )
    if skin is None:
        skin = list(SKIN_TONES.values())[digest[1] % len(SKIN_TONES)]

    sex = "neutral"
    if wordset & FEMALE:
        sex = "female"
    elif wordset & MALE:
        sex = "male"
    style = next((s for s in STYLES if s in wordset), None)
    if style is None:
        style = _pick(
            digest[2],
            ["long", "bob", "ponytail", "curly", "bun"]
            if sex == "female"
            else ["short", "short", "curly", "bald"]
            if sex == "male"
            else list(STYLES[:6]),
        )
    accessories = frozenset(name for name, names in ACCESSORIES.items() if wordset & set(names))
    age = _age(text, words, digest)
    if age >= 62 and not HAIR_WORDS.search(text):
        hair = HAIR_COLOURS["grey"]
    background = next((BACKGROUNDS[w] for w in words if w in BACKGROUNDS), None)
    if background is None:
        background = (_colour(digest, 3, 30, 170), _colour(digest, 6, 60, 200))
    return Traits(
        hair=hair,
        hair_style=style,
        skin=skin,
        eyes=_colour(digest, 9, 30, 150),
        clothes=_colour(digest, 12, 30, 220),
        background=background,
        face_width=0.70 + (digest[15] % 16) / 100,
        jaw=(digest[16] % 100) / 100,
        age=age,
        sex=sex,
        accessories=accessories,
    )
