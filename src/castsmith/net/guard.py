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
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from castsmith.domain.errors import ValidationError

MAX_REDIRECTS = 5


Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolver(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, through the system's resolver."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True)
class GuardPolicy:
    """Limits of one guarded download."""

    max_bytes: int
    timeout: float = 30.0
    allow_hosts: frozenset[str] = frozenset()
    resolve: Resolver = system_resolver
    """How host names are looked up (tests give a fixed answer; nothing is dialed)."""


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


# IPv6 prefixes that carry an IPv4 address in their last 32 bits: NAT64 (well-known and
# local-use) and the deprecated IPv4-compatible form. 6to4 and Teredo have their own.
_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_V4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address stands for (mapped, 6to4, Teredo, NAT64)."""
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    if any(ip in network for network in _NAT64) or (
        ip in _V4_COMPATIBLE and int(ip) > 1  # not :: nor ::1, which are their own thing
    ):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def _routable(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def is_public(address: str) -> bool:
    """True when ``address`` is a globally routable unicast IP address.

    An IPv6 address that wraps an IPv4 one (``::ffff:127.0.0.1``, 6to4
    ``2002:7f00:1::``, Teredo, NAT64 ``64:ff9b::7f00:1``) is judged by what it wraps
    as well: packets sent to it end up at that IPv4 address.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        inner = embedded_ipv4(ip)
        if inner:
            return all(_routable(v4) for v4 in inner) and (
                ip.ipv4_mapped is not None or _routable(ip)
            )
    return _routable(ip)


async def check_url(
    url: str,
    allow_hosts: frozenset[str],
    field: str = "url",
    *,
    resolve: Resolver = system_resolver,
) -> list[str]:
    """Refuse ``url`` unless it is http(s) and its host resolves only to public addresses.

    Returns the checked addresses (none for an allow-listed host), so the caller can
    connect to one of them rather than resolve the name a second time.
    """
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise ValidationError(f"{field} must be an http or https URL: {url!r}", field)
    host = (parts.hostname or "").lower()
    if not host:
        raise ValidationError(f"{field} has no host name: {url!r}", field)
    if host in allow_hosts:
        return []
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ValidationError(f"{field} has an invalid port: {url!r}", field) from None
    try:
        addresses = [_literal(host)] if _is_literal(host) else await resolve(host, port)
        addresses = list(dict.fromkeys(addresses))
    except (socket.gaierror, UnicodeError) as exc:
        raise ValidationError(
            f"{field}: the host {host!r} could not be resolved ({exc})", field
        ) from None
    blocked = sorted(address for address in addresses if not is_public(address))
    if blocked or not addresses:
        raise ValidationError(
            f"{field}: the host {host!r} resolves to a private or reserved address "
            f"({', '.join(blocked) or 'none'}); only public addresses may be fetched",
            field,
        )
    return addresses


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def _literal(host: str) -> str:
    return str(ipaddress.ip_address(host.split("%", 1)[0]))


def pinned_request(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    addresses: list[str],
    *,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
    **options: Any,
) -> httpx.Request:
    """A request for ``url`` that connects to the checked ``addresses[0]``.

    The name is not resolved again (a second lookup could answer with another
    address: DNS rebinding). The ``Host`` header and, for https, the TLS server name
    stay the URL's own host, so virtual hosting and certificate checks still work.
    With no addresses (an allow-listed host) the URL is used as it is.
    """
    if not addresses:
        return client.build_request(method, url, headers=headers, timeout=timeout, **options)
    parts = httpx.URL(url)
    address = addresses[0].split("%", 1)[0]
    request = client.build_request(
        method,
        parts.copy_with(host=address),
        headers={**(headers or {}), "Host": parts.netloc.decode("ascii").rpartition("@")[2]},
        timeout=timeout,
        **options,
    )
    if parts.scheme == "https":
        request.extensions["sni_hostname"] = parts.host
    return request


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
        addresses = await check_url(current, policy.allow_hosts, field, resolve=policy.resolve)
        request = pinned_request(
            client, "GET", current, addresses, headers=headers, timeout=policy.timeout
        )
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
