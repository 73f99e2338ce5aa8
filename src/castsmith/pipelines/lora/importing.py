"""Importing a LoRA trained anywhere: an uploaded ``.safetensors`` or a URL.

A URL goes through the download guard (public addresses or allowed hosts, size cap,
deadline) straight to a temporary file. The file is checked as safetensors before any
row is written; it then becomes the actor's next version, current, like a trained one.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import httpx

from castsmith.db.models import utcnow
from castsmith.db.repositories.lora import LoraRepository
from castsmith.domain.errors import ValidationError
from castsmith.domain.lora import SOURCE_IMPORTED, STORING, check_trigger_word
from castsmith.net.guard import GuardPolicy, allow_list
from castsmith.net.stream import guarded_save
from castsmith.pipelines._services import Services
from castsmith.pipelines.lora.records import load_actor
from castsmith.pipelines.lora.weights import check_file, store_weights

IMPORT_PROVIDER = "import"


async def download(services: Services, url: str, dest: Path) -> None:
    """Fetch ``url`` into ``dest`` under the download guard; refusals name ``url``."""
    settings = services.settings
    policy = GuardPolicy(
        max_bytes=settings.lora_max_weights_bytes,
        timeout=max(settings.fetch_timeout, 600.0),
        allow_hosts=allow_list(settings.fetch_allow_hosts),
    )
    async with httpx.AsyncClient(follow_redirects=False, trust_env=False) as client:
        try:
            status, _ = await guarded_save(client, url, dest, policy, field="url")
        except httpx.HTTPError as exc:
            reason = str(exc) or type(exc).__name__
            raise ValidationError(f"url: could not download {url}: {reason}", "url") from None
    if status >= 400:
        raise ValidationError(f"url: the server answered HTTP {status}", "url")


async def import_file(
    services: Services,
    actor_id: int,
    path: Path,
    *,
    trigger_word: str | None = None,
    strength: float | None = None,
    source: dict[str, Any] | None = None,
) -> int:
    """Make the checked file at ``path`` the actor's next, current version; its id."""
    actor = await asyncio.to_thread(load_actor, services, actor_id)
    trigger = check_trigger_word(trigger_word or actor.lora_trigger_word)
    await asyncio.to_thread(check_file, path, services.settings.lora_max_weights_bytes)
    value = actor.lora_strength_model if strength is None else float(strength)
    if not -20 <= value <= 20:
        raise ValidationError("strength must be between -20 and 20", "strength")

    def create() -> tuple[int, int]:
        with services.sessions.begin() as session:
            row = LoraRepository(session, services.caller).create(
                actor_id,
                source=SOURCE_IMPORTED,
                provider=IMPORT_PROVIDER,
                status=STORING,
                trigger_word=trigger,
                params={"trigger_word": trigger},
                remote=source or {},
                strength=value,
                submitted_at=utcnow(),
            )
            return row.id, row.version

    training_id, version = await asyncio.to_thread(create)
    try:
        await store_weights(services, training_id, actor.name, version, path)
    except BaseException:
        await asyncio.to_thread(_drop, services, training_id)
        raise
    return training_id


def _drop(services: Services, training_id: int) -> None:
    with services.sessions.begin() as session:
        session.delete(LoraRepository(session, services.caller).get(training_id))


async def import_url(
    services: Services,
    actor_id: int,
    url: str,
    *,
    trigger_word: str | None = None,
    strength: float | None = None,
) -> int:
    """Download ``url`` through the guard, then :func:`import_file` it."""
    await asyncio.to_thread(load_actor, services, actor_id)
    with tempfile.TemporaryDirectory(prefix="castsmith-import-") as folder:
        dest = Path(folder) / "import.safetensors"
        await download(services, url, dest)
        return await import_file(
            services,
            actor_id,
            dest,
            trigger_word=trigger_word,
            strength=strength,
            source={"url": url.split("?", 1)[0]},
        )
