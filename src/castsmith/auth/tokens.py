"""API tokens: made random, shown once, stored only as their SHA-256."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "cst_"  # noqa: S105 - a label, not a secret
PREFIX_CHARS = 12


def new_token() -> str:
    """A fresh token: ``cst_`` and 43 URL-safe characters (256 random bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """The stored form of ``token``: its SHA-256 in hex.

    A plain hash suffices (no salt, no slow KDF): tokens carry 256 random bits, so
    there is nothing to guess, and an unsalted hash can be looked up by index.
    """
    return hashlib.sha256(token.encode()).hexdigest()


def display_prefix(token: str) -> str:
    """The first characters, shown in listings so a person can tell tokens apart."""
    return token[:PREFIX_CHARS]
