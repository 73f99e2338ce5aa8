"""Errors on pages answer with a page: a person who follows a stale link to
``/actors/9999`` sees "not found" with a way back, not the API's JSON.

The API's handlers stay as they are; these wrap them and answer HTML only for a
browser's ``GET`` of a page (not ``/api/...``, not files, not a script's JSON request).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from http import HTTPStatus
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException

from castsmith.auth.policy import is_api
from castsmith.domain.errors import CastsmithError, NotFound

Handler = Callable[[Request, Exception], Awaitable[Response] | Response]
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


def wants_page(request: Request) -> bool:
    """A browser asking for a page (HTML), not the API or a stored file."""
    path = request.url.path
    if request.method != "GET" or is_api(path) or path.startswith(("/files/", "/static/")):
        return False
    return "text/html" in request.headers.get("accept", "")


def _status(exc: Exception, fallback: Response | None) -> int:
    if isinstance(exc, HTTPException):
        return exc.status_code
    if isinstance(exc, RequestValidationError):
        # A page path with a malformed id (``/actors/abc``) names nothing that exists.
        return 404
    return fallback.status_code if fallback is not None else 500


def _message(exc: Exception, status: int) -> str:
    if status == 404:
        if isinstance(exc, NotFound):
            return str(exc)
        return "There is no page at this address."
    if isinstance(exc, CastsmithError):
        return str(exc)
    return HTTPStatus(status).phrase


def install(app: FastAPI) -> None:
    """Wrap the handlers already registered for castsmith's and Starlette's errors."""
    for kind in (CastsmithError, HTTPException, RequestValidationError):
        previous = app.exception_handlers.get(kind)
        if previous is None:
            continue

        def make(previous: Handler) -> Handler:
            async def handle(request: Request, exc: Exception) -> Response:
                answer = previous(request, exc)
                fallback = await answer if isinstance(answer, Awaitable) else answer
                if not wants_page(request):
                    return fallback
                status = _status(exc, fallback)
                return templates.TemplateResponse(
                    request,
                    "error.html",
                    {
                        "status": status,
                        "title": HTTPStatus(status).phrase,
                        "message": _message(exc, status),
                        "nav": "",
                    },
                    status_code=status,
                )

            return handle

        app.add_exception_handler(kind, make(previous))
