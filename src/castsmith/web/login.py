"""``/login`` and ``/logout``: the web UI's session login.

A successful login sets the signed session cookie (HttpOnly, SameSite=Lax, Secure when
the public URL is https) and redirects to ``next``; a failed one answers 401 with the
same message whether the user name or the password was wrong.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from castsmith.auth import sessions
from castsmith.auth.passwords import dummy_verify, verify_password
from castsmith.auth.scope import container_of
from castsmith.db.repositories.users import UserRepository

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")

FAILED = "Wrong user name or password."


def safe_next(target: str | None) -> str:
    """A local path to go to after login; anything else (other sites, ``//host``) is ``/``."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    return target


def _secret(request: Request) -> bytes:
    return container_of(request).signing_secret


def _form(request: Request, next_url: str, error: str = "", status: int = 200) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "login.html",
        {"nav": "login", "next": next_url, "error": error},
        status_code=status,
    )


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str = "/") -> HTMLResponse:
    """The login form."""
    return _form(request, safe_next(next))


@router.post("/login", response_model=None)
async def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form("/"),
) -> Response:
    """Check the password; on success set the session cookie and go to ``next``."""
    container = container_of(request)

    def check() -> int | None:
        with container.sessions() as session:
            user = UserRepository(session).by_name(username)
            if user is None or user.disabled or not user.password_hash:
                dummy_verify(password)
                return None
            return user.id if verify_password(password, user.password_hash) else None

    user_id = await asyncio.to_thread(check)
    target = safe_next(next)
    if user_id is None:
        return _form(request, target, FAILED, status=401)
    settings = container.settings
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        sessions.COOKIE_NAME,
        sessions.issue(_secret(request), user_id, settings.session_max_age),
        max_age=settings.session_max_age,
        httponly=True,
        samesite="lax",
        secure=settings.public_base_url.startswith("https://"),
        path="/",
    )
    return response


@router.post("/logout", response_model=None)
async def logout(request: Request) -> Response:
    """End the session: revoked on the server and the cookie dropped (CSRF applies)."""
    ended: sessions.Session | None = getattr(request.state, "session", None)
    if ended is not None:
        container = container_of(request)
        expires = datetime.fromtimestamp(ended.expires_at, UTC)

        def revoke() -> None:
            with container.sessions.begin() as db:
                UserRepository(db).revoke_session(ended.nonce, expires)

        await asyncio.to_thread(revoke)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(sessions.COOKIE_NAME, path="/")
    return response
