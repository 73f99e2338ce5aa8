"""Getting an actor's stored LoRA to the poster provider before it draws.

Per provider:

* ``comfyui``: copied into ``CASTSMITH_COMFYUI_LORA_DIR`` under a temporary name, then
  renamed, so ComfyUI never lists a half-written file;
* ``runpod`` (worker-comfyui): uploaded to the endpoint's network volume at
  ``models/loras/{file}`` through RunPod's S3-compatible API, or copied to
  ``CASTSMITH_LORA_S3_PREFIX`` in castsmith's store for a deployment that syncs it;
* ``replicate``: nothing to copy, the generator takes the weights URL;
* ``offline``: nothing to copy, the offline renderer only records the LoRA's name.

Where no route is configured the poster fails, saying which file to put where.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from castsmith.config import Settings
from castsmith.db.models_lora import LoraTraining
from castsmith.db.repositories.lora import LoraRepository
from castsmith.domain.errors import ConfigurationError, ValidationError
from castsmith.pipelines._services import Services
from castsmith.storage.base import ObjectStore
from castsmith.storage.s3 import S3Store
from castsmith.storage.urls import quote_key

VOLUME_FOLDER = "models/loras"


@dataclass(frozen=True)
class Delivered:
    """Where the LoRA now is for the provider: the name its loader uses, or a URL."""

    provider: str
    lora_name: str
    url: str | None = None
    place: str = ""


def current_version(services: Services, actor_id: int) -> LoraTraining | None:
    """The actor's current stored LoRA version, if it has one. Sync."""
    with services.sessions() as session:
        for row in LoraRepository(session, services.caller).for_actor(actor_id):
            if row.is_current and row.weights_key:
                session.expunge(row)
                return row
    return None


def volume_store(settings: Settings) -> S3Store | None:
    """The RunPod network volume as an S3 store, when it is configured."""
    if not (settings.runpod_volume_id and settings.runpod_volume_s3_endpoint):
        return None
    access = settings.runpod_volume_access_key
    secret = settings.runpod_volume_secret_key
    if access is None or secret is None:
        raise ConfigurationError(
            "the RunPod network volume needs CASTSMITH_RUNPOD_VOLUME_ACCESS_KEY and "
            "CASTSMITH_RUNPOD_VOLUME_SECRET_KEY"
        )
    endpoint = settings.runpod_volume_s3_endpoint
    return S3Store(
        bucket=settings.runpod_volume_id,
        region=settings.runpod_volume_region or "us-east-1",
        endpoint=endpoint,
        access_key=access.get_secret_value(),
        secret_key=secret.get_secret_value(),
        addressing="path",
        allow_http=endpoint.startswith("http://"),
    )


async def _copy_to_folder(store: ObjectStore, key: str, folder: Path, name: str) -> None:
    target = folder / name
    size = (await store.get_meta(key)).size
    if await asyncio.to_thread(lambda: target.exists() and target.stat().st_size == size):
        return
    tmp = folder / f".{name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        with tmp.open("wb") as out:
            async for chunk in store.get_stream(key):
                await asyncio.to_thread(out.write, chunk)
        await asyncio.to_thread(os.replace, tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


async def _copy_to_store(source: ObjectStore, key: str, target: ObjectStore, dest: str) -> None:
    size = (await source.get_meta(key)).size
    existing = await target.head(dest)
    if existing is not None and existing.size == size:
        return
    await target.put_stream(dest, source.get_stream(key), content_type="application/octet-stream")


def _missing_route(provider: str, key: str, name: str) -> ValidationError:
    if provider == "comfyui":
        where = f"ComfyUI's models/loras folder as {name} (or set CASTSMITH_COMFYUI_LORA_DIR)"
    else:
        where = (
            f"the RunPod endpoint's network volume at {VOLUME_FOLDER}/{name} (or set "
            "CASTSMITH_RUNPOD_VOLUME_ID with its S3 API keys, or CASTSMITH_LORA_S3_PREFIX)"
        )
    return ValidationError(
        f"the poster provider {provider} cannot load the LoRA yet: copy {key} from "
        f"castsmith's store to {where}",
        "lora",
    )


async def deliver(services: Services, provider: str, row: LoraTraining) -> Delivered:
    """Put the version's weights where ``provider`` loads LoRAs from; say where."""
    key = row.weights_key
    if not key:
        raise ValidationError(f"LoRA version {row.version} has no stored weights", "lora")
    name = key.rsplit("/", 1)[-1]
    settings = services.settings
    if provider == "comfyui":
        if not settings.comfyui_lora_dir:
            raise _missing_route(provider, key, name)
        folder = Path(settings.comfyui_lora_dir)
        if not await asyncio.to_thread(folder.is_dir):
            raise ConfigurationError(f"CASTSMITH_COMFYUI_LORA_DIR {folder} is not a folder")
        await _copy_to_folder(services.store, key, folder, name)
        return Delivered(provider, name, place=str(folder / name))
    if provider == "runpod":
        volume = volume_store(settings)
        if volume is not None:
            dest = f"{VOLUME_FOLDER}/{name}"
            await _copy_to_store(services.store, key, volume, dest)
            return Delivered(provider, name, place=f"{settings.runpod_volume_id}/{dest}")
        if settings.lora_s3_prefix:
            dest = f"{settings.lora_s3_prefix.strip('/')}/{name}"
            await _copy_to_store(services.store, key, services.store, dest)
            return Delivered(provider, name, place=dest)
        raise _missing_route(provider, key, name)
    if provider == "replicate":
        url = await services.urls.presigned_url(key) if services.urls.backend == "s3" else None
        url = url or services.urls.local_url(key)
        return Delivered(provider, name, url=url, place=quote_key(key))
    return Delivered(provider, name, place=key)


async def deliver_current(
    services: Services, actor_id: int, lora_name: str | None, provider: str
) -> Delivered | None:
    """Deliver the actor's current stored version when the poster is about to use it.

    ``None`` when the LoRA the poster names is not one castsmith stores (a name typed
    in by hand, a URL): that file is the user's to place.
    """
    if not lora_name:
        return None
    row = await asyncio.to_thread(current_version, services, actor_id)
    if row is None or not row.weights_key or not row.weights_key.endswith("/" + lora_name):
        return None
    return await deliver(services, provider, row)
