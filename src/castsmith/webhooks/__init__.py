"""Outgoing webhooks signed with the Standard Webhooks scheme."""

from castsmith.webhooks.signing import (
    WebhookVerificationError,
    decode_secret,
    generate_secret,
    sign,
    signed_headers,
    verify,
)

__all__ = [
    "WebhookVerificationError",
    "decode_secret",
    "generate_secret",
    "sign",
    "signed_headers",
    "verify",
]
