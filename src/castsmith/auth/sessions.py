"""Signed session cookies and their CSRF tokens.

A cookie value is ``<payload>.<signature>``: the payload is URL-safe base64 of
``{"u": user id, "e": expiry (unix seconds), "n": random nonce}``, the signature an
HMAC-SHA256 of the payload under the container's signing secret. Nothing secret is in
the payload. The server stores nothing for a live session; logging out records the
nonce as revoked (``revoked_sessions``) until the cookie would have expired. The CSRF
token is an HMAC of the nonce, so it is bound to one session and changes with every
login.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

COOKIE_NAME = "castsmith_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class Session:
    """A verified session: whose, until when, and its CSRF token."""

    user_id: int
    expires_at: int
    nonce: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: bytes, purpose: str, message: str) -> str:
    return _b64(hmac.new(secret, f"{purpose}:{message}".encode(), hashlib.sha256).digest())


def issue(secret: bytes, user_id: int, max_age: int, *, now: float | None = None) -> str:
    """A cookie value for ``user_id`` valid for ``max_age`` seconds."""
    expires = int((now if now is not None else time.time()) + max_age)
    payload = _b64(json.dumps({"u": user_id, "e": expires, "n": secrets.token_hex(16)}).encode())
    return f"{payload}.{_sign(secret, 'session', payload)}"


def verify(secret: bytes, value: str, *, now: float | None = None) -> Session | None:
    """The session in ``value`` when its signature holds and it has not expired."""
    payload, _, signature = value.partition(".")
    if not payload or not signature:
        return None
    if not hmac.compare_digest(signature, _sign(secret, "session", payload)):
        return None
    try:
        data = json.loads(_unb64(payload))
        session = Session(int(data["u"]), int(data["e"]), str(data["n"]))
    except (ValueError, KeyError, TypeError):
        return None
    if session.expires_at <= (now if now is not None else time.time()):
        return None
    return session


def csrf_token(secret: bytes, session: Session) -> str:
    """The CSRF token of ``session``."""
    return _sign(secret, "csrf", session.nonce)


def csrf_ok(secret: bytes, session: Session, given: str | None) -> bool:
    """Whether ``given`` is the CSRF token of ``session``."""
    if not given:
        return False
    # compare_digest refuses non-ASCII text; compare bytes so odd input is just "wrong".
    expected = csrf_token(secret, session).encode()
    return hmac.compare_digest(str(given).encode("utf-8", "replace"), expected)
