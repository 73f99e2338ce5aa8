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

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from castsmith.config import Settings
from castsmith.domain.errors import ValidationError

MAX_REDIRECTS = 5
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


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


async def check_url(url: str, policy: FetchPolicy, field: str = "url") -> None:
    """Refuse ``url`` unless it is http(s) and its host resolves only to public addresses."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise ValidationError(f"{field} must be an http or https URL: {url!r}", field)
    host = (parts.hostname or "").lower()
    if not host:
        raise ValidationError(f"{field} has no host name: {url!r}", field)
    if host in policy.allow_hosts:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValidationError(f"{field} has an invalid port: {url!r}", field) from None
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ValidationError(
            f"{field}: the host {host!r} could not be resolved ({exc})", field
        ) from None
    addresses = {str(info[4][0]) for info in infos}
    blocked = sorted(address for address in addresses if not _is_public(address))
    if blocked or not addresses:
        raise ValidationError(
            f"{field}: the host {host!r} resolves to a private or reserved address "
            f"({', '.join(blocked) or 'none'}); only public addresses may be fetched",
            field,
        )


async def fetch_url(url: str, policy: FetchPolicy, field: str = "url") -> Fetched:
    """Download ``url`` under ``policy``; ``ValidationError`` naming ``field`` on refusal."""
    try:
        async with asyncio.timeout(policy.timeout):
            return await _fetch(url, policy, field)
    except TimeoutError:
        raise ValidationError(
            f"{field}: the download did not finish within {policy.timeout:g} s", field
        ) from None


async def _fetch(url: str, policy: FetchPolicy, field: str) -> Fetched:
    timeout = httpx.Timeout(policy.timeout)
    async with httpx.AsyncClient(
        follow_redirects=False, timeout=timeout, headers={"user-agent": USER_AGENT}, trust_env=False
    ) as client:
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            await check_url(current, policy, field)
            try:
                async with client.stream("GET", current) as response:
                    if response.is_redirect:
                        location = response.headers.get("location", "")
                        if not location:
                            raise ValidationError(f"{field}: a redirect without a target", field)
                        current = urljoin(current, location)
                        continue
                    if response.status_code >= 400:
                        raise ValidationError(
                            f"{field}: the server answered HTTP {response.status_code} "
                            f"for {current}",
                            field,
                        )
                    data = await _read_capped(response, policy.max_bytes, field)
                    return Fetched(current, data, response.headers.get("content-type"))
            except httpx.HTTPError as exc:
                reason = str(exc) or type(exc).__name__
                raise ValidationError(
                    f"{field}: could not download {current}: {reason}", field
                ) from None
        raise ValidationError(f"{field}: more than {MAX_REDIRECTS} redirects", field)


async def _read_capped(response: httpx.Response, max_bytes: int, field: str) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise ValidationError(
            f"{field}: the file is {int(declared)} bytes, above the {max_bytes} byte limit", field
        )
    chunks: list[bytes] = []
    total = 0
    async for chunk in response.aiter_bytes():
        total += len(chunk)
        if total > max_bytes:
            raise ValidationError(f"{field}: the file is larger than {max_bytes} bytes", field)
        chunks.append(chunk)
    return b"".join(chunks)


def policy_from_settings(settings: Settings) -> FetchPolicy:
    """The download policy the settings describe (upload size limit, timeout, allow-list)."""
    hosts = {host.strip().lower() for host in settings.fetch_allow_hosts.split(",")}
    return FetchPolicy(
        max_bytes=settings.max_upload_bytes,
        timeout=settings.fetch_timeout,
        allow_hosts=frozenset(host for host in hosts if host),
    )
