"""The dataset a training uses: a snapshot of the actor's images and the zip made of it.

The snapshot lists each non-rejected image's key, file name, md5 and caption as they
are when the training starts, so the version keeps saying what it learned from even
after images are rejected or added. The zip (images plus same-name ``.txt`` captions)
is streamed into the store one image at a time and never held whole in memory.
"""

from __future__ import annotations

import asyncio
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from castsmith.db.repositories.training import TrainingRepository
from castsmith.pipelines._services import Services
from castsmith.pipelines.lora.files import StoredFile, store_chunks
from castsmith.pipelines.training.dataset import Sink
from castsmith.providers.trainers.base import DatasetZip


def caption(trigger_word: str, prompt: str | None) -> str:
    """A caption file's text: the trigger word first (kohya never adds it), then the prompt."""
    return f"{trigger_word}, {prompt}" if prompt else trigger_word


@dataclass(frozen=True)
class SnapshotItem:
    """One image of a snapshot."""

    key: str
    filename: str
    md5: str
    caption: str

    def as_dict(self) -> dict[str, Any]:
        """JSON form for the training row."""
        return {
            "key": self.key,
            "filename": self.filename,
            "md5": self.md5,
            "caption": self.caption,
        }


def snapshot(services: Services, actor_id: int, trigger_word: str) -> list[SnapshotItem]:
    """The actor's non-rejected images with md5 and caption. Sync."""
    with services.sessions() as session:
        rows = TrainingRepository(session).items(actor_id, include_rejected=False)
        return [
            SnapshotItem(
                asset.storage_key, item.filename, asset.md5, caption(trigger_word, item.prompt)
            )
            for item, asset in rows
        ]


async def zip_chunks(
    services: Services, items: list[SnapshotItem], folder: str = ""
) -> AsyncIterator[bytes]:
    """Zip bytes of the images (under ``folder``) and their captions, image by image."""
    sink = Sink()
    # JPEGs are compressed already; storing them keeps the zip fast to make.
    archive = zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED)
    for item in items:
        data = await services.store.get(item.key)
        stem = item.filename.rsplit(".", 1)[0]
        archive.writestr(f"{folder}{item.filename}", data)
        archive.writestr(f"{folder}{stem}.txt", item.caption.encode() + b"\n")
        del data
        chunk = sink.take()
        if chunk:
            yield chunk
    archive.close()
    yield sink.take()


async def build_zip(
    services: Services, actor_name: str, version: int, items: list[SnapshotItem]
) -> StoredFile:
    """Stream the snapshot's zip into the store under the version's dataset key."""
    return await store_chunks(
        services,
        services.keys.lora_dataset(actor_name, version),
        zip_chunks(services, items),
        kind="lora_dataset",
        content_type="application/zip",
        meta={"images": len(items), "actor_name": actor_name, "version": version},
    )


async def dataset_for_trainer(
    services: Services, key: str, size: int, md5: str, images: int
) -> DatasetZip:
    """The stored zip as a trainer sees it: presigned on S3, else read from the store."""
    url: str | None = None
    if services.store.backend == "s3":
        url = await services.urls.presigned_url(key, services.settings.lora_dataset_url_expiry)
    store = services.store

    def reopen() -> AsyncIterator[bytes]:
        return store.get_stream(key)

    return DatasetZip(key, size, md5, images, url, reopen, key.rsplit("/", 1)[-1])


async def snapshot_async(
    services: Services, actor_id: int, trigger_word: str
) -> list[SnapshotItem]:
    """:func:`snapshot` in a worker thread."""
    return await asyncio.to_thread(snapshot, services, actor_id, trigger_word)
