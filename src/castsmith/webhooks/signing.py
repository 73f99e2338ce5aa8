"""Standard Webhooks signatures (https://www.standardwebhooks.com), pure functions.

A delivery carries three headers: ``webhook-id`` (the message id, the same on every
retry so receivers can de-duplicate), ``webhook-timestamp`` (Unix seconds) and
``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``,
space-separated when several keys sign). The secret is ``whsec_`` followed by the
base64 of the key bytes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

from castsmith.domain.errors import ConfigurationError

SECRET_PREFIX = "whsec_"  # noqa: S105 - the scheme's prefix, not a secret
DEFAULT_TOLERANCE = 5 * 60


class WebhookVerificationError(Exception):
    """A delivery whose headers or signature do not check out."""


def generate_secret(size: int = 24) -> str:
    """A new random ``whsec_...`` secret."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(size)).decode()


def decode_secret(secret: str) -> bytes:
    """The key bytes of a ``whsec_<base64>`` secret; ConfigurationError when malformed."""
    raw = secret.strip().removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigurationError("CASTSMITH_WEBHOOK_SECRET must look like whsec_<base64>") from None
    if not key:
        raise ConfigurationError("CASTSMITH_WEBHOOK_SECRET is empty")
    return key


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``v1,<base64>`` signature of one delivery."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(decode_secret(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(
    secret: str, msg_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """The three headers of a delivery of ``body``."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(secret, msg_id, stamp, body),
    }


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> None:
    """Check a received delivery as a receiver would; WebhookVerificationError if bad.

    ``headers`` keys are matched case-insensitively. The timestamp must be within
    ``tolerance`` seconds of ``now`` (replay protection).
    """
    lower = {key.lower(): value for key, value in headers.items()}
    msg_id = lower.get("webhook-id")
    stamp = lower.get("webhook-timestamp")
    signatures = lower.get("webhook-signature")
    if not msg_id or not stamp or not signatures:
        raise WebhookVerificationError("missing webhook-id, -timestamp or -signature header")
    try:
        when = int(stamp)
    except ValueError:
        raise WebhookVerificationError("webhook-timestamp is not a number") from None
    current = time.time() if now is None else now
    if abs(current - when) > tolerance:
        raise WebhookVerificationError("webhook-timestamp is outside the tolerance")
    expected = sign(secret, msg_id, when, body).split(",", 1)[1]
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return
    raise WebhookVerificationError("no matching signature")
