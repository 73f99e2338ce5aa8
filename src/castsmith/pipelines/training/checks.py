"""Running the curation checks: which images need one, a process pool, stored results.

Images are measured in a pool of worker processes (``curation_processes``, one per CPU
core by default), a few in flight per process, so a 200-image dataset uses every core
of the worker and the event loop never waits on the CPU. A result is stored per image
asset with the bytes' SHA-256 and the analysis version; an image is measured again only
when those change, never because the base image or a threshold did.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from castsmith.db.models import Asset, ImageCheck, TrainingDataItem, utcnow
from castsmith.db.repositories.actors import ActorRepository
from castsmith.db.repositories.training_rows import AssetRow
from castsmith.domain.access import Principal
from castsmith.domain.errors import ImageError, NotFound
from castsmith.imaging.curation import ANALYSIS_VERSION, Analysis, analyse, preload
from castsmith.pipelines._services import Services

_pool_lock = threading.Lock()
_pools: dict[int, ProcessPoolExecutor] = {}


def pool_size(processes: int) -> int:
    """The number of processes the setting asks for (``0``: one per CPU core)."""
    return processes if processes > 0 else max(1, os.cpu_count() or 1)


def check_pool(processes: int) -> Executor:
    """The process pool of this size, started on first use and kept for the process."""
    size = pool_size(processes)
    with _pool_lock:
        pool = _pools.get(size)
        if pool is None:
            # spawn: a forked copy of a process with an event loop and threads is unsafe.
            # preload: the models once per process, and NumPy's BLAS on one thread, so
            # N processes on N cores do not start N x N threads that wait on each other.
            pool = ProcessPoolExecutor(
                max_workers=size,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=preload,
            )
            _pools[size] = pool
        return pool


def shutdown_pools() -> None:
    """Stop the check processes (tests and benchmarks; a process exit does it too)."""
    with _pool_lock:
        for pool in _pools.values():
            pool.shutdown(wait=True, cancel_futures=True)
        _pools.clear()


@dataclass(frozen=True, slots=True)
class Unchecked:
    """An image asset that has no current measurements."""

    asset_id: int
    key: str
    sha256: str
    placeholder: bool


def is_placeholder(asset: Asset | AssetRow) -> bool:
    """Whether an asset is the offline renderer's placeholder art."""
    return asset.provider == "offline" or bool((asset.meta or {}).get("placeholder"))


def actor_asset_ids(session: Session, caller: Principal, actor_id: int) -> list[int]:
    """The base image and every stored training image of an actor ``caller`` may see."""
    try:
        actor = ActorRepository(session, caller).get(actor_id, include_deleted=True)
    except NotFound:
        return []
    ids = [actor.base_image_asset_id] if actor.base_image_asset_id else []
    ids += session.scalars(
        select(TrainingDataItem.asset_id).where(
            TrainingDataItem.actor_id == actor_id, TrainingDataItem.status != "pending"
        )
    ).all()
    return ids


def unchecked(
    session: Session, asset_ids: Sequence[int], *, again: bool = False
) -> list[Unchecked]:
    """Those of ``asset_ids`` without current measurements (all of them with ``again``)."""
    if not asset_ids:
        return []
    rows = session.execute(
        select(Asset, ImageCheck)
        .outerjoin(ImageCheck, ImageCheck.asset_id == Asset.id)
        .where(Asset.id.in_(asset_ids), Asset.deleted_at.is_(None))
        .order_by(Asset.id)
    ).all()
    return [
        Unchecked(asset.id, asset.storage_key, asset.sha256, is_placeholder(asset))
        for asset, check in rows
        if again
        or check is None
        or check.version != ANALYSIS_VERSION
        or check.sha256 != asset.sha256
    ]


def _record(session: Session, item: Unchecked, result: Analysis | str) -> None:
    check = session.scalar(select(ImageCheck).where(ImageCheck.asset_id == item.asset_id))
    if check is None:
        check = ImageCheck(asset_id=item.asset_id)
        session.add(check)
    check.sha256 = item.sha256
    check.version = ANALYSIS_VERSION
    check.checked_at = utcnow()
    if isinstance(result, str):
        check.error, check.face_count, check.faces, check.phash = result, 0, [], None
        check.width = check.height = 0
        check.sharpness = check.exposure_mean = check.exposure_clipped = 0.0
        return
    scale = result.width / result.work_width if result.work_width else 1.0
    faces = result.faces_json()
    for face in faces:
        face["box"] = [round(v * scale) for v in face["box"]]
    check.error = None
    check.face_count = len(result.faces)
    check.faces = faces
    check.width, check.height = result.width, result.height
    check.sharpness = result.quality.sharpness
    check.exposure_mean = result.quality.exposure_mean
    check.exposure_clipped = result.quality.exposure_clipped
    check.phash = result.quality.phash


async def measure_assets(
    services: Services,
    items: Sequence[Unchecked],
    progress: Callable[[int, int], Awaitable[None]] | None = None,
) -> int:
    """Measure ``items`` in the pool and store each result as it arrives; how many."""
    settings = services.settings
    loop = asyncio.get_running_loop()
    # Two in flight per process keeps every process busy while bytes are read.
    gate = asyncio.Semaphore(2 * pool_size(settings.curation_processes))
    done = 0

    async def one(item: Unchecked) -> None:
        nonlocal done
        async with gate:
            data = await services.store.get(item.key)
            try:
                if item.placeholder:
                    # No face search on placeholder art: a few milliseconds, so a thread
                    # serves it and the offline flows never start the check processes.
                    result: Analysis | str = await asyncio.to_thread(
                        _analyse, data, settings.max_image_pixels, False
                    )
                else:
                    result = await loop.run_in_executor(
                        check_pool(settings.curation_processes),
                        _analyse,
                        data,
                        settings.max_image_pixels,
                        True,
                    )
            except ImageError as exc:
                result = f"the image could not be checked: {exc}"
        await asyncio.to_thread(_store, services, item, result)
        done += 1
        if progress is not None:
            await progress(done, len(items))

    await asyncio.gather(*(one(item) for item in items))
    return done


def _analyse(data: bytes, max_pixels: int, faces: bool) -> Analysis:
    return analyse(data, max_pixels=max_pixels, find_faces_too=faces)


def _store(services: Services, item: Unchecked, result: Analysis | str) -> None:
    with services.sessions.begin() as session:
        _record(session, item, result)


async def check_assets(
    services: Services,
    *,
    actor_id: int | None = None,
    asset_ids: Sequence[int] = (),
    again: bool = False,
    progress: Callable[[int, int], Awaitable[None]] | None = None,
) -> int:
    """Measure every image of the actor (and ``asset_ids``) that needs it; how many.

    Images stored while this runs are picked up too: it looks again until none is left.
    """
    total = 0
    first = True
    while True:

        def find(redo: bool = again and first) -> list[Unchecked]:
            with services.sessions() as session:
                ids = list(asset_ids)
                if actor_id is not None:
                    ids += actor_asset_ids(session, services.caller, actor_id)
                return unchecked(session, ids, again=redo)

        todo = await asyncio.to_thread(find)
        first = False
        if not todo:
            return total
        total += await measure_assets(services, todo, progress)
