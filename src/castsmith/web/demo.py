"""``POST /api/demo-cast``: a small cast to explore an empty library with.

Creates four actors with descriptions and queues, for each, a generated base image and
a poster frame on the default providers (placeholder art when offline). Actors that
already exist by name are left as they are.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, status
from pydantic import BaseModel

from castsmith.auth.scope import container_of
from castsmith.domain.errors import Conflict
from castsmith.pipelines import actors as actor_use
from castsmith.pipelines import posters
from castsmith.pipelines.posters.params import PosterOverrides

router = APIRouter(tags=["demo"])

DEMO_CAST: tuple[dict[str, Any], ...] = (
    {
        "name": "0001_european_20_female",
        "description": "a young European woman with long brown hair and a warm smile",
        "actor_type": "person",
        "sex": "female",
        "age": 20,
        "ethnicity": "european",
    },
    {
        "name": "0002_african_35_male",
        "description": "a confident African man in his thirties with a short beard",
        "actor_type": "person",
        "sex": "male",
        "age": 35,
        "ethnicity": "african",
    },
    {
        "name": "0003_asian_28_female",
        "description": "an East Asian woman with a sleek black bob and round glasses",
        "actor_type": "person",
        "sex": "female",
        "age": 28,
        "ethnicity": "asian",
    },
    {
        "name": "0004_latino_60_male",
        "description": "a silver-haired Latino man in his sixties with laugh lines",
        "actor_type": "person",
        "sex": "male",
        "age": 60,
        "ethnicity": "latino",
    },
)


class DemoCast(BaseModel):
    """The actors created and the jobs queued for them."""

    created: list[dict[str, Any]]
    skipped: list[str]
    job_ids: list[int]


@router.post("/api/demo-cast", status_code=status.HTTP_202_ACCEPTED, response_model=DemoCast)
async def create_demo_cast(request: Request) -> dict[str, Any]:
    """Create the demo actors and queue their base images and posters."""
    services = container_of(request)
    created: list[dict[str, Any]] = []
    skipped: list[str] = []
    job_ids: list[int] = []
    for fields in DEMO_CAST:
        try:
            actor = await actor_use.create_actor(services, dict(fields))
        except Conflict:
            skipped.append(str(fields["name"]))
            continue
        created.append({"id": actor["id"], "name": actor["name"]})
        base = await actor_use.enqueue_base_image(services, actor["id"])
        job_ids.append(int(base["job_id"]))
        poster = await posters.request_poster(services, actor["id"], PosterOverrides())
        job_ids.append(poster.id)
    return {"created": created, "skipped": skipped, "job_ids": job_ids}
