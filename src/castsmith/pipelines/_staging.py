"""A provider's output kept on local disk until it is stored, so a retry stores, not redraws.

A paid generation can succeed while storing its result fails (the object store or the
database is unreachable for a while). Without this, the job's retry would ask the
provider again and pay again. So, right after the provider answers, the running job
stages the output bytes under ``{data_dir}/staging/{job_id}/{step}.bin`` (written to a
temporary file and renamed, so a crash never leaves a torn file under the real name)
and records the file's sha256 and the facts needed to store it (provenance) in the
job's checkpoint, and in a ``{step}.json`` beside it for when the database was what
failed and the checkpoint could not be written. A later attempt of the same job that
finds the file with its sha256 skips the provider and only stores. Once the result is
committed the job discards the staged files. (A user's retry of a job that failed for
good starts with a clean checkpoint but still finds the ``.json``: the image it paid
for is stored rather than drawn again.)

Staged files of jobs that ended anyway (failed for good, cancelled) or vanished are
removed by :func:`sweep_staging`, which the periodic cleanup runs. The folder is local
to the worker's host: a retry that lands on another host does not find it and
generates again (the pay-once remote id still resumes a remote job in flight).

Outside a job (an API request, the command line) there is nothing to resume, and
these functions do nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from castsmith.config import Settings
from castsmith.domain.errors import NotFound
from castsmith.domain.jobs import is_terminal
from castsmith.jobs.current import current_job
from castsmith.pipelines._services import Services

log = logging.getLogger("castsmith.pipelines.staging")

STAGING_DIR = "staging"
#: A staged folder younger than this is never swept: its job may still be starting.
SWEEP_GRACE_SECONDS = 600.0


@dataclass(frozen=True)
class Staged:
    """Output an earlier attempt of this job staged: its bytes and the facts recorded."""

    data: bytes
    facts: dict[str, Any]


def staging_root(settings: Settings) -> Path:
    """The folder holding every job's staged output."""
    return Path(settings.data_dir) / STAGING_DIR


def _path(settings: Settings, job_id: int, step: str) -> Path:
    return staging_root(settings) / str(job_id) / f"{step}.bin"


def _record_path(data_path: Path) -> Path:
    return data_path.with_suffix(".json")


def _read_record(data_path: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(_record_path(data_path).read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _checkpoint_key(step: str) -> str:
    return f"staged.{step}"


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with temporary.open("wb") as out:
        out.write(data)
        out.flush()
        # On disk before the checkpoint says it is there.
        os.fsync(out.fileno())
    temporary.replace(path)


def _read_verified(path: Path, sha256: str) -> bytes | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return data if hashlib.sha256(data).hexdigest() == sha256 else None


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    _record_path(path).unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # the job's folder, once it holds nothing else
        path.parent.rmdir()


async def stage(services: Services, data: bytes, facts: dict[str, Any], step: str) -> None:
    """Keep ``data`` (and JSON-serialisable ``facts``) for a retry of the running job."""
    ctx = current_job()
    if ctx is None:
        return
    path = _path(services.settings, ctx.job_id, step)
    record = {"sha256": hashlib.sha256(data).hexdigest(), "facts": facts}
    await asyncio.to_thread(_write_atomically, path, data)
    # The record after the bytes: a record always names a complete file.
    encoded = json.dumps(record).encode()
    await asyncio.to_thread(_write_atomically, _record_path(path), encoded)
    await ctx.checkpoint({_checkpoint_key(step): record})


async def restore(services: Services, step: str) -> Staged | None:
    """What an earlier attempt of the running job staged for ``step``, if still there.

    A missing file, or one whose sha256 differs from the recorded one, counts as
    nothing staged: the caller generates again.
    """
    ctx = current_job()
    if ctx is None:
        return None
    path = _path(services.settings, ctx.job_id, step)
    record = ctx.checkpoint_data.get(_checkpoint_key(step))
    if not isinstance(record, dict):
        # The checkpoint write failed (the database was down): the file's own record.
        record = await asyncio.to_thread(_read_record, path)
    if not isinstance(record, dict) or not record.get("sha256"):
        return None
    data = await asyncio.to_thread(_read_verified, path, str(record["sha256"]))
    if data is None:
        log.warning("staged output of job %s (%s) is gone; generating again", ctx.job_id, step)
        return None
    return Staged(data, dict(record.get("facts") or {}))


async def discard(services: Services, step: str) -> None:
    """Forget the running job's staged ``step`` once its result is committed.

    The file goes first: should the checkpoint write then fail, a retry finds the
    record without its file and the caller's own "already stored?" check answers.
    """
    ctx = current_job()
    if ctx is None:
        return
    await asyncio.to_thread(_remove, _path(services.settings, ctx.job_id, step))
    if ctx.checkpoint_data.get(_checkpoint_key(step)) is not None:
        await ctx.checkpoint({_checkpoint_key(step): None})


def _job_ended(services: Services, job_id: int) -> bool:
    try:
        return is_terminal(services.queue.get(job_id).status)
    except NotFound:
        return True


def sweep_staging(services: Services, *, grace: float = SWEEP_GRACE_SECONDS) -> int:
    """Remove the staged folders of jobs that ended or no longer exist. Sync.

    Returns how many folders were removed. Folders younger than ``grace`` seconds are
    kept whatever their job says (the job may not be committed yet).
    """
    root = staging_root(services.settings)
    if not root.is_dir():
        return 0
    removed = 0
    now = time.time()
    for folder in root.iterdir():
        if not folder.is_dir() or not folder.name.isdigit():
            continue
        try:
            young = now - folder.stat().st_mtime < grace
        except OSError:
            continue
        if young or not _job_ended(services, int(folder.name)):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    if removed:
        log.info("removed the staged output of %d ended jobs", removed)
    return removed
