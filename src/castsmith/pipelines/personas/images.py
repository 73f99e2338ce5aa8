"""The five images of one persona, in the seven steps the older worker logged.

1. image prompt (text provider) 2. base selfie (text-to-image) 3. upload and record the
base 4. 2x2 grid from the base (image-to-image) 5. split and trim the grid 6. upload the
four 7. record the four and finish the persona, in one transaction.

Steps 1-3 (:meth:`PersonaImages.base`) and 4-7 (:meth:`PersonaImages.grid`) run as two
jobs, so each holds an image-provider slot for one call only. The base is recorded when
its job ends: a persona whose grid failed keeps it, and its retry starts at the grid.
Objects are uploaded first and recorded last; when anything fails after an upload the
new objects of that half are deleted again, so nothing is left half-written.
Keys follow ``avatars/task_{task_id}/persona_{result_id}/...`` and are never reused.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.orm import Session

from castsmith.db.models import Asset, PersonaResult, PersonaTask
from castsmith.db.repositories.personas import PersonaRepository
from castsmith.domain import personas as rules
from castsmith.domain.errors import ImageError
from castsmith.imaging.grid import split_grid
from castsmith.pipelines._assets import Reserved, numbered
from castsmith.pipelines._failover import ask_text, with_failover
from castsmith.pipelines._services import Services
from castsmith.pipelines._writer import write_assets
from castsmith.pipelines.personas.parts import (
    as_png,
    persona_file,
    persona_of,
)
from castsmith.pipelines.thumbnails import Source, add_thumbnail, add_thumbnails
from castsmith.providers.base import (
    ImageProvider,
    ImageResult,
    ImageToImage,
    InputImage,
    RemoteCall,
    TextProvider,
    TextRequest,
    TextToImage,
)

log = logging.getLogger("castsmith.pipelines.personas")

Progress = Callable[[float, str], Awaitable[None]]
#: Further writes to make in the transaction that records a base: (session, asset id).
AlsoRecord = Callable[[Session, int], object]
#: The failover role of both image calls (see :mod:`castsmith.pipelines._failover`).
ROLE = "persona_image"


def failure_message(step: int, error: BaseException) -> str:
    """``Generating 4-image grid failed: <reason>`` for a persona's error."""
    what = rules.STEPS[step - 1] if 1 <= step <= len(rules.STEPS) else "Image generation"
    reason = str(error) or type(error).__name__
    return f"{what} failed: {reason}"


def base_asset(session: Session, result: PersonaResult) -> Asset:
    """The recorded base image of ``result``, detached from ``session``."""
    asset = (
        session.get(Asset, result.base_image_asset_id)
        if result.base_image_asset_id is not None
        else None
    )
    if asset is None:
        raise ImageError(f"persona {result.id} has no recorded base image")
    session.expunge(asset)
    return asset


def _meta(task: PersonaTask, result: PersonaResult, name: str) -> dict[str, Any]:
    return {"task_id": task.task_id, "result_id": result.id, "persona": name}


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
        self.step = 0
        self._writes: asyncio.Future[None] | None = None

    def later(self, write: Callable[[], Awaitable[Any]]) -> None:
        """Start ``write`` after the earlier ones, without waiting for it.

        Progress and status writes then overlap the provider call and the image work
        instead of delaying them (each one waits its turn for the database); they
        still land in order, and all of them before :meth:`base` or :meth:`grid` ends.
        """
        previous = self._writes

        async def chain() -> None:
            if previous is not None:
                await previous
            await write()

        self._writes = asyncio.ensure_future(chain())

    async def _flush(self, *, quiet: bool = False) -> None:
        writes, self._writes = self._writes, None
        if writes is None:
            return
        if quiet:  # already failing: the first error is the one to report
            await asyncio.gather(writes, return_exceptions=True)
        else:
            await writes

    def _step(self, step: int, task: PersonaTask, name: str) -> None:
        self.step = step
        message = rules.step_message(step, name)
        log.info("[Task %s] %s", task.task_id, message)
        self.later(lambda: self.progress(rules.step_percent(step), message))

    async def base(
        self, task: PersonaTask, result: PersonaResult, also: AlsoRecord | None = None
    ) -> int:
        """Steps 1-3: make, upload and record the base selfie; return its asset id.

        ``also`` runs in the transaction that records the base (after the asset row
        exists), so what continues from the base commits or rolls back with it.
        ``self.step`` tells which step was running when an error escaped.
        """
        try:
            asset_id = await self._base(task, result, also)
        except BaseException:
            await self._flush(quiet=True)
            raise
        await self._flush()
        return asset_id

    async def grid(self, task: PersonaTask, result: PersonaResult, base: Asset | None) -> list[int]:
        """Steps 4-7: the grid from the recorded ``base``, split, uploaded and recorded.

        Returns the asset ids of the base and the four splits; a missing base (None)
        fails step 4 like any other error of this half.
        """
        try:
            asset_ids = await self._grid(task, result, base)
        except BaseException:
            await self._flush(quiet=True)
            raise
        await self._flush()
        return asset_ids

    async def _base(self, task: PersonaTask, result: PersonaResult, also: AlsoRecord | None) -> int:
        persona = persona_of(result)
        name = persona.name
        log.info(
            "[Task %s] Processing images for persona: %s (result_id=%s)",
            task.task_id,
            name,
            result.id,
        )

        self._step(1, task, name)
        prompt = await self._image_prompt(task, result, persona)

        self._step(2, task, name)
        ask = TextToImage(prompt=prompt, width=1024, height=1024)

        async def selfie(chosen: ImageProvider, remote: RemoteCall | None) -> ImageResult:
            return await chosen.text_to_image(ask, remote=remote)

        # A retryable failure moves on along the ``persona_image`` failover providers
        # (provenance names who served).
        made = await with_failover(self.services, ROLE, "text_to_image", self.images, selfie)
        limit = self.services.settings.max_image_pixels
        data, info = await asyncio.to_thread(as_png, made.images[0].data, limit)

        self._step(3, task, name)
        meta = _meta(task, result, name)
        file = persona_file(data, info, made.provenance, prompt, "persona_base", None, meta)

        def record(session: Session, reserved: Reserved) -> None:
            repo = PersonaRepository(session, self.services.caller)
            row = repo.get_result(repo.get_task(task.task_id), result.id)
            repo.record_base(row, prompt, reserved.ids[0])
            if also is not None:
                session.flush()
                also(session, reserved.ids[0])

        wanted = numbered(self.services.keys.persona_base(task.task_id, result.id))
        saved = await write_assets(self.services, [file], wanted, record=record)
        await add_thumbnail(self.services, saved.id, data, info.sha256)  # for the grid
        return saved.id

    async def _grid(
        self, task: PersonaTask, result: PersonaResult, base: Asset | None
    ) -> list[int]:
        name = persona_of(result).name
        limit = self.services.settings.max_image_pixels
        log.info("[Task %s] Making the grid for persona: %s", task.task_id, name)

        self._step(4, task, name)
        if base is None:
            raise ImageError(f"persona {result.id} has no recorded base image")
        base_data = await self.services.store.get(base.storage_key)
        grid_prompt = rules.grid_prompt(result.image_prompt or base.prompt or "")
        edit = ImageToImage(
            prompt=grid_prompt,
            images=(InputImage(base_data, "base.png", "image/png"),),
            width=1024,
            height=1024,
            seed=base.seed,
            grid=True,
        )

        async def draw(chosen: ImageProvider, remote: RemoteCall | None) -> ImageResult:
            return await chosen.image_to_image(edit, remote=remote)

        grid = await with_failover(self.services, ROLE, "image_to_image", self.images, draw)

        self._step(5, task, name)
        pieces = await asyncio.to_thread(split_grid, grid.images[0].data)
        if len(pieces) != 4:
            raise ImageError(f"the grid split into {len(pieces)} images instead of 4")

        self._step(6, task, name)
        converted = await asyncio.gather(*(asyncio.to_thread(as_png, p, limit) for p in pieces))
        meta = _meta(task, result, name)
        splits = [
            persona_file(
                data,
                info,
                grid.provenance,
                grid_prompt,
                "persona_image",
                base.id,
                {**meta, "index": index},
            )
            for index, (data, info) in enumerate(converted)
        ]

        def record(session: Session, reserved: Reserved) -> None:
            repo = PersonaRepository(session, self.services.caller)
            row = repo.get_result(repo.get_task(task.task_id), result.id)
            repo.complete_result(row, list(reserved.ids))

        wanted = [
            numbered(self.services.keys.persona_image(task.task_id, result.id, i)) for i in range(4)
        ]
        # Steps 6 and 7 are the writer's upload and its recording transaction.
        self._step(7, task, name)
        saved = await write_assets(
            self.services,
            splits,
            lambda n: [keys_for(n)[0] for keys_for in wanted],
            record=record,
        )
        sources = (
            Source(i, data, info.sha256)
            for i, (data, info) in zip(saved.ids, converted, strict=True)
        )
        await add_thumbnails(self.services, sources)
        return [base.id, *saved.ids]

    async def _image_prompt(
        self, task: PersonaTask, result: PersonaResult, persona: rules.PersonaData
    ) -> str:
        if result.image_prompt:
            return result.image_prompt  # a retry reuses the prompt it already paid for
        # Text like the persona data: metered, failing over along ``persona_data``.
        reply = await ask_text(
            self.text,
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
            ),
            persona_task_id=task.task_id,
        )
        data = reply.data if isinstance(reply.data, dict) else reply.data.model_dump()
        return rules.image_prompt_from_reply(data)
