"""A cheap HTTP/1.1 load generator: raw keep-alive connections on asyncio streams.

The load benchmarks run the clients on the same cores as the server. httpx spends
about a millisecond of CPU per request (its models, header handling, connection pool),
which at a few hundred requests a second takes a core away from the server being
measured. Here each client holds one keep-alive connection, writes a fixed request and
reads the answer by its ``Content-Length`` (or chunks): a few tens of microseconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Tally:
    """What the clients saw: one duration per request, and how many failed."""

    times: list[float] = field(default_factory=list)
    errors: int = 0


class Broken(Exception):
    """The connection closed or answered something that is not HTTP/1.1."""


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one answer; its status and whether the connection stays open."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise Broken(lines[0][:80])
    status = int(parts[1])
    length = None
    chunked = False
    keep = True
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif name == b"connection" and b"close" in value.lower():
            keep = False
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length is not None:
        await reader.readexactly(length)
    else:
        await reader.read()  # until the server closes
        keep = False
    return status, keep


async def _client(
    host: str, port: int, requests: Sequence[bytes], first: int, end: float, tally: Tally
) -> None:
    """One client: its requests in turn on one connection until ``end``."""
    k = first
    connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    while time.perf_counter() < end:
        start = time.perf_counter()
        try:
            if connection is None:
                connection = await asyncio.open_connection(host, port)
            reader, writer = connection
            writer.write(requests[k % len(requests)])
            status, keep = await asyncio.wait_for(_read_answer(reader), 60)
            tally.errors += status != 200
            if not keep:
                writer.close()
                connection = None
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, Broken):
            # A dropped or refused connection (or an answer over 60 s: TimeoutError is an
            # OSError) is a failed request, counted as one; the client opens a new
            # connection for its next request.
            tally.errors += 1
            if connection is not None:
                connection[1].close()
            connection = None
        tally.times.append(time.perf_counter() - start)
        k += 1
    if connection is not None:
        connection[1].close()


async def run_clients(
    host: str, port: int, paths: Sequence[str], clients: int, seconds: float
) -> Tally:
    """``clients`` keep-alive clients, each sending GETs of ``paths`` in turn."""
    requests = [
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: */*\r\n\r\n".encode()
        for path in paths
    ]
    tally = Tally()
    end = time.perf_counter() + seconds
    await asyncio.gather(*(_client(host, port, requests, i, end, tally) for i in range(clients)))
    return tally
