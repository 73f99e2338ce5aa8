"""Download a user-supplied URL without letting it reach inside the network.

A URL given by a user could point at the machine itself, the private network or a
cloud metadata service. So: only ``http``/``https``; the host name is resolved and every
address it resolves to must be public (not private, loopback, link-local, multicast,
reserved or unspecified) - checked again on every redirect, which is followed by hand;
the body is streamed and cut off at ``max_bytes``; the whole download has a deadline.
Hosts in ``settings.fetch_allow_hosts`` skip the address check (a local mirror, the
tests' loopback server).

Every refusal is a ``ValidationError`` naming the field the URL came from, with the
reason in plain words.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from castsmith.config import Settings
from castsmith.domain.errors import ValidationError
from castsmith.net import guard

MAX_REDIRECTS = guard.MAX_REDIRECTS
USER_AGENT = "castsmith-fetch/1"


@dataclass(frozen=True)
class Fetched:
    """A downloaded body and what the server said about it."""

    url: str
    data: bytes
    content_type: str | None


@dataclass(frozen=True)
class FetchPolicy:
    """Limits of one download."""

    max_bytes: int
    timeout: float = 30.0
    allow_hosts: frozenset[str] = frozenset()


async def check_url(url: str, policy: FetchPolicy, field: str = "url") -> None:
    """Refuse ``url`` unless it is http(s) and its host resolves only to public addresses."""
    await guard.check_url(url, policy.allow_hosts, field)


async def fetch_url(url: str, policy: FetchPolicy, field: str = "url") -> Fetched:
    """Download ``url`` under ``policy``; ``ValidationError`` naming ``field`` on refusal."""
    limits = guard.GuardPolicy(policy.max_bytes, policy.timeout, policy.allow_hosts)
    async with httpx.AsyncClient(
        follow_redirects=False,
        timeout=httpx.Timeout(policy.timeout),
        headers={"user-agent": USER_AGENT},
        trust_env=False,
    ) as client:
        try:
            response = await guard.guarded_get(client, url, limits, field=field)
        except httpx.TimeoutException:
            raise ValidationError(
                f"{field}: the download did not finish within {policy.timeout:g} s", field
            ) from None
        except httpx.HTTPError as exc:
            reason = str(exc) or type(exc).__name__
            raise ValidationError(f"{field}: could not download {url}: {reason}", field) from None
    final = str(response.request.url)
    if response.status_code >= 400:
        raise ValidationError(
            f"{field}: the server answered HTTP {response.status_code} for {final}", field
        )
    return Fetched(final, response.content, response.headers.get("content-type"))


def policy_from_settings(settings: Settings) -> FetchPolicy:
    """The download policy the settings describe (upload size limit, timeout, allow-list)."""
    return FetchPolicy(
        max_bytes=settings.max_upload_bytes,
        timeout=settings.fetch_timeout,
        allow_hosts=guard.allow_list(settings.fetch_allow_hosts),
    )
