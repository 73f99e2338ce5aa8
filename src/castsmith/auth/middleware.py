"""The ASGI middleware that authenticates every request and enforces CSRF.

For each HTTP request it finds the caller - a bearer token, else the session cookie -
puts them on the request (routes scope the container to them, see
:mod:`castsmith.auth.scope`), and
refuses what must be refused: 401 (API) or a redirect to ``/login`` (pages) without a
valid credential, 403 for a state-changing request authenticated by the cookie without
its CSRF token. Bearer-token requests are exempt from CSRF: browsers never attach them
on their own.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from castsmith.auth import policy, sessions
from castsmith.auth.scope import PRINCIPAL
from castsmith.auth.tokens import token_hash
from castsmith.db.repositories.users import UserRepository
from castsmith.domain import access
from castsmith.domain.access import Principal

if TYPE_CHECKING:
    from castsmith.bootstrap import Container

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# A form carrying only fields (no file) is small; bigger bodies must send the header.
MAX_FORM_SCAN_BYTES = 1024 * 1024


class AuthMiddleware:
    """Authenticate, then run the app as the caller (see the module docstring)."""

    def __init__(self, app: ASGIApp, container: Container) -> None:
        self.app = app
        self.container = container
        self.secret: bytes = container.signing_secret

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if not policy.auth_required(self.container.settings):
            scope.setdefault("state", {})[PRINCIPAL] = access.LOCAL_ADMIN
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        path = scope["path"]
        principal, session = await asyncio.to_thread(self._authenticate, request)
        state = scope.setdefault("state", {})
        if principal is None:
            if not policy.is_public(path):
                await _refuse_anonymous(scope, path, send)
                return
            principal = access.ANONYMOUS
        if session is not None:
            token = sessions.csrf_token(self.secret, session)
            state["csrf_token"] = token
            state["session"] = session
            # The login form itself needs no token: it sets a new session anyway.
            if scope["method"] not in policy.SAFE_METHODS and path != "/login":
                ok, receive = await _csrf_given(request, receive, self.secret, session)
                if not ok:
                    await _send_json(
                        send,
                        403,
                        {
                            "detail": "CSRF token missing or wrong: send the X-CSRF-Token "
                            "header or a csrf_token form field",
                            "error": "Forbidden",
                        },
                    )
                    return
        state[PRINCIPAL] = principal
        await self.app(scope, receive, send)

    def _token_caller(self, hashed: str) -> Principal | None:
        # Read without a lock; the token's last use is written apart, at most once a minute.
        with self.container.sessions() as db:
            found = UserRepository(db).user_for_token(hashed)
        if found is None:
            return None
        user, touch = found
        if touch:
            with self.container.sessions.begin() as db:
                UserRepository(db).touch_token(hashed)
        return Principal(user.id, user.username, user.role, via="token")

    def _authenticate(self, request: Request) -> tuple[Principal | None, sessions.Session | None]:
        header = request.headers.get("authorization", "")
        scheme, _, credential = header.partition(" ")
        if scheme.lower() == "bearer" and credential.strip():
            return self._token_caller(token_hash(credential.strip())), None
        session = sessions.verify(self.secret, request.cookies.get(sessions.COOKIE_NAME) or "")
        if session is None:
            return None, None
        # A read session: on SQLite it takes no lock, so requests never queue here.
        with self.container.sessions() as db:
            users = UserRepository(db)
            if users.session_revoked(session.nonce):
                return None, None  # logged out: a kept copy of the cookie is dead
            known = users.get(session.user_id)
            if known is None or known.disabled:
                return None, None
            return Principal(known.id, known.username, known.role, via="session"), session


async def _refuse_anonymous(scope: Scope, path: str, send: Send) -> None:
    if policy.is_api(path):
        await _send_json(
            send,
            401,
            {
                "detail": "authentication required: send Authorization: Bearer <token>",
                "error": "Unauthorized",
            },
            extra=[(b"www-authenticate", b'Bearer realm="castsmith"')],
        )
        return
    target = path + (f"?{scope['query_string'].decode()}" if scope.get("query_string") else "")
    location = "/login?next=" + quote(target, safe="")
    await send(
        {
            "type": "http.response.start",
            "status": 303,
            "headers": [(b"location", location.encode()), (b"content-length", b"0")],
        }
    )
    await send({"type": "http.response.body", "body": b""})


async def _send_json(
    send: Send, status: int, body: dict[str, Any], extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    data = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def _csrf_given(
    request: Request, receive: Receive, secret: bytes, session: sessions.Session
) -> tuple[bool, Receive]:
    """Whether the request carries the session's CSRF token, and a ``receive`` that
    replays the body."""
    header = request.headers.get(sessions.CSRF_HEADER)
    if header is not None:
        return sessions.csrf_ok(secret, session, header), receive
    content_type = request.headers.get("content-type", "").lower()
    if not content_type.startswith(FORM_TYPES):
        return False, receive
    messages: list[Message] = []
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if size > MAX_FORM_SCAN_BYTES:
            return False, _replay(messages, receive)
        if not message.get("more_body", False):
            break
    form = await Request(request.scope, receive=_replay(list(messages), receive)).form()
    given = form.get(sessions.CSRF_FIELD)
    await form.close()
    ok = isinstance(given, str) and sessions.csrf_ok(secret, session, given)
    return ok, _replay(messages, receive)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
