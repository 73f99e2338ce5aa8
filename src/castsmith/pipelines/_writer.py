"""The one way every pipeline saves a file: the asset writer.

Every flow that stores new files (base images, training images, posters, persona
images, references, LoRA datasets and weights, test grids) goes through
:func:`write_assets`, in this order, so nothing is ever half-written or overwritten:

1. **Keys.** ``keys_for(n)`` works out the keys of attempt ``n`` (pure, from the
   configured :class:`~castsmith.domain.keys.KeyLayout`): a poster's version, a
   training image's number, or ``1, 2, 3...`` for ``x.jpg``, ``x_2.jpg``, ``x_3.jpg``.
2. **Reserve.** One transaction inserts each file's ``Asset`` row *hidden*
   (``deleted_at`` set, so no listing shows it) plus whatever the flow holds beside it
   (``hold``, e.g. a pending training item). The unique storage key is the reservation:
   two writers never get the same key. A key already taken by a row, or by an object in
   the store, moves on to ``n + 1``.
3. **Upload** every file and rendition under its reserved key.
4. **Record**, in one transaction: the rows become visible with their final facts, the
   renditions are inserted, and ``record`` writes the flow's own rows.
5. **Undo** when anything after 2 fails (a cancelled job too): the uploaded objects and
   the reserved rows are removed again, shielded from the cancellation.

A worker killed between 2 and 4 leaves hidden rows (and maybe objects); the orphan
cleanup drops such reservations after its grace period (:func:`drop_stale_reservations`).

Usage::

    saved = await write_assets(services, [NewAsset(data, "base_image", "image/jpeg")],
                               numbered(services.keys.base_image(name)),
                               record=lambda session, s: point_actor(session, s.ids[0]))
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from castsmith.db.models import Asset, AssetRendition, TrainingDataItem
from castsmith.db.repositories.assets import AssetRepository
from castsmith.domain.errors import CastsmithError, StorageError
from castsmith.imaging.inspect import hashes, inspect_image
from castsmith.imaging.renditions import Rendition
from castsmith.pipelines._assets import (
    AssetProvenance,
    FileFacts,
    KeysFor,
    NewAsset,
    Reserved,
    Saved,
    asset_row,
    numbered,
)
from castsmith.pipelines._services import Services
from castsmith.pipelines._uploads import known_facts, upload

log = logging.getLogger("castsmith.pipelines.assets")

MAX_KEY_ATTEMPTS = 1000
T = TypeVar("T")


async def write_assets(
    services: Services,
    files: Sequence[NewAsset],
    keys_for: KeysFor,
    *,
    first: int | Callable[[Session], int] = 1,
    hold: Callable[[Session, Reserved], None] | None = None,
    release: Callable[[Session, Reserved], None] | None = None,
    record: Callable[[Session, Reserved], T] | None = None,
) -> Saved[T | None]:
    """Store ``files`` under the first free keys ``keys_for(n)`` gives and record them.

    ``first`` is the first ``n`` to try (or a function of the reserving transaction
    that works it out, e.g. one above the highest version). ``hold(session, reserved)``
    writes what the reservation holds beside the hidden rows and ``release`` removes it
    again on failure; ``record(session, reserved)`` runs in the final transaction after
    the rows became visible, and its result is returned in :attr:`Saved.result`.
    """
    # Renditions still in the making go on while the keys are reserved.
    pending = [_renditions_of(file) for file in files]
    try:
        known = await asyncio.gather(*(known_facts(file) for file in files))
        reserved = await _reserve(services, files, known, keys_for, first, hold, release)
    except BaseException:
        await _cancel(pending)
        raise
    try:
        renditions = await asyncio.gather(*pending)
        facts = await upload(services, files, known, reserved, renditions)
        result = await asyncio.to_thread(_record, services, reserved, facts, renditions, record)
    except BaseException:
        await _cancel(pending)
        await asyncio.shield(_undo(services, reserved, release))
        raise
    return Saved(reserved.n, reserved.keys, reserved.ids, facts, result)


def _renditions_of(file: NewAsset) -> asyncio.Future[Mapping[str, Rendition]]:
    made = file.renditions
    if made is None or isinstance(made, Mapping):
        done: asyncio.Future[Mapping[str, Rendition]] = asyncio.get_running_loop().create_future()
        done.set_result(made or {})
        return done
    return asyncio.ensure_future(made)


async def _cancel(futures: Sequence[asyncio.Future[Any]]) -> None:
    for future in futures:
        future.cancel()
    await asyncio.gather(*futures, return_exceptions=True)


async def _reserve(
    services: Services,
    files: Sequence[NewAsset],
    known: Sequence[FileFacts | None],
    keys_for: KeysFor,
    first: int | Callable[[Session], int],
    hold: Callable[[Session, Reserved], None] | None,
    release: Callable[[Session, Reserved], None] | None,
) -> Reserved:
    def attempt(floor: int) -> Reserved | int:
        """The reservation, or the number that was taken."""
        n = floor
        try:
            with services.sessions.begin() as session:
                n = max(first(session) if callable(first) else first, floor)
                keys = keys_for(n)
                wanted = [key for keys_of in keys for key in keys_of.all()]
                if AssetRepository(session).keys_taken(wanted):
                    return n
                rows = [
                    asset_row(
                        keys_of.key,
                        facts or FileFacts(file.content_type, 0, "", ""),
                        file.kind,
                        file.provenance,
                        hidden=True,
                    )
                    for file, facts, keys_of in zip(files, known, keys, strict=True)
                ]
                session.add_all(rows)
                session.flush()
                reserved = Reserved(n, keys, [row.id for row in rows])
                if hold is not None:
                    hold(session, reserved)
                return reserved
        except IntegrityError:
            return n  # another writer took n (or a key) meanwhile

    floor = first if isinstance(first, int) else 0
    for _ in range(MAX_KEY_ATTEMPTS):
        got = await asyncio.to_thread(attempt, floor)
        if isinstance(got, int):
            floor = got + 1
            continue
        try:
            keys = [key for keys_of in got.keys for key in keys_of.all()]
            present = await asyncio.gather(*(services.store.exists(key) for key in keys))
        except BaseException:
            await asyncio.shield(_undo(services, got, release, delete_objects=False))
            raise
        if not any(present):
            return got
        # An object nobody recorded holds a key: never overwrite it, move past it.
        log.warning("key of attempt %s is taken in the store; skipping", got.n)
        await asyncio.shield(_undo(services, got, release, delete_objects=False))
        floor = got.n + 1
    raise StorageError(f"no free key after {MAX_KEY_ATTEMPTS} tries (last: {floor})")


def _record(
    services: Services,
    reserved: Reserved,
    facts: Sequence[FileFacts],
    renditions: Sequence[Mapping[str, Rendition]],
    record: Callable[[Session, Reserved], T] | None,
) -> T | None:
    """The one transaction that makes a reservation real."""
    with services.sessions.begin() as session:
        for asset_id, final, keys, made in zip(
            reserved.ids, facts, reserved.keys, renditions, strict=True
        ):
            session.execute(
                update(Asset)
                .where(Asset.id == asset_id)
                .values(
                    deleted_at=None,
                    content_type=final.content_type,
                    size_bytes=final.size_bytes,
                    md5=final.md5,
                    sha256=final.sha256,
                    width=final.width,
                    height=final.height,
                )
            )
            session.add_all(
                AssetRendition(
                    asset_id=asset_id,
                    name=name,
                    storage_key=keys.renditions[name],
                    content_type=rendition.content_type,
                    size_bytes=rendition.size_bytes,
                    width=rendition.width,
                    height=rendition.height,
                    md5=hashes(rendition.data)[0],
                )
                for name, rendition in made.items()
            )
        session.flush()
        return record(session, reserved) if record is not None else None


async def _undo(
    services: Services,
    reserved: Reserved,
    release: Callable[[Session, Reserved], None] | None,
    *,
    delete_objects: bool = True,
) -> None:
    """Remove what a failed write left: its objects (when it uploaded) and its rows."""
    if delete_objects:
        for keys in reserved.keys:
            for key in keys.all():
                try:
                    await services.store.delete(key)
                except CastsmithError:
                    log.warning("could not remove %s after a failed write", key)

    def drop_rows() -> None:
        with services.sessions.begin() as session:
            if release is not None:
                release(session, reserved)
            session.execute(delete(Asset).where(Asset.id.in_(list(reserved.ids))))

    try:
        await asyncio.to_thread(drop_rows)
    except Exception:
        # The store or database is what failed: that error decides the retry. A hidden
        # row left here is dropped by the orphan cleanup once its grace period is over.
        log.warning("could not remove the reservation of %s", reserved.keys[0].key)


def drop_stale_reservations(sessions: Any, older_than: datetime) -> list[str]:
    """Delete reservations made before ``older_than`` that never became assets.

    A reservation is a hidden asset row; only a writer that died between reserving and
    recording leaves one behind (with a pending training item, when it was one).
    Returns the keys they held, so their objects can go too.
    """
    with sessions.begin() as session:
        rows = session.execute(
            select(Asset.id, Asset.storage_key).where(
                Asset.deleted_at.is_not(None), Asset.deleted_at < older_than
            )
        ).all()
        if rows:
            ids = [row.id for row in rows]
            session.execute(delete(TrainingDataItem).where(TrainingDataItem.asset_id.in_(ids)))
            session.execute(delete(AssetRendition).where(AssetRendition.asset_id.in_(ids)))
            session.execute(delete(Asset).where(Asset.id.in_(ids)))
    return [row.storage_key for row in rows]


async def store_asset(
    services: Services,
    key: str,
    data: bytes,
    *,
    kind: str = "image",
    content_type: str | None = None,
    provenance: AssetProvenance | None = None,
    is_image: bool = True,
    with_row: Callable[[Session, int], None] | None = None,
) -> Saved[None]:
    """Store one file wanted at ``key`` (or the next free ``stem_N.ext``) and record it.

    Images are inspected first (format, size, pixel limit; ``ImageError`` when the bytes
    are not one) and their sniffed content type wins over ``content_type``.
    ``with_row(session, asset_id)`` runs in the recording transaction.
    """
    file = NewAsset(
        data, kind, content_type or "application/octet-stream", provenance or AssetProvenance()
    )
    if is_image:
        info = await asyncio.to_thread(
            inspect_image, data, max_pixels=services.settings.max_image_pixels
        )
        file = replace(file, content_type=info.content_type, facts=FileFacts.of_image(info))

    def record(session: Session, reserved: Reserved) -> None:
        if with_row is not None:
            with_row(session, reserved.ids[0])

    return await write_assets(services, [file], numbered(key), record=record)


async def free_key(services: Services, key: str) -> str:
    """``key`` if neither a row nor an object uses it, else the first free ``stem_N.ext``.

    Only for derived files of an existing asset (thumbnails), whose unique
    ``(asset, name)`` row decides between two makers; new assets use :func:`write_assets`.
    """
    keys_for = numbered(key)
    for n in range(1, MAX_KEY_ATTEMPTS + 1):
        candidate = keys_for(n)[0].key

        def taken_in_db(k: str = candidate) -> bool:
            with services.sessions() as session:
                return bool(AssetRepository(session).keys_taken([k]))

        if not await asyncio.to_thread(taken_in_db) and not await services.store.exists(candidate):
            return candidate
    raise StorageError(f"no free key near {key!r} after {MAX_KEY_ATTEMPTS} tries")
