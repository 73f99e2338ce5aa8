"""Training data test helpers on top of :mod:`tests.harness` (no tests of its own).

``training_services`` yields the real container for some settings and can run an
in-process worker for its lifetime.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from PIL import Image

from castsmith.bootstrap import Container
from castsmith.config import Settings
from castsmith.db.models import Actor
from castsmith.pipelines.actors import set_base_image
from tests.harness import running_app

SEED_ENTRY_FIELDS = (
    "filename",
    "s3_url",
    "md5_hash",
    "size_bytes",
    "size_mb",
    "modified_timestamp",
    "modified_date",
    "status",
)


def png_bytes(color: tuple[int, int, int] = (200, 120, 40), size: int = 64) -> bytes:
    """A small solid PNG, used as a base image."""
    out = io.BytesIO()
    Image.new("RGB", (size, size), color).save(out, format="PNG")
    return out.getvalue()


@asynccontextmanager
async def training_services(
    settings: Settings, *, worker: bool = False, concurrency: int = 8
) -> AsyncIterator[Container]:
    """The real container for ``settings``; optionally with a running in-process worker."""
    async with running_app(
        settings, worker=worker, concurrency=concurrency, shutdown_grace=2.0
    ) as env:
        yield env.container


def add_actor(
    container: Container,
    name: str = "0012_european_30_male",
    sex: str = "male",
    trigger: str | None = "zx12man",
) -> int:
    """Insert an actor row and return its id."""
    with container.sessions.begin() as session:
        actor = Actor(name=name, actor_type="person", sex=sex, lora_trigger_word=trigger)
        session.add(actor)
        session.flush()
        return actor.id


async def actor_with_base(container: Container, name: str = "0012_european_30_male") -> int:
    """An actor with a small base image."""
    actor_id = add_actor(container, name)
    await set_base_image(container, actor_id, png_bytes())  # type: ignore[arg-type]
    return actor_id
