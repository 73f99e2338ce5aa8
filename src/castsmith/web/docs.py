"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) that work without a network.

Their scripts and styles come from the ``fastapi-offline`` package installed from the
registry (its ``static`` folder), served under ``/static/api-docs/``; the pages start
them from castsmith's own static script, so no inline script is needed.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSETS_URL = "/static/api-docs"

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _openapi_url(request: Request) -> str:
    return str(request.scope.get("root_path", "")) + (request.app.openapi_url or "/openapi.json")


@router.get("/docs", response_class=HTMLResponse)
async def swagger_ui(request: Request) -> HTMLResponse:
    """The interactive API reference."""
    return templates.TemplateResponse(
        request,
        "api_docs.html",
        {"viewer": "swagger", "openapi_url": _openapi_url(request), "assets": ASSETS_URL},
    )


@router.get("/redoc", response_class=HTMLResponse)
async def redoc(request: Request) -> HTMLResponse:
    """The API reference as one readable page."""
    return templates.TemplateResponse(
        request,
        "api_docs.html",
        {"viewer": "redoc", "openapi_url": _openapi_url(request), "assets": ASSETS_URL},
    )


def install(app: FastAPI) -> None:
    """Serve the two pages and their assets (mount before ``/static`` itself)."""
    app.include_router(router)
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="api-docs")
