"""Orphan cleanup: remove stored objects that no database row names.

Uploads happen before their rows are written (see :mod:`castsmith.pipelines._assets`),
so a worker killed between the two leaves an object nobody references. This finds
such objects and deletes them, with two safeguards:

* a grace period (``CASTSMITH_CLEANUP_GRACE_SECONDS``): younger objects are kept,
  because their rows may simply not be committed yet;
* just before deleting, the candidates are checked against the database again, so a
  row written while the listing ran protects its object.

Poster version reservations left by such a worker (hidden asset rows that never became
a version) are dropped first once older than the grace period, so their objects count
as unreferenced too.

Keys under ``CASTSMITH_CLEANUP_KEEP_PREFIXES`` (video job files, which are recorded
only in the store) are never considered. Runs as a periodic task of the job engine
(once per ``CASTSMITH_CLEANUP_PERIOD_SECONDS`` across all workers) and as
``castsmith cleanup [--dry-run]``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, union_all
from sqlalchemy.orm import Session, sessionmaker

from castsmith.config import Settings
from castsmith.db.models import Asset, AssetRendition
from castsmith.domain.errors import CastsmithError
from castsmith.domain.times import as_utc
from castsmith.pipelines._services import Services
from castsmith.pipelines._writer import drop_stale_reservations
from castsmith.storage.base import ObjectMeta

log = logging.getLogger("castsmith.cleanup")
TASK_NAME = "storage.cleanup_orphans"
CHECK_BATCH = 500


@dataclass(frozen=True)
class CleanupReport:
    """What one cleanup pass saw and did."""

    scanned: int
    referenced: int
    too_young: int
    kept_by_prefix: int
    orphans: list[ObjectMeta] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def orphan_bytes(self) -> int:
        """Total size of the orphans found."""
        return sum(meta.size for meta in self.orphans)


def _key_columns() -> Any:
    # Every column that names an object key; a new one must be added here.
    return union_all(
        select(Asset.storage_key.label("key")),
        select(AssetRendition.storage_key.label("key")),
    )


def referenced_keys(sessions: sessionmaker[Session]) -> set[str]:
    """Every key some row names."""
    with sessions() as session:
        return {row.key for row in session.execute(_key_columns())}


def still_unreferenced(sessions: sessionmaker[Session], keys: Iterable[str]) -> set[str]:
    """The subset of ``keys`` that no row names right now."""
    pending = list(keys)
    free: set[str] = set()
    with sessions() as session:
        for start in range(0, len(pending), CHECK_BATCH):
            chunk = pending[start : start + CHECK_BATCH]
            used = set(
                session.scalars(select(Asset.storage_key).where(Asset.storage_key.in_(chunk)))
            )
            used |= set(
                session.scalars(
                    select(AssetRendition.storage_key).where(AssetRendition.storage_key.in_(chunk))
                )
            )
            free.update(key for key in chunk if key not in used)
    return free


def keep_prefixes(settings: Settings) -> tuple[str, ...]:
    """The configured prefixes the cleanup never touches."""
    return tuple(p.strip() for p in settings.cleanup_keep_prefixes.split(",") if p.strip())


async def find_orphans(
    services: Services, *, grace_seconds: float | None = None, now: datetime | None = None
) -> CleanupReport:
    """List the store and return the unreferenced objects older than the grace period."""
    settings = services.settings
    grace = settings.cleanup_grace_seconds if grace_seconds is None else grace_seconds
    cutoff = (now or datetime.now(UTC)) - timedelta(seconds=grace)
    keep = keep_prefixes(settings)
    known = await asyncio.to_thread(referenced_keys, services.sessions)
    scanned = referenced = young = kept = 0
    orphans: list[ObjectMeta] = []
    async for meta in services.store.list(""):
        scanned += 1
        if meta.key.startswith(keep):
            kept += 1
        elif meta.key in known:
            referenced += 1
        elif as_utc(meta.last_modified) > cutoff:
            young += 1
        else:
            orphans.append(meta)
    orphans.sort(key=lambda m: m.key)
    return CleanupReport(scanned, referenced, young, kept, orphans)


async def cleanup_orphans(
    services: Services,
    *,
    dry_run: bool = False,
    grace_seconds: float | None = None,
    now: datetime | None = None,
) -> CleanupReport:
    """Find orphans and (unless ``dry_run``) delete them; returns what happened."""
    if not dry_run:
        grace = services.settings.cleanup_grace_seconds if grace_seconds is None else grace_seconds
        cutoff = (now or datetime.now(UTC)) - timedelta(seconds=grace)
        dropped = await asyncio.to_thread(drop_stale_reservations, services.sessions, cutoff)
        if dropped:
            log.info("dropped stale poster reservations", extra={"count": len(dropped)})
    report = await find_orphans(services, grace_seconds=grace_seconds, now=now)
    if dry_run or not report.orphans:
        return CleanupReport(**{**report.__dict__, "dry_run": dry_run})
    free = await asyncio.to_thread(
        still_unreferenced, services.sessions, [m.key for m in report.orphans]
    )
    removed: list[str] = []
    for meta in report.orphans:
        if meta.key not in free:
            continue
        try:
            await services.store.delete(meta.key)
        except CastsmithError:
            log.warning("could not delete orphan %s", meta.key, exc_info=True)
            continue
        removed.append(meta.key)
    if removed:
        log.info("removed orphaned objects", extra={"count": len(removed)})
    return CleanupReport(**{**report.__dict__, "removed": removed})
