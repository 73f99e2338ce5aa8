"""Guarded downloads straight to a file, for outputs too large to hold in memory.

The same rules as :func:`castsmith.net.guard.guarded_get` (every hop checked, redirects
followed by hand, credentials dropped when the host changes, a size cap and a deadline),
but the body goes to disk chunk by chunk, so a 170 MB LoRA costs a buffer, not 170 MB.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from castsmith.domain.errors import ValidationError
from castsmith.net.guard import MAX_REDIRECTS, GuardPolicy, check_url


async def _write(response: httpx.Response, dest: Path, max_bytes: int, field: str) -> int:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise ValidationError(
            f"{field}: the file is {int(declared)} bytes, above the {max_bytes} byte limit", field
        )
    total = 0
    with dest.open("wb") as out:
        async for chunk in response.aiter_bytes(1024 * 1024):
            total += len(chunk)
            if total > max_bytes:
                raise ValidationError(f"{field}: the file is larger than {max_bytes} bytes", field)
            await asyncio.to_thread(out.write, chunk)
    return total


async def guarded_save(
    client: httpx.AsyncClient,
    url: str,
    dest: Path,
    policy: GuardPolicy,
    *,
    headers: dict[str, str] | None = None,
    field: str = "url",
    check: bool = True,
) -> tuple[int, int]:
    """GET ``url`` into ``dest``; return the final status and the bytes written.

    An error status writes nothing and is returned, not raised. ``check=False``
    skips the address check for URLs that came from configuration, not from a user.
    """
    current = url
    try:
        async with asyncio.timeout(policy.timeout):
            for _ in range(MAX_REDIRECTS + 1):
                if check:
                    await check_url(current, policy.allow_hosts, field)
                request = client.build_request(
                    "GET", current, headers=headers, timeout=policy.timeout
                )
                response = await client.send(request, stream=True, follow_redirects=False)
                try:
                    if response.is_redirect:
                        location = response.headers.get("location", "")
                        if not location:
                            raise ValidationError(f"{field}: a redirect without a target", field)
                        target = urljoin(current, location)
                        if urlsplit(target).netloc != urlsplit(current).netloc:
                            headers = None
                        current = target
                        continue
                    if not response.is_success:
                        return response.status_code, 0
                    size = await _write(response, dest, policy.max_bytes, field)
                finally:
                    await response.aclose()
                return response.status_code, size
    except TimeoutError:
        raise httpx.ReadTimeout(
            f"the download did not finish within {policy.timeout:g} s"
        ) from None
    raise ValidationError(f"{field}: more than {MAX_REDIRECTS} redirects", field)
