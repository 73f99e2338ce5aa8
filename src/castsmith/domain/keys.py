"""Object key layouts and the name checks that keep every key inside its prefix.

Every object castsmith stores lives under a key made from a template and a few names
(actor names, user ids, job ids, file names). Names come from users and remote
services, so each one is checked before it is put into a key: a name that is empty,
too long, contains ``/`` or ``\\``, ``..``, or control characters is refused with
:class:`~castsmith.domain.errors.InvalidName`, so no key can climb out of its prefix
on the local disk or in a bucket.

The defaults follow the layouts the older scripts used. Poster frames are versioned
(``.../poster_frame/v3/...``) so a new poster never overwrites an old one; the
unversioned ``poster_frame_current`` layout is the one imported manifests refer to.
Layouts are configurable with a dict of template strings, e.g.
``KeyLayout({"base_image": "bases/{actor_name}.jpg"})``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Literal

from castsmith.domain.errors import ConfigurationError, InvalidName

PosterSize = Literal["sm", "md", "lg"]
POSTER_SIZES: tuple[PosterSize, ...] = ("sm", "md", "lg")

MAX_NAME_LENGTH = 128
MAX_KEY_BYTES = 1024  # the S3 limit for a key, in UTF-8 bytes
PERSONA_IMAGE_COUNT = 4

DEFAULT_TEMPLATES: dict[str, str] = {
    "poster_frame": "actors/{actor_name}/poster_frame/v{version}/{actor_name}_poster_{size}.webp",
    "poster_frame_current": "actors/{actor_name}/poster_frame/{actor_name}_poster_{size}.webp",
    "character_poster_frame": (
        "characters/{user_id}/{actor_id}/poster_frames/v{version}/{actor_id}_poster_{size}.webp"
    ),
    "base_image": "system_actors/base_images/{actor_name}_base.jpg",
    "training_image": "system_actors/training_data/{actor_name}/{actor_name}_{n}.jpg",
    "persona_base": "avatars/task_{task_id}/persona_{result_id}/base.png",
    "persona_image": "avatars/task_{task_id}/persona_{result_id}/image_{i}.png",
    "character_reference": "character_references/{image_id}.{ext}",
    "job_character_reference": (
        "videos/{job_id}/intermediate/character_reference/{image_id}.{ext}"
    ),
    "lora_weights": "models/{actor_name}/{actor_name}_v{version}.safetensors",
    "lora_dataset": "models/{actor_name}/datasets/{actor_name}_v{version}_dataset.zip",
    "lora_test_image": "models/{actor_name}/test_grid/v{version}/{actor_name}_{n}.png",
}

# Sample values used to check a configured template once, when the layout is built.
_SAMPLES: dict[str, object] = {
    "actor_name": "0001_sample",
    "actor_id": "a1",
    "user_id": "u1",
    "version": 1,
    "size": "md",
    "n": 1,
    "task_id": "1",
    "result_id": "1",
    "i": 0,
    "image_id": "img1",
    "ext": "png",
    "job_id": "j1",
}

_EXT = re.compile(r"^[a-z0-9]{1,10}\Z")


def _is_control(char: str) -> bool:
    return unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp"}


def validate_segment(value: object, field: str, *, max_length: int = MAX_NAME_LENGTH) -> str:
    """Return ``value`` if it is safe as one path segment, else raise ``InvalidName``.

    Refused: non-strings, empty names, names over ``max_length`` characters, ``/`` and
    ``\\``, any ``..``, a lone ``.``, control/format characters and names with leading
    or trailing whitespace (invisible in listings and easy to confuse).
    """
    if not isinstance(value, str):
        raise InvalidName(f"{field} must be text, got {type(value).__name__}", field)
    if not value:
        raise InvalidName(f"{field} must not be empty", field)
    if len(value) > max_length:
        raise InvalidName(
            f"{field} is too long ({len(value)} characters; at most {max_length})", field
        )
    if "/" in value or "\\" in value:
        raise InvalidName(f"{field} must not contain '/' or '\\': {value!r}", field)
    if ".." in value or value == ".":
        raise InvalidName(f"{field} must not contain '..' or be '.': {value!r}", field)
    # ``isprintable`` is False for every control, format and line/paragraph separator
    # character, so a printable name skips the per-character Unicode lookup: a page of
    # 200 signed image URLs validates about 1,000 segments.
    if not value.isprintable() and any(_is_control(char) for char in value):
        raise InvalidName(f"{field} must not contain control characters: {value!r}", field)
    if value != value.strip():
        raise InvalidName(f"{field} must not start or end with whitespace: {value!r}", field)
    return value


def validate_name(value: object, field: str) -> str:
    """Check a name (actor name, id, file name) that becomes one segment of a key."""
    return validate_segment(value, field)


def validate_key(key: object, field: str = "key") -> str:
    """Check a whole key: every ``/``-separated segment must pass :func:`validate_segment`."""
    if not isinstance(key, str) or not key:
        raise InvalidName(f"{field} must be a non-empty text key", field)
    if len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise InvalidName(f"{field} is longer than {MAX_KEY_BYTES} bytes", field)
    for segment in key.split("/"):
        if not segment:
            raise InvalidName(
                f"{field} has an empty segment ('//' or a leading/trailing '/'): {key!r}", field
            )
        validate_segment(segment, field, max_length=255)
    return key


def validate_prefix(prefix: str, field: str = "prefix") -> str:
    """Check a listing prefix; ``""`` means everything. A trailing ``/`` is dropped."""
    cleaned = prefix.rstrip("/")
    return validate_key(cleaned, field) if cleaned else ""


def validate_extension(value: str, field: str = "ext") -> str:
    """A file extension: 1-10 lowercase letters or digits, without the dot."""
    if not isinstance(value, str) or not _EXT.match(value):
        raise InvalidName(f"{field} must be 1-10 lowercase letters or digits: {value!r}", field)
    return value


def _non_negative(value: int, field: str, *, minimum: int = 0, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidName(f"{field} must be a whole number >= {minimum}, got {value!r}", field)
    if maximum is not None and value > maximum:
        raise InvalidName(f"{field} must be at most {maximum}, got {value!r}", field)
    return value


def _size(value: str) -> PosterSize:
    if value not in POSTER_SIZES:
        raise InvalidName(f"size must be one of {', '.join(POSTER_SIZES)}, got {value!r}", "size")
    return value


class KeyLayout:
    """Builds object keys from templates; unknown template names are refused."""

    def __init__(self, templates: Mapping[str, str] | None = None) -> None:
        merged = dict(DEFAULT_TEMPLATES)
        for name, template in (templates or {}).items():
            if name not in DEFAULT_TEMPLATES:
                known = ", ".join(sorted(DEFAULT_TEMPLATES))
                raise ConfigurationError(f"unknown key layout {name!r}; known layouts: {known}")
            merged[name] = template
        for name, template in merged.items():
            self._check_template(name, template)
        self.templates: Mapping[str, str] = merged

    @staticmethod
    def _check_template(name: str, template: str) -> None:
        try:
            sample = template.format(**_SAMPLES)
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigurationError(
                f"key layout {name!r} = {template!r} uses an unknown placeholder: {exc}"
            ) from None
        try:
            validate_key(sample, f"key layout {name}")
        except InvalidName as exc:
            raise ConfigurationError(f"key layout {name!r} = {template!r}: {exc}") from None

    def _render(self, name: str, **values: object) -> str:
        return validate_key(self.templates[name].format(**values))

    def poster_frame(self, actor_name: str, version: int, size: PosterSize) -> str:
        """A versioned system-actor poster frame (WebP)."""
        return self._render(
            "poster_frame",
            actor_name=validate_name(actor_name, "actor_name"),
            version=_non_negative(version, "version", minimum=1),
            size=_size(size),
        )

    def poster_frame_current(self, actor_name: str, size: PosterSize) -> str:
        """The unversioned poster frame key that imported manifests point at."""
        return self._render(
            "poster_frame_current",
            actor_name=validate_name(actor_name, "actor_name"),
            size=_size(size),
        )

    def character_poster_frame(
        self, user_id: str, actor_id: str, version: int, size: PosterSize
    ) -> str:
        """A versioned poster frame of a user's own character."""
        return self._render(
            "character_poster_frame",
            user_id=validate_name(user_id, "user_id"),
            actor_id=validate_name(actor_id, "actor_id"),
            version=_non_negative(version, "version", minimum=1),
            size=_size(size),
        )

    def base_image(self, actor_name: str) -> str:
        """A system actor's base image (JPEG)."""
        return self._render("base_image", actor_name=validate_name(actor_name, "actor_name"))

    def training_image(self, actor_name: str, n: int) -> str:
        """Training image number ``n`` of a system actor's LoRA dataset (JPEG)."""
        return self._render(
            "training_image",
            actor_name=validate_name(actor_name, "actor_name"),
            n=_non_negative(n, "n"),
        )

    def persona_base(self, task_id: str | int, result_id: str | int) -> str:
        """The base selfie of one persona of a persona task (PNG)."""
        return self._render(
            "persona_base",
            task_id=validate_name(str(task_id), "task_id"),
            result_id=validate_name(str(result_id), "result_id"),
        )

    def persona_image(self, task_id: str | int, result_id: str | int, i: int) -> str:
        """Image ``i`` (0-3) split from a persona's 2x2 grid (PNG)."""
        return self._render(
            "persona_image",
            task_id=validate_name(str(task_id), "task_id"),
            result_id=validate_name(str(result_id), "result_id"),
            i=_non_negative(i, "i", maximum=PERSONA_IMAGE_COUNT - 1),
        )

    def character_reference(self, image_id: str, ext: str) -> str:
        """A character reference image not yet tied to a video job."""
        return self._render(
            "character_reference",
            image_id=validate_name(image_id, "image_id"),
            ext=validate_extension(ext),
        )

    def job_character_reference(self, job_id: str, image_id: str, ext: str) -> str:
        """A character reference image kept with the video job that used it."""
        return self._render(
            "job_character_reference",
            job_id=validate_name(job_id, "job_id"),
            image_id=validate_name(image_id, "image_id"),
            ext=validate_extension(ext),
        )

    def lora_weights(self, actor_name: str, version: int) -> str:
        """Version ``version`` of an actor's trained or imported LoRA (safetensors)."""
        return self._render(
            "lora_weights",
            actor_name=validate_name(actor_name, "actor_name"),
            version=_non_negative(version, "version", minimum=1),
        )

    def lora_dataset(self, actor_name: str, version: int) -> str:
        """The dataset zip a LoRA version was trained on."""
        return self._render(
            "lora_dataset",
            actor_name=validate_name(actor_name, "actor_name"),
            version=_non_negative(version, "version", minimum=1),
        )

    def lora_test_image(self, actor_name: str, version: int, n: int) -> str:
        """Cell ``n`` of a LoRA version's test grid (PNG)."""
        return self._render(
            "lora_test_image",
            actor_name=validate_name(actor_name, "actor_name"),
            version=_non_negative(version, "version", minimum=1),
            n=_non_negative(n, "n"),
        )


DEFAULT_LAYOUT = KeyLayout()
"""The built-in templates. Flows never use it: they take ``services.keys``, the layout
built from ``CASTSMITH_KEY_LAYOUTS``, so a configured layout reaches every key."""
