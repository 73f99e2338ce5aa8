"""``GET /healthz``: is the database reachable and migrated, is storage reachable."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from castsmith.auth.scope import container_of
from castsmith.bootstrap import Container
from castsmith.checks import check_database, check_storage

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Health of the database and the object store")
async def healthz(request: Request) -> JSONResponse:
    """200 with ``status: ok`` when every check passes, else 503 naming what failed."""
    container: Container = container_of(request)
    database = await check_database(container)
    storage = await check_storage(container, write=False)
    checks = {"database": database.as_dict(), "storage": storage.as_dict()}
    healthy = database.ok and storage.ok
    return JSONResponse(
        {"status": "ok" if healthy else "error", "checks": checks},
        status_code=200 if healthy else 503,
    )
