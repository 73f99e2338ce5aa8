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
from typing import Protocol

import httpx

from castsmith.domain.errors import ValidationError
from castsmith.net import guard
from castsmith.net.guard import GuardPolicy

MAX_REDIRECTS = guard.MAX_REDIRECTS
USER_AGENT = "castsmith-fetch/1"


@dataclass(frozen=True)
class Fetched:
    """A downloaded body and what the server said about it."""

    url: str
    data: bytes
    content_type: str | None


class FetchSettings(Protocol):
    """The settings a download policy is made from (``castsmith.config.Settings`` has them)."""

    @property
    def max_upload_bytes(self) -> int: ...
    @property
    def fetch_timeout(self) -> float: ...
    @property
    def fetch_allow_hosts(self) -> str: ...


async def fetch_url(url: str, policy: GuardPolicy, field: str = "url") -> Fetched:
    """Download ``url`` under ``policy``; ``ValidationError`` naming ``field`` on refusal."""
    async with httpx.AsyncClient(
        follow_redirects=False,
        timeout=httpx.Timeout(policy.timeout),
        headers={"user-agent": USER_AGENT},
        trust_env=False,
    ) as client:
        try:
            response = await guard.guarded_get(client, url, policy, field=field)
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


def policy_from_settings(settings: FetchSettings) -> GuardPolicy:
    """The download policy the settings describe (upload size limit, timeout, allow-list)."""
    return GuardPolicy(
        max_bytes=settings.max_upload_bytes,
        timeout=settings.fetch_timeout,
        allow_hosts=guard.allow_list(settings.fetch_allow_hosts),
    )
