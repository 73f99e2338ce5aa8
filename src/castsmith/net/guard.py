"""Outbound download guard: keep a URL from reaching inside the network.

A URL from a user or from a provider's answer could point at the machine itself, the
private network or a cloud metadata service. :func:`check_url` allows only ``http``
and ``https`` and resolves the host: every address must be public (not private,
loopback, link-local, multicast, reserved or unspecified). :func:`guarded_get`
follows redirects by hand, checking each hop, reads at most ``max_bytes`` and gives
up after ``timeout`` seconds. Hosts in ``allow_hosts`` skip the address check (a
configured provider, a local mirror, the tests' loopback servers).

Refusals are :class:`~castsmith.domain.errors.ValidationError` naming ``field``;
transport failures are left as ``httpx`` errors so each caller maps them its own way.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from castsmith.domain.errors import ValidationError

MAX_REDIRECTS = 5


@dataclass(frozen=True)
class GuardPolicy:
    """Limits of one guarded download."""

    max_bytes: int
    timeout: float = 30.0
    allow_hosts: frozenset[str] = frozenset()


def allow_list(*sources: str | Iterable[str]) -> frozenset[str]:
    """Lower-cased host names from comma-separated strings, URLs or iterables of them.

    A full URL contributes its host (``http://127.0.0.1:9000/x`` -> ``127.0.0.1``).
    """
    hosts: set[str] = set()
    for source in sources:
        items = source.split(",") if isinstance(source, str) else list(source)
        for item in items:
            item = item.strip()
            if not item:
                continue
            host = urlsplit(item).hostname if "://" in item else item
            if host:
                hosts.add(host.lower())
    return frozenset(hosts)


def is_public(address: str) -> bool:
    """True when ``address`` is a globally routable unicast IP address."""
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


async def check_url(url: str, allow_hosts: frozenset[str], field: str = "url") -> None:
    """Refuse ``url`` unless it is http(s) and its host resolves only to public addresses."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise ValidationError(f"{field} must be an http or https URL: {url!r}", field)
    host = (parts.hostname or "").lower()
    if not host:
        raise ValidationError(f"{field} has no host name: {url!r}", field)
    if host in allow_hosts:
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
    blocked = sorted(address for address in addresses if not is_public(address))
    if blocked or not addresses:
        raise ValidationError(
            f"{field}: the host {host!r} resolves to a private or reserved address "
            f"({', '.join(blocked) or 'none'}); only public addresses may be fetched",
            field,
        )


async def guarded_get(
    client: httpx.AsyncClient,
    url: str,
    policy: GuardPolicy,
    *,
    headers: dict[str, str] | None = None,
    field: str = "url",
) -> httpx.Response:
    """GET ``url`` under ``policy``; the final (non-redirect) response, body read.

    Error statuses are returned, not raised: what a 403 or a 500 means is the
    caller's business. A download not done within ``policy.timeout`` raises
    ``httpx.ReadTimeout``.
    """
    try:
        async with asyncio.timeout(policy.timeout):
            return await _follow(client, url, policy, headers, field)
    except TimeoutError:
        raise httpx.ReadTimeout(
            f"the download did not finish within {policy.timeout:g} s"
        ) from None


async def _follow(
    client: httpx.AsyncClient,
    url: str,
    policy: GuardPolicy,
    headers: dict[str, str] | None,
    field: str,
) -> httpx.Response:
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        await check_url(current, policy.allow_hosts, field)
        request = client.build_request("GET", current, headers=headers, timeout=policy.timeout)
        response = await client.send(request, stream=True, follow_redirects=False)
        try:
            if response.is_redirect:
                location = response.headers.get("location", "")
                if not location:
                    raise ValidationError(f"{field}: a redirect without a target", field)
                # Credentials meant for the first host must not travel to another one.
                if urlsplit(urljoin(current, location)).netloc != urlsplit(current).netloc:
                    headers = None
                current = urljoin(current, location)
                continue
            body = await read_capped(response, policy.max_bytes, field)
        finally:
            await response.aclose()
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            content=body,
            request=response.request,
        )
    raise ValidationError(f"{field}: more than {MAX_REDIRECTS} redirects", field)


async def read_capped(response: httpx.Response, max_bytes: int, field: str) -> bytes:
    """The body of a streamed response, refusing more than ``max_bytes``."""
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
