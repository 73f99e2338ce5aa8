"""Probes of the route meta-test: what another user sends, and the routes' id fields.

Used by tests/integration/auth/test_route_access.py (see there for the rules); the few
helpers other tests share (``png``, ``safetensors``, ``without_links``) live here too.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from PIL import Image

# Routes whose authorization is a signature in the link, not the caller: anyone holding
# the link may open it, logged in or not (see SECURITY.md). Without one: 403.
SIGNED = {("GET", "/files/{key:path}"), ("GET", "/api/mv/character_reference_file/{image_id}")}
# The generic enqueue route: its ``payload`` names rows for every kind, so besides its
# route probe each registered kind has a probe of its own (``kind_probes``).
GENERIC_ENQUEUE = ("POST", "/api/jobs")
# Answers other than 404 that still keep Alice's data out of Bob's reach.
EXPECTED = {
    GENERIC_ENQUEUE: 403,  # feature kinds are for admins here
    ("POST", "/api/actors"): 201,  # Bob's own actor: a non-admin's owner_id is ignored
    ("POST", "/api/video-jobs"): 409,  # the id is taken (a known limit, see SECURITY.md)
}
# Kinds whose payload names no owned row: their probes may complete. The fields listed
# are ids they carry for information only (a delivery names its message and the job it
# reports on).
NAMES_NOTHING: dict[str, set[str]] = {
    "diagnostic.sleep": set(),
    "diagnostic.remote": set(),
    "webhook.deliver": {"job_id", "msg_id"},
}
ID_NAME = re.compile(r"(^|_)ids?$")


def routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """Every (method, path) the app serves, routers included."""

    def walk(items: list[Any]) -> Iterator[Any]:
        for route in items:
            contexts = getattr(route, "effective_route_contexts", None)
            if contexts is not None:
                yield from contexts()
            else:
                yield route

    for route in walk(list(app.routes)):
        for method in sorted(set(getattr(route, "methods", None) or ()) - {"HEAD"}):
            yield method, str(getattr(route, "path", ""))


def body_ids(app: FastAPI) -> dict[tuple[str, str], list[str]]:
    """Routes whose documented request body has id fields, with those fields' paths.

    Read from the OpenAPI document (what clients are told), nested objects and arrays
    included, so a route added later with an id in its body is found by itself.
    """
    document = app.openapi()
    schemas = document.get("components", {}).get("schemas", {})

    def resolve(schema: Any) -> Any:
        while isinstance(schema, dict) and "$ref" in schema:
            schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    def id_fields(schema: Any, prefix: str, depth: int = 0) -> Iterator[str]:
        schema = resolve(schema)
        if not isinstance(schema, dict) or depth > 8:
            return
        for key in ("anyOf", "oneOf", "allOf"):
            for option in schema.get(key, []):
                yield from id_fields(option, prefix, depth + 1)
        if "items" in schema:
            yield from id_fields(schema["items"], f"{prefix}[]", depth + 1)
        for name, field in schema.get("properties", {}).items():
            if ID_NAME.search(name):
                yield f"{prefix}{name}"
            yield from id_fields(field, f"{prefix}{name}.", depth + 1)

    found: dict[tuple[str, str], list[str]] = {}
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            content = (operation.get("requestBody") or {}).get("content", {})
            fields = sorted(
                {f for media in content.values() for f in id_fields(media.get("schema"), "")}
            )
            if fields:
                found[(method.upper(), path)] = fields
    return found


def openapi_path(path: str) -> str:
    """A route's path as the OpenAPI document writes it (``{path:path}`` -> ``{path}``)."""
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", path)


@dataclass
class World:
    """Alice's things, one of each kind, and their ids."""

    actor: int
    poster_job: int
    version: int
    item: int
    task: str
    image: str
    video: str
    lora: int
    result: int = 1
    """A persona of Alice's task."""
    asset: int = 1
    """The asset of Alice's actor's base image."""
    alice: int = 1
    """Alice's user id."""


def safetensors() -> bytes:
    """A minimal valid ``.safetensors`` file: one float32 tensor."""
    header = json.dumps(
        {"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "__metadata__": {}}
    ).encode()
    return len(header).to_bytes(8, "little") + header + b"\x00\x00\x80\x3f"


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (96, 128), (200, 120, 90)).save(out, format="PNG")
    return out.getvalue()


def probes(w: World) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """For each route: the concrete path Bob sends, and its body."""
    a, j, t, i, v = w.actor, w.poster_job, w.task, w.image, w.video
    none: dict[str, Any] = {}
    return {
        ("GET", "/api/actors/{actor_id}"): (f"/api/actors/{a}", none),
        ("PATCH", "/api/actors/{actor_id}"): (f"/api/actors/{a}", {"json": {"age": 99}}),
        ("DELETE", "/api/actors/{actor_id}"): (f"/api/actors/{a}", none),
        ("POST", "/api/actors/{actor_id}/restore"): (f"/api/actors/{a}/restore", none),
        ("PUT", "/api/actors/{actor_id}/base-image"): (
            f"/api/actors/{a}/base-image",
            {"files": {"file": ("b.png", png(), "image/png")}},
        ),
        ("POST", "/api/actors/{actor_id}/base-image/from-url"): (
            f"/api/actors/{a}/base-image/from-url",
            {"json": {"url": "https://example.org/a.png"}},
        ),
        ("POST", "/api/actors/{actor_id}/base-image/generate"): (
            f"/api/actors/{a}/base-image/generate",
            {"json": {}},
        ),
        ("GET", "/api/actors/{actor_id}/manifest"): (f"/api/actors/{a}/manifest", none),
        # Alice's base image: Bob may not see (nor make) its thumbnail.
        ("GET", "/api/assets/{asset_id}/thumb"): (f"/api/assets/{w.asset}/thumb", none),
        ("POST", "/api/actors/{actor_id}/regenerate-poster-frame"): (
            f"/api/actors/{a}/regenerate-poster-frame",
            none,
        ),
        ("GET", "/api/actors/{actor_id}/poster-frames"): (f"/api/actors/{a}/poster-frames", none),
        ("GET", "/api/actors/{actor_id}/poster-defaults"): (
            f"/api/actors/{a}/poster-defaults",
            none,
        ),
        ("PUT", "/api/actors/{actor_id}/poster-defaults"): (
            f"/api/actors/{a}/poster-defaults",
            {"json": {"steps": 9, "seed": 1}},
        ),
        ("POST", "/api/actors/{actor_id}/poster-frames/{version}/make-current"): (
            f"/api/actors/{a}/poster-frames/{w.version}/make-current",
            none,
        ),
        ("GET", "/api/jobs/{job_id}"): (f"/api/jobs/{j}", none),
        ("POST", "/api/jobs/{job_id}/cancel"): (f"/api/jobs/{j}/cancel", none),
        ("POST", "/api/jobs/{job_id}/retry"): (f"/api/jobs/{j}/retry", none),
        ("GET", "/api/jobs/{job_id}/events"): (f"/api/jobs/{j}/events", none),
        ("GET", "/api/persona-tasks/{task_id}"): (f"/api/persona-tasks/{t}", none),
        ("POST", "/api/persona-tasks/{task_id}/retry-failed"): (
            f"/api/persona-tasks/{t}/retry-failed",
            none,
        ),
        ("POST", "/api/actors/{actor_id}/training-data/generate-all-prompts"): (
            f"/api/actors/{a}/training-data/generate-all-prompts",
            {"json": {}},
        ),
        ("POST", "/api/actors/{actor_id}/training-data/generate-single"): (
            f"/api/actors/{a}/training-data/generate-single?wait=0",
            {"json": {"prompt": "x"}},
        ),
        ("GET", "/api/actors/{actor_id}/training-data"): (f"/api/actors/{a}/training-data", none),
        ("DELETE", "/api/actors/{actor_id}/training-data/{item_id}"): (
            f"/api/actors/{a}/training-data/{w.item}",
            none,
        ),
        ("POST", "/api/actors/{actor_id}/training-data/{item_id}/restore"): (
            f"/api/actors/{a}/training-data/{w.item}/restore",
            none,
        ),
        ("GET", "/api/actors/{actor_id}/training-data/export.zip"): (
            f"/api/actors/{a}/training-data/export.zip",
            none,
        ),
        ("GET", "/api/mv/get_character_reference/{image_id}"): (
            f"/api/mv/get_character_reference/{i}?redirect=true",
            none,
        ),
        ("POST", "/api/video-jobs/{job_id}/character-references"): (
            f"/api/video-jobs/{v}/character-references",
            {"json": {"image_ids": [i]}},
        ),
        ("GET", "/api/video-jobs/{job_id}/character-references"): (
            f"/api/video-jobs/{v}/character-references",
            none,
        ),
        ("PUT", "/api/video-jobs/{job_id}/assets/{path:path}"): (
            f"/api/video-jobs/{v}/assets/evil.txt",
            {"files": {"file": ("evil.txt", b"x", "text/plain")}},
        ),
        ("GET", "/api/video-jobs/{job_id}/assets"): (f"/api/video-jobs/{v}/assets", none),
        ("GET", "/api/video-jobs/{job_id}/assets.zip"): (f"/api/video-jobs/{v}/assets.zip", none),
        ("GET", "/actors/{actor_id}"): (f"/actors/{a}", none),
        ("GET", "/personas/{task_id}"): (f"/personas/{t}", none),
        ("POST", "/api/poster-frames/regenerate"): (
            "/api/poster-frames/regenerate",
            {"json": {"actor_ids": [a]}},
        ),
        ("GET", "/api/actors/{actor_id}/lora-trainings"): (f"/api/actors/{a}/lora-trainings", none),
        ("POST", "/api/actors/{actor_id}/lora-trainings"): (
            f"/api/actors/{a}/lora-trainings",
            {"json": {}},
        ),
        ("POST", "/api/actors/{actor_id}/lora"): (
            f"/api/actors/{a}/lora",
            {"files": {"file": ("b.safetensors", safetensors(), "application/octet-stream")}},
        ),
        ("GET", "/api/actors/{actor_id}/training-data/export"): (
            f"/api/actors/{a}/training-data/export",
            none,
        ),
        ("GET", "/api/lora-trainings/{training_id}"): (f"/api/lora-trainings/{w.lora}", none),
        ("POST", "/api/lora-trainings/{training_id}/cancel"): (
            f"/api/lora-trainings/{w.lora}/cancel",
            none,
        ),
        ("POST", "/api/lora-trainings/{training_id}/make-current"): (
            f"/api/lora-trainings/{w.lora}/make-current",
            none,
        ),
        ("GET", "/api/lora-trainings/{training_id}/weights"): (
            f"/api/lora-trainings/{w.lora}/weights",
            none,
        ),
        ("GET", "/api/lora-trainings/{training_id}/test-grid"): (
            f"/api/lora-trainings/{w.lora}/test-grid",
            none,
        ),
        ("POST", "/api/lora-trainings/{training_id}/strength"): (
            f"/api/lora-trainings/{w.lora}/strength",
            {"json": {"strength": 0.8}},
        ),
        ("GET", "/api/actors/{actor_id}/training-data/report"): (
            f"/api/actors/{a}/training-data/report",
            none,
        ),
        ("POST", "/api/actors/{actor_id}/training-data/check"): (
            f"/api/actors/{a}/training-data/check",
            {"json": {}},
        ),
        ("POST", "/api/actors/{actor_id}/training-data/upload"): (
            f"/api/actors/{a}/training-data/upload",
            {"files": {"files": ("c.png", png(), "image/png")}},
        ),
        ("POST", "/api/persona-tasks/{task_id}/personas/{result_id}/regenerate"): (
            f"/api/persona-tasks/{t}/personas/1/regenerate",
            {"json": {}},
        ),
        # A feature kind through the generic route, naming Alice's actor: refused (403).
        ("POST", "/api/jobs"): (
            "/api/jobs",
            {"json": {"kind": "actor.base_image", "payload": {"actor_id": a}}},
        ),
        ("POST", "/api/mv/generate_character_reference"): (
            "/api/mv/generate_character_reference?wait=0",
            {"json": {"character_description": "x", "actor_id": a}},
        ),
        # Naming Alice as the owner of a new actor makes Bob's own actor, nothing of hers.
        ("POST", "/api/actors"): (
            "/api/actors",
            {"json": {"name": "Bobs_actor", "owner_id": w.alice}},
        ),
        # Alice's video job id is taken; Bob cannot start writing into it.
        ("POST", "/api/video-jobs"): ("/api/video-jobs", {"json": {"id": v}}),
    }


def more_probes(w: World) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Further probes of routes that already have one: (method, route, path, options)."""
    return [
        # Bob attaches Alice's reference to his own video job (made in the test).
        (
            "POST",
            "/api/video-jobs/{job_id}/character-references",
            "/api/video-jobs/bob-clip/character-references",
            {"json": {"image_ids": [w.image]}},
        ),
    ]


def kind_probes(w: World) -> dict[str, dict[str, Any]]:
    """For each registered job kind: a payload naming Alice's rows, for a job Bob owns."""
    a = w.actor
    return {
        "actor.base_image": {"actor_id": a},
        "training.generate_one": {"actor_id": a, "prompt": "in the rain"},
        "training.generate_all": {"actor_id": a},
        "curation.check": {"actor_id": a, "triage": True},
        "poster.generate": {"actor_id": a, "overrides": {}},
        "poster.regenerate_batch": {"actor_ids": [a]},
        "lora.train": {"training_id": w.lora, "actor_id": a},
        "lora.test_grid": {"training_id": w.lora},
        "persona.task": {"task_id": w.task},
        "persona.base": {"task_id": w.task, "result_id": w.result},
        "persona.grid": {"task_id": w.task, "result_id": w.result},
        "reference.generate": {"character_description": "x", "actor_id": a},
        "diagnostic.sleep": {},
        "diagnostic.remote": {},
        # Loopback is refused by the address guard without dialling it.
        "webhook.deliver": {
            "url": "http://127.0.0.1:9/hook",
            "msg_id": "msg_probe",
            "job_id": w.poster_job,
            "body": {"data": {"id": w.poster_job}},
        },
    }


def without_links(value: Any) -> Any:
    # Signed links carry a fresh expiry on every read; what they point at is compared.
    if isinstance(value, dict):
        # Curation checks fill in on their own (Alice's own background job): not compared.
        return {k: without_links(v) for k, v in value.items() if "url" not in k and k != "checks"}
    if isinstance(value, list):
        return [without_links(v) for v in value]
    if isinstance(value, str) and "sig=" in value:
        return value.split("?", 1)[0]
    return value
