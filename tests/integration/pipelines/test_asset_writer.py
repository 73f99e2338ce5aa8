"""Every flow that saves files keeps the asset writer's guarantees, on both databases.

For each flow (base image, training image, poster version, LoRA weights from a file,
LoRA dataset from a stream, a video job's upload, references attached to a video job):

- an object already at the flow's key is never overwritten;
- concurrent saves give as many distinct entries (rows and objects) as there were saves;
- a database failure while recording leaves no row and no object behind.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import event, func, select
from sqlalchemy.exc import OperationalError

from castsmith.bootstrap import Container
from castsmith.config import Settings
from castsmith.db.models import Asset, AssetRendition, CharacterReference, TrainingDataItem
from castsmith.domain.errors import Conflict
from castsmith.imaging.inspect import inspect_image
from castsmith.imaging.renditions import make_renditions, to_jpeg
from castsmith.pipelines._assets import AssetProvenance
from castsmith.pipelines._writer import store_asset
from castsmith.pipelines.actors import set_base_image
from castsmith.pipelines.lora.files import store_chunks, store_path
from castsmith.pipelines.posters.store import ActorRef, save_poster_version
from castsmith.pipelines.references.video import attach_to_video_job, persist_asset
from castsmith.pipelines.training.generate import generate_training_image
from castsmith.pipelines.training.images import TrainingRequest
from tests.integration.pipelines.test_training_support import (
    actor_with_base,
    add_actor,
    training_services,
)

NAME = "0012_european_30_male"
CONCURRENT = 10


@dataclass
class Flow:
    """One way castsmith saves files: ``save(container, i)`` returns the keys it stored."""

    name: str
    first_key: Callable[[Container], str]
    setup: Callable[[Container], Awaitable[None]]
    save: Callable[[Container, int], Awaitable[list[str]]]


def _png(i: int, size: int = 96) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), (i * 20 % 255, 90, 160)).save(out, format="PNG")
    return out.getvalue()


# --- the flows ----------------------------------------------------------------------------


async def _with_actor(container: Container) -> None:
    add_actor(container)


async def _with_actor_and_base(container: Container) -> None:
    await actor_with_base(container)


async def _base_image(container: Container, i: int) -> list[str]:
    data = _png(i)
    await set_base_image(container, 1, data)
    # Each i has its own colour, so the stored JPEG's digest tells which row is this one.
    md5 = hashlib.md5(to_jpeg(data), usedforsecurity=False).hexdigest()
    with container.sessions() as session:
        return list(
            session.scalars(
                select(Asset.storage_key).where(Asset.kind == "base_image", Asset.md5 == md5)
            )
        )


async def _training_image(container: Container, i: int) -> list[str]:
    image = await generate_training_image(container, TrainingRequest(1, f"prompt {i}"))
    return [image.key]


async def _poster(container: Container, i: int) -> list[str]:
    data = _png(i, 256)
    info = inspect_image(data)
    actor = ActorRef(1, NAME, None)
    renditions = asyncio.to_thread(make_renditions, data, {"sm": 64, "md": 128, "lg": 256})
    keys = await save_poster_version(
        container,
        container.keys,
        actor,
        data,
        info,
        renditions,
        provenance=AssetProvenance(provider="offline"),
        params={"i": i},
    )
    return keys.all()


async def _lora_weights(container: Container, i: int) -> list[str]:
    path = Path(container.settings.data_dir) / f"weights-{i}-{uuid.uuid4().hex}.bin"
    path.write_bytes(b"weights %d " % i * 1000)
    stored = await store_path(
        container,
        container.keys.lora_weights(NAME, 1),
        path,
        kind="lora_weights",
        content_type="application/octet-stream",
        meta={"i": i},
    )
    return [stored.key]


async def _lora_dataset(container: Container, i: int) -> list[str]:
    async def chunks() -> AsyncIterator[bytes]:
        for part in range(3):
            yield b"zip %d part %d " % (i, part) * 500

    stored = await store_chunks(
        container,
        container.keys.lora_dataset(NAME, 1),
        chunks(),
        kind="lora_dataset",
        content_type="application/zip",
        meta={"i": i},
    )
    return [stored.key]


async def _video_upload(container: Container, i: int) -> list[str]:
    stored = await persist_asset(container, "vj-writer", f"shots/{i}.png", _png(i), "image/png")
    return [stored.key]


async def _with_references(container: Container) -> None:
    for i in range(CONCURRENT + 1):
        ref_id = f"ref-{i}"

        def add_row(session: Any, asset_id: int, ref_id: str = ref_id) -> None:
            session.add(CharacterReference(id=ref_id, description=ref_id, asset_id=asset_id))

        await store_asset(
            container,
            container.keys.character_reference(ref_id, "png"),
            _png(i),
            kind="character_reference",
            with_row=add_row,
        )


async def _attach(container: Container, i: int) -> list[str]:
    await attach_to_video_job(container, f"vj-{i}", [f"ref-{i}"])
    with container.sessions() as session:
        rows = session.execute(
            select(Asset.storage_key)
            .join(CharacterReference, CharacterReference.asset_id == Asset.id)
            .where(CharacterReference.video_job_id == f"vj-{i}")
        ).all()
    return [row.storage_key for row in rows]


FLOWS = [
    Flow(
        "base_image",
        lambda c: c.keys.base_image(NAME),
        _with_actor,
        _base_image,
    ),
    Flow(
        "training_image",
        lambda c: c.keys.training_image(NAME, 1),
        _with_actor_and_base,
        _training_image,
    ),
    Flow(
        "poster",
        lambda c: c.keys.poster_frame(NAME, 1, "lg").replace("_lg.webp", "_source.png"),
        _with_actor,
        _poster,
    ),
    Flow("lora_weights", lambda c: c.keys.lora_weights(NAME, 1), _with_actor, _lora_weights),
    Flow("lora_dataset", lambda c: c.keys.lora_dataset(NAME, 1), _with_actor, _lora_dataset),
    Flow("video_upload", lambda c: "videos/vj-writer/shots/0.png", _with_actor, _video_upload),
    Flow(
        "video_attach",
        lambda c: c.keys.job_character_reference("vj-0", "ref-0", "png"),
        _with_references,
        _attach,
    ),
]


# --- what the tests look at ---------------------------------------------------------------


async def _objects(container: Container) -> dict[str, str]:
    found: dict[str, str] = {}
    async for meta in container.store.list(""):
        if meta.key.startswith(".") or "/thumbs/" in meta.key or meta.key.startswith("thumbs/"):
            continue
        found[meta.key] = hashlib.md5(
            await container.store.get(meta.key), usedforsecurity=False
        ).hexdigest()
    return found


def _rows(container: Container) -> tuple[int, int, int, int]:
    with container.sessions() as session:
        return (
            session.scalar(select(func.count()).select_from(Asset)) or 0,
            session.scalar(select(func.count()).select_from(AssetRendition)) or 0,
            session.scalar(select(func.count()).select_from(TrainingDataItem)) or 0,
            session.scalar(select(func.count()).select_from(CharacterReference)) or 0,
        )


@contextmanager
def _recording_fails(container: Container) -> Iterator[None]:
    """The database refuses the writer's recording transaction (it makes rows visible)."""
    engine = container.sessions.kw["bind"]

    def refuse(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sql = statement.lstrip().upper()
        if sql.startswith("UPDATE ASSETS SET") and "DELETED_AT" in sql:
            raise OperationalError(statement, {}, Exception("the database went away"))

    event.listen(engine, "before_cursor_execute", refuse)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", refuse)


@pytest.fixture
async def flow_container(
    request: pytest.FixtureRequest, database_url: str, local_settings: Settings
) -> AsyncIterator[tuple[Flow, Container]]:
    flow: Flow = request.param
    settings = local_settings.model_copy(update={"database_url": database_url})
    async with training_services(settings) as container:
        await flow.setup(container)
        yield flow, container


pytestmark = pytest.mark.parametrize(
    "flow_container", FLOWS, ids=[flow.name for flow in FLOWS], indirect=True
)


async def test_an_object_already_at_the_key_is_never_overwritten(
    flow_container: tuple[Flow, Container],
) -> None:
    flow, container = flow_container
    key = flow.first_key(container)
    await container.store.put(key, b"someone else's file", content_type="image/png")
    if flow.name == "video_upload":
        with pytest.raises(Conflict):
            await flow.save(container, 0)
    else:
        stored = await flow.save(container, 0)
        assert key not in stored and stored
    assert await container.store.get(key) == b"someone else's file"


async def test_concurrent_saves_give_distinct_entries(
    flow_container: tuple[Flow, Container],
) -> None:
    flow, container = flow_container
    before = await _objects(container)
    results = await asyncio.gather(
        *(flow.save(container, i) for i in range(CONCURRENT)), return_exceptions=True
    )
    saved = [keys for keys in results if isinstance(keys, list)]
    assert len(saved) == CONCURRENT, [r for r in results if not isinstance(r, list)]
    keys = [key for keys in saved for key in keys]
    assert len(set(keys)) == len(keys), "two saves were given the same key"
    objects = await _objects(container)
    with container.sessions() as session:
        recorded = {
            row.storage_key: row.md5
            for row in session.execute(
                select(Asset.storage_key, Asset.md5).where(Asset.storage_key.in_(keys))
            )
        }
    for key in keys:
        assert key in objects and key not in before, key
    # Every file's row names the bytes that are really there.
    for key, md5 in recorded.items():
        assert objects[key] == md5, key
    assert len(recorded) == CONCURRENT


async def test_a_failure_while_recording_leaves_no_row_and_no_object(
    flow_container: tuple[Flow, Container],
) -> None:
    flow, container = flow_container
    rows, objects = _rows(container), await _objects(container)
    with _recording_fails(container), pytest.raises(OperationalError):
        await flow.save(container, 0)
    assert _rows(container) == rows
    assert await _objects(container) == objects
    # And the flow works again once the database does.
    assert await flow.save(container, 1)
