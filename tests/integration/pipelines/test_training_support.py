"""Training data test helpers on top of :mod:`tests.harness` (no tests of its own).

``training_services`` yields the real container for some settings and can run an
in-process worker for its lifetime.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from PIL import Image
from pydantic import SecretStr

from castsmith.bootstrap import Container
from castsmith.config import Settings
from castsmith.db.models import Actor
from castsmith.pipelines.actors import set_base_image
from tests.fakes import FakeReplicate
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
    settings: Settings, *, worker: bool = False, concurrency: int = 8, **worker_options: Any
) -> AsyncIterator[Container]:
    """The real container for ``settings``; optionally with a running in-process worker.

    ``worker_options`` go to the worker (``retry_policy``...).
    """
    options = {"shutdown_grace": 2.0, **worker_options}
    async with running_app(settings, worker=worker, concurrency=concurrency, **options) as env:
        yield env.container


def on_replicate(settings: Settings, replicate: FakeReplicate, **update: Any) -> Settings:
    """``settings`` making images on the fake Replicate server; ``update`` adds more."""
    return settings.model_copy(
        update={
            "replicate_api_token": SecretStr(replicate.token),
            "replicate_base_url": replicate.url,
            "image_provider": "replicate",
            **update,
        }
    )


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
