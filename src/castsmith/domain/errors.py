"""castsmith's error hierarchy.

Every layer raises these; vendor and library exceptions are mapped once, at the edge
where they occur (a provider client, the object store, the database), so callers
only ever see this tree::

    CastsmithError
    ├── ValidationError            bad input from a user; permanent (HTTP 422)
    │   └── InvalidName            an actor, id or file name that could escape a key prefix
    ├── NotFound                   an unknown id or missing object (HTTP 404)
    ├── Forbidden                  the caller's role may not do this at all (HTTP 403)
    ├── Conflict                   the request clashes with current state (HTTP 409)
    ├── ConfigurationError         settings are missing or contradict each other
    ├── ImageError                 bytes that are not a usable image (HTTP 422)
    │   └── DecompressionBomb      an image whose pixel count exceeds the configured limit
    ├── InfrastructureUnavailable  castsmith's own database or store is unreachable
    │                              (retryable, on the engine's longer schedule)
    ├── StorageError               the object store failed
    │   └── StorageUnavailable     the store could not be reached (also
    │                              InfrastructureUnavailable)
    ├── JobCancelled               the job was cancelled while it ran
    └── ProviderError              a remote generator failed
        ├── RateLimited            429 or equivalent; carries ``retry_after`` (retryable)
        ├── ProviderUnavailable    5xx, connection errors, timeouts (retryable)
        ├── InvalidRequest         the provider refused the request (permanent)
        ├── ContentFiltered        the provider's safety filter withheld the output (permanent)
        └── OutputExpired          an output URL could not be downloaded any more (permanent)

``retryable`` tells the job engine whether another attempt may succeed.
"""

from __future__ import annotations

from castsmith.domain.redact import mask_credentials


class CastsmithError(Exception):
    """Base of every error castsmith raises on purpose."""

    retryable: bool = False

    def __init__(self, message: str) -> None:
        # Messages reach users, logs and job rows: a URL's password never goes along.
        message = mask_credentials(message)
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ValidationError(CastsmithError):
    """Input that castsmith refuses; ``field`` names the offending field when known."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidName(ValidationError):
    """A name that is empty, too long, or could escape its storage prefix."""


class NotFound(CastsmithError):
    """Something asked for by id or key does not exist."""


class Forbidden(CastsmithError):
    """The caller may not do this, whatever the data (e.g. an admin-only action)."""


class Conflict(CastsmithError):
    """The request clashes with the current state of a resource."""


class ConfigurationError(CastsmithError):
    """Settings are missing, malformed or contradict each other."""


class ImageError(CastsmithError):
    """Bytes that are not an image castsmith can use."""


class DecompressionBomb(ImageError):
    """An image whose pixel count is above the configured limit."""


class InfrastructureUnavailable(CastsmithError):
    """castsmith's own database or object store could not be reached.

    Unlike a provider's hiccup this tends to last minutes (a restart, a failover, an
    outage), so the job engine retries it on a longer schedule of its own.
    """

    retryable = True


class StorageError(CastsmithError):
    """The object store failed."""


class StorageUnavailable(StorageError, InfrastructureUnavailable):
    """The object store could not be reached; another attempt may succeed."""

    retryable = True


class JobCancelled(CastsmithError):
    """The job was cancelled while its handler ran."""


class ProviderError(CastsmithError):
    """A remote generator failed; ``provider`` names it."""

    def __init__(self, message: str, provider: str = "") -> None:
        super().__init__(message)
        self.provider = provider


class RateLimited(ProviderError):
    """The provider asked us to slow down; ``retry_after`` is in seconds when it said."""

    retryable = True

    def __init__(self, message: str, provider: str = "", retry_after: float | None = None) -> None:
        super().__init__(message, provider)
        self.retry_after = retry_after


class ProviderUnavailable(ProviderError):
    """5xx answers, connection errors and timeouts: worth another attempt."""

    retryable = True


class InvalidRequest(ProviderError):
    """The provider refused the request; the message carries its reason in plain words."""


class ContentFiltered(ProviderError):
    """The provider's safety filter withheld the output."""


class OutputExpired(ProviderError):
    """A provider output URL could no longer be downloaded."""
