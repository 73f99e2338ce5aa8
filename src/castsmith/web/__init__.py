"""The web UI: server-rendered pages, their static files and the demo-cast endpoint."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    """Mount the pages, ``/static``, the API docs, the favicon, HTML error pages and
    ``POST /api/demo-cast`` on ``app`` (after the API's error handlers)."""
    from castsmith.web import docs, errors
    from castsmith.web.costs import router as costs_router
    from castsmith.web.demo import router as demo_router
    from castsmith.web.login import router as login_router
    from castsmith.web.pages import router as pages_router

    app.include_router(login_router)
    app.include_router(demo_router)
    app.include_router(pages_router)
    app.include_router(costs_router)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        # Browsers ask for this path before reading the page's <link rel="icon">.
        return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")

    docs.install(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    errors.install(app)
