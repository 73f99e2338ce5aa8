"""Which requests need a login: the mode, and the routes that stay public."""

from __future__ import annotations

import ipaddress

from castsmith.config import Settings

LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost", "ip6-loopback"})

# Exact paths and path prefixes anyone may reach. Signed file links carry their own
# authorization (an HMAC over the key and expiry), so they need no login.
PUBLIC_PATHS = frozenset({"/healthz", "/login", "/favicon.ico"})
PUBLIC_PREFIXES = ("/static/", "/files/", "/api/mv/character_reference_file/")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine."""
    name = host.strip().strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def auth_required(settings: Settings) -> bool:
    """``required`` always, ``off`` never, ``auto`` unless bound to loopback."""
    if settings.auth == "required":
        return True
    if settings.auth == "off":
        return False
    return not is_loopback(settings.host)


def is_public(path: str) -> bool:
    """Whether ``path`` is served without a login."""
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def is_api(path: str) -> bool:
    """API paths answer 401; pages redirect to the login form instead."""
    return path == "/api" or path.startswith("/api/") or path in {"/openapi.json"}
