"""The SSRF guard's decisions, made without connecting anywhere.

Nothing here dials an address: names are resolved by a fixed table and requests go to
an in-memory transport, so a guard that let a private address through would fail the
test rather than send packets off the machine.
"""

from __future__ import annotations

import httpx
import pytest

from castsmith.domain.errors import ValidationError
from castsmith.net.guard import GuardPolicy, check_url, guarded_get, is_public

WRAPPED_PRIVATE = [
    "2002:7f00:1::",  # 6to4 around 127.0.0.1
    "2002:a00:1::1",  # 6to4 around 10.0.0.1
    "2002:a9fe:a9fe::",  # 6to4 around 169.254.169.254 (cloud metadata)
    "64:ff9b::7f00:1",  # NAT64 around 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 around 169.254.169.254
    "64:ff9b:1::c0a8:1",  # local-use NAT64 around 192.168.0.1
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:10.1.2.3",
    "::127.0.0.1",  # IPv4-compatible (deprecated)
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
]


@pytest.mark.parametrize("address", WRAPPED_PRIVATE)
def test_addresses_wrapping_a_private_ipv4_are_refused(address: str) -> None:
    assert not is_public(address)


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "2002:5db8:d822::1"]
)
def test_public_addresses_pass(address: str) -> None:
    assert is_public(address)


def table(answers: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    async def resolve(host: str, _port: int) -> list[str]:
        return answers[host]

    return resolve


async def test_a_name_resolving_to_a_wrapped_private_address_is_refused() -> None:
    resolve = table({"sneaky.example": ["93.184.216.34", "2002:7f00:1::"]})
    with pytest.raises(ValidationError, match="private or reserved address"):
        await check_url("http://sneaky.example/x.png", frozenset(), resolve=resolve)
    with pytest.raises(ValidationError):
        await check_url("http://[2002:7f00:1::]/x.png", frozenset(), resolve=table({}))


async def test_the_request_goes_to_the_address_that_was_checked() -> None:
    seen: list[httpx.Request] = []

    def transport(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"image bytes")

    lookups: list[str] = []

    async def resolve(host: str, _port: int) -> list[str]:
        # A rebinding resolver: public the first time, loopback after that.
        lookups.append(host)
        return ["93.184.216.34"] if len(lookups) == 1 else ["127.0.0.1"]

    policy = GuardPolicy(max_bytes=1000, resolve=resolve)
    async with httpx.AsyncClient(transport=httpx.MockTransport(transport)) as client:
        answer = await guarded_get(client, "https://images.example/a.png?x=1", policy)
    assert answer.content == b"image bytes"
    assert lookups == ["images.example"]  # resolved once, by the guard
    (request,) = seen
    assert request.url.host == "93.184.216.34"
    assert request.url.path == "/a.png" and request.url.query == b"x=1"
    assert request.headers["host"] == "images.example"
    assert request.extensions["sni_hostname"] == "images.example"


async def test_each_redirect_hop_is_pinned_to_its_own_checked_address() -> None:
    seen: list[httpx.Request] = []

    def transport(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.headers["host"] == "first.example":
            return httpx.Response(302, headers={"location": "http://second.example/b.png"})
        return httpx.Response(200, content=b"ok")

    resolve = table({"first.example": ["93.184.216.34"], "second.example": ["2002:7f00:1::"]})
    policy = GuardPolicy(max_bytes=1000, resolve=resolve)
    async with httpx.AsyncClient(transport=httpx.MockTransport(transport)) as client:
        with pytest.raises(ValidationError, match=r"second\.example"):
            await guarded_get(client, "http://first.example/a.png", policy)
    assert [r.url.host for r in seen] == ["93.184.216.34"]
