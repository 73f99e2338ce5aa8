"""Checks of the database and the object store, shared by /healthz and ``doctor``."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

from sqlalchemy import text

from castsmith.bootstrap import Container
from castsmith.db.migrate import current_revision, head_revision
from castsmith.domain.errors import CastsmithError


@dataclass(frozen=True)
class CheckResult:
    """The verdict of one check, in words a person can act on."""

    name: str
    ok: bool
    detail: str
    fix: str = ""

    def as_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"ok": self.ok, "detail": self.detail}
        if self.fix:
            body["fix"] = self.fix
        return body


def _database_sync(container: Container) -> CheckResult:
    url = container.engine.url.render_as_string(hide_password=True)
    try:
        with container.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        current = current_revision(container.engine)
    except Exception as exc:
        return CheckResult(
            "database",
            False,
            f"cannot connect to {url}: {type(exc).__name__}: {str(exc).splitlines()[0]}",
            "check CASTSMITH_DATABASE_URL and that the database server is running",
        )
    head = head_revision()
    if current != head:
        return CheckResult(
            "database",
            False,
            f"{url} is at migration {current or 'none'}, this version needs {head}",
            "run `castsmith migrate`",
        )
    return CheckResult("database", True, f"{url} reachable, schema at {head}")


async def check_database(container: Container) -> CheckResult:
    """Can we connect, and is the schema at this version's head revision?"""
    return await asyncio.to_thread(_database_sync, container)


async def check_storage(container: Container, *, write: bool) -> CheckResult:
    """Can we reach the object store (and, with ``write``, write and delete a probe)?"""
    store = container.store
    where = describe_store(container)
    try:
        if write:
            key = f"_castsmith_probe/{uuid.uuid4().hex}"
            await store.put(key, b"probe", content_type="text/plain")
            data = await store.get(key)
            await store.delete(key)
            if data != b"probe":
                return CheckResult("storage", False, f"{where} returned different bytes")
        else:
            await store.head("_castsmith_probe/healthz")
    except CastsmithError as exc:
        return CheckResult("storage", False, f"{where}: {exc}", storage_fix(container))
    except Exception as exc:
        return CheckResult(
            "storage", False, f"{where}: {type(exc).__name__}: {exc}", storage_fix(container)
        )
    return CheckResult("storage", True, f"{where} reachable" + (" and writable" if write else ""))


def describe_store(container: Container) -> str:
    """A one-line description of the configured store, without secrets."""
    settings = container.settings
    if settings.storage_backend == "s3":
        endpoint = settings.s3_endpoint or f"AWS {settings.s3_region}"
        return f"S3 bucket '{settings.s3_bucket}' at {endpoint}"
    return f"local folder {settings.local_storage_root}"


def storage_fix(container: Container) -> str:
    """What to try when the store fails."""
    if container.settings.storage_backend == "s3":
        return (
            "check S3_BUCKET_NAME/STORAGE_BUCKET, S3_ENDPOINT, the access key and secret "
            "(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and that the bucket exists"
        )
    return "check that CASTSMITH_STORAGE_ROOT (or CASTSMITH_DATA_DIR) is a writable folder"
