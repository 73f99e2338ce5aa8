"""The five images of one persona, in the seven steps the older worker logged.

1. image prompt (text provider) 2. base selfie (text-to-image) 3. upload the base
4. 2x2 grid from the base (image-to-image) 5. split and trim the grid 6. upload the four
7. record the five assets and finish the persona, in one transaction.

Objects are uploaded first and recorded last; when anything fails after an upload the
new objects are deleted again, so a failed or retried persona leaves nothing behind.
Keys follow ``avatars/task_{task_id}/persona_{result_id}/...`` and are never reused.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from castsmith.db.models import Asset, PersonaResult, PersonaTask
from castsmith.db.repositories.assets import AssetRepository
from castsmith.db.repositories.personas import PersonaRepository, writing
from castsmith.domain import personas as rules
from castsmith.domain.errors import CastsmithError, ImageError
from castsmith.domain.keys import persona_base_key, persona_image_key
from castsmith.imaging.grid import split_grid
from castsmith.imaging.inspect import ImageInfo, inspect_image
from castsmith.imaging.renditions import to_png
from castsmith.pipelines.assets import Services, free_key
from castsmith.providers.base import (
    ImageProvider,
    ImageToImage,
    InputImage,
    Provenance,
    TextProvider,
    TextRequest,
    TextToImage,
)

log = logging.getLogger("castsmith.pipelines.personas")

Progress = Callable[[float, str], Awaitable[None]]


@dataclass
class _Image:
    key: str
    data: bytes
    info: ImageInfo
    provenance: Provenance
    prompt: str


def failure_message(step: int, error: BaseException) -> str:
    """``Generating 4-image grid failed: <reason>`` for a persona's error."""
    what = rules.STEPS[step - 1] if 1 <= step <= len(rules.STEPS) else "Image generation"
    reason = str(error) or type(error).__name__
    return f"{what} failed: {reason}"


def _png(data: bytes, max_pixels: int) -> tuple[bytes, ImageInfo]:
    info = inspect_image(data, max_pixels=max_pixels)
    if info.content_type != "image/png":
        data = to_png(data)
        info = inspect_image(data, max_pixels=max_pixels)
    return data, info


def _asset(image: _Image, kind: str, parent_id: int | None, meta: dict[str, Any]) -> Asset:
    return Asset(
        storage_key=image.key,
        kind=kind,
        content_type=image.info.content_type,
        size_bytes=len(image.data),
        md5=image.info.md5,
        sha256=image.info.sha256,
        width=image.info.width,
        height=image.info.height,
        provider=image.provenance.provider,
        model=image.provenance.model,
        prompt=image.prompt,
        seed=image.provenance.seed,
        provider_job_id=image.provenance.provider_job_id,
        parent_asset_id=parent_id,
        meta={**meta, "placeholder": image.provenance.placeholder},
    )


class PersonaImages:
    """Runs the seven steps for one persona of one task."""

    def __init__(
        self,
        services: Services,
        images: ImageProvider,
        text: TextProvider,
        progress: Progress,
    ) -> None:
        self.services = services
        self.images = images
        self.text = text
        self.progress = progress
        self.uploaded: list[str] = []
        self.step = 0

    async def _step(self, step: int, task: PersonaTask, name: str) -> None:
        self.step = step
        message = rules.step_message(step, name)
        log.info("[Task %s] %s", task.task_id, message)
        await self.progress(rules.step_percent(step), message)

    async def run(self, task: PersonaTask, result: PersonaResult) -> list[int]:
        """Make, upload and record the five images; return their asset ids.

        ``self.step`` tells which step was running when an error escaped.
        """
        try:
            return await self._run(task, result)
        except BaseException:
            await self.discard()
            raise

    async def _run(self, task: PersonaTask, result: PersonaResult) -> list[int]:
        persona = rules.PersonaData(
            firstname=result.firstname,
            lastname=result.lastname,
            age=result.age or rules.MIN_AGE,
            gender=result.gender or "",
            location=result.location or "",
            occupation=result.occupation or "",
            bio=result.bio or "",
        )
        name = persona.name
        limit = self.services.settings.max_image_pixels
        log.info(
            "[Task %s] Processing images for persona: %s (result_id=%s)",
            task.task_id,
            name,
            result.id,
        )

        await self._step(1, task, name)
        prompt = await self._image_prompt(task, result, persona)

        await self._step(2, task, name)
        made = await self.images.text_to_image(TextToImage(prompt=prompt, width=1024, height=1024))
        base_data, base_info = await asyncio.to_thread(_png, made.images[0].data, limit)

        await self._step(3, task, name)
        keys = await self._free_keys(
            [
                persona_base_key(task.task_id, result.id),
                *(persona_image_key(task.task_id, result.id, i) for i in range(4)),
            ]
        )
        base_key = keys[0]
        await self._put(base_key, base_data)
        base = _Image(base_key, base_data, base_info, made.provenance, prompt)

        await self._step(4, task, name)
        grid_prompt = rules.grid_prompt(prompt)
        grid = await self.images.image_to_image(
            ImageToImage(
                prompt=grid_prompt,
                images=(InputImage(base_data, "base.png", "image/png"),),
                width=1024,
                height=1024,
                seed=made.provenance.seed,
                grid=True,
            )
        )

        await self._step(5, task, name)
        pieces = await asyncio.to_thread(split_grid, grid.images[0].data)
        if len(pieces) != 4:
            raise ImageError(f"the grid split into {len(pieces)} images instead of 4")

        await self._step(6, task, name)
        splits: list[_Image] = []
        for index, piece in enumerate(pieces):
            data, info = await asyncio.to_thread(_png, piece, limit)
            key = await free_key(self.services, persona_image_key(task.task_id, result.id, index))
            splits.append(_Image(key, data, info, grid.provenance, grid_prompt))
        await asyncio.gather(*(self._put(split.key, split.data) for split in splits))

        await self._step(7, task, name)
        meta = {"task_id": task.task_id, "result_id": result.id, "persona": name}
        return await asyncio.to_thread(self._record, task.task_id, result.id, base, splits, meta)

    async def _free_keys(self, keys: list[str]) -> list[str]:
        """The wanted keys where free (one query, concurrent HEADs), else the next free."""

        def taken_in_db() -> set[str]:
            with self.services.sessions() as session:
                return AssetRepository(session).keys_taken(keys)

        in_db = await asyncio.to_thread(taken_in_db)
        in_store = await asyncio.gather(*(self.services.store.exists(key) for key in keys))
        return [
            await free_key(self.services, key) if key in in_db or stored else key
            for key, stored in zip(keys, in_store, strict=True)
        ]

    async def _image_prompt(
        self, task: PersonaTask, result: PersonaResult, persona: rules.PersonaData
    ) -> str:
        if result.image_prompt:
            return result.image_prompt  # a retry reuses the prompt it already paid for
        reply = await self.text.generate_json(
            TextRequest(
                prompt=rules.image_prompt_request(persona),
                schema=rules.IMAGE_PROMPT_SCHEMA,
                variables={
                    "locale": task.locale,
                    "gender": persona.gender,
                    "age": persona.age,
                    "occupation": persona.occupation,
                    "location": persona.location,
                },
            )
        )
        data = reply.data if isinstance(reply.data, dict) else reply.data.model_dump()
        return rules.image_prompt_from_reply(data)

    async def _put(self, key: str, data: bytes) -> None:
        self.uploaded.append(key)
        await self.services.store.put(key, data, content_type="image/png")

    def _record(
        self,
        task_id: str,
        result_id: int,
        base: _Image,
        splits: list[_Image],
        meta: dict[str, Any],
    ) -> list[int]:
        with writing(self.services.sessions) as session:
            repo = PersonaRepository(session)
            task = repo.get_task(task_id)
            result = repo.get_result(task, result_id)
            base_row = _asset(base, "persona_base", None, meta)
            session.add(base_row)
            session.flush()
            rows = [base_row]
            for index, split in enumerate(splits):
                row = _asset(split, "persona_image", base_row.id, {**meta, "index": index})
                session.add(row)
                rows.append(row)
            session.flush()
            ids = [row.id for row in rows]
            repo.complete_result(result, base.prompt, ids)
        self.uploaded.clear()  # recorded: no longer ours to clean up
        return ids

    async def discard(self) -> None:
        """Delete objects this run uploaded but did not record."""
        for key in self.uploaded:
            try:
                await self.services.store.delete(key)
            except CastsmithError:
                log.warning("could not remove %s after a failed persona", key, exc_info=True)
        self.uploaded.clear()
