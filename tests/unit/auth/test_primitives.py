"""Password hashes, tokens, signed sessions and the auth mode, without a server."""

from __future__ import annotations

import pytest

from castsmith.auth import passwords, sessions, tokens
from castsmith.auth.policy import auth_required, is_loopback, is_public
from castsmith.config import Settings
from castsmith.domain import access

SECRET = b"k" * 32
ANY_HOST = "0.0.0.0"


def test_password_hashes_are_salted_and_verify() -> None:
    first = passwords.hash_password("s3cret-pass")
    second = passwords.hash_password("s3cret-pass")
    assert first != second
    assert first.startswith("scrypt$") and "s3cret" not in first
    assert passwords.verify_password("s3cret-pass", first)
    assert not passwords.verify_password("s3cret-pasS", first)
    assert not passwords.verify_password("x", None)
    assert not passwords.verify_password("x", "md5$abc")
    assert not passwords.verify_password("x", "garbage")


def test_tokens_are_random_and_hashed() -> None:
    raw = tokens.new_token()
    assert raw.startswith("cst_") and len(raw) > 40
    assert tokens.new_token() != raw
    assert tokens.token_hash(raw) == tokens.token_hash(raw)
    assert len(tokens.token_hash(raw)) == 64 and raw not in tokens.token_hash(raw)
    assert raw.startswith(tokens.display_prefix(raw))


def test_sessions_verify_expire_and_resist_tampering() -> None:
    value = sessions.issue(SECRET, 7, 60, now=1000)
    session = sessions.verify(SECRET, value, now=1030)
    assert session is not None and session.user_id == 7
    assert sessions.verify(SECRET, value, now=1061) is None
    assert sessions.verify(b"other" * 8, value, now=1030) is None
    payload, _, sig = value.partition(".")
    forged = sessions.issue(SECRET, 8, 60, now=1000).partition(".")[0]
    assert sessions.verify(SECRET, f"{forged}.{sig}", now=1030) is None
    assert sessions.verify(SECRET, payload, now=1030) is None
    assert sessions.verify(SECRET, "", now=1030) is None


def test_csrf_tokens_belong_to_one_session() -> None:
    one = sessions.verify(SECRET, sessions.issue(SECRET, 1, 60))
    two = sessions.verify(SECRET, sessions.issue(SECRET, 1, 60))
    assert one is not None and two is not None
    token = sessions.csrf_token(SECRET, one)
    assert sessions.csrf_ok(SECRET, one, token)
    assert not sessions.csrf_ok(SECRET, two, token)
    assert not sessions.csrf_ok(SECRET, one, None)
    assert not sessions.csrf_ok(SECRET, one, token[:-1] + "é")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        (ANY_HOST, False),
        ("192.168.1.5", False),
        ("example.com", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_modes_and_public_paths() -> None:
    assert not auth_required(Settings(auth="auto", host="127.0.0.1"))
    assert auth_required(Settings(auth="auto", host=ANY_HOST))
    assert auth_required(Settings(auth="required", host="127.0.0.1"))
    assert not auth_required(Settings(auth="off", host=ANY_HOST))
    assert is_public("/healthz") and is_public("/files/a/b.png") and is_public("/login")
    assert not is_public("/api/actors") and not is_public("/") and not is_public("/filesx")


def test_scopes() -> None:
    assert access.owner_scope(access.OPERATOR) is None  # CLI and workers: unrestricted
    alice = access.Principal(3, "alice")
    assert access.owner_scope(alice) == 3
    assert access.may_access(alice, 3)
    assert not access.may_access(alice, 4) and not access.may_access(alice, None)
    assert access.owner_for_new(alice, 9) == 3
    root = access.Principal(1, "root", role=access.ADMIN)
    assert access.owner_scope(root) is None and access.owner_for_new(root, 9) == 9
    assert access.owner_scope(access.ANONYMOUS) == access.NOBODY
