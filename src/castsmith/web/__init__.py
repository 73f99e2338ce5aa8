"""The web UI: server-rendered pages, their static files and the demo-cast endpoint."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Mount the pages, ``/static`` and ``POST /api/demo-cast`` on ``app``."""
    from castsmith.web.demo import router as demo_router
    from castsmith.web.login import router as login_router
    from castsmith.web.pages import router as pages_router

    app.include_router(login_router)
    app.include_router(demo_router)
    app.include_router(pages_router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
