"""Downloading a trainer's weights to disk and normalising them to one safetensors."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import httpx

from castsmith.domain.errors import ValidationError
from castsmith.net.guard import GuardPolicy
from castsmith.net.stream import guarded_save
from castsmith.providers._http import Boundary, where
from castsmith.providers.trainers._weights import normalise


async def save_weights(
    boundary: Boundary,
    url: str,
    dest: Path,
    max_bytes: int,
    guard: GuardPolicy | None,
    headers: dict[str, str] | None = None,
) -> int:
    """Stream ``url`` next to ``dest``, then put its single safetensors at ``dest``."""
    raw = dest.with_name(dest.name + ".download")
    policy = guard or GuardPolicy(max_bytes=max_bytes, timeout=boundary.timeout)
    policy = GuardPolicy(max_bytes, max(policy.timeout, 600.0), policy.allow_hosts)
    try:
        try:
            status, _size = await guarded_save(
                boundary.http,
                url,
                raw,
                policy,
                headers=headers,
                field="weights URL",
                check=guard is not None,
            )
        except ValidationError as exc:
            raise boundary.invalid(f"{boundary.provider} weights refused: {exc}") from None
        except httpx.TimeoutException:
            raise boundary.unavailable(
                f"downloading the {boundary.provider} weights timed out"
            ) from None
        except httpx.TransportError as exc:
            raise boundary.unavailable(
                f"could not download the {boundary.provider} weights ({type(exc).__name__})"
            ) from None
        if status in (403, 404, 410):
            raise boundary.invalid(
                f"the {boundary.provider} weights are no longer available "
                f"(HTTP {status} from {where(url)})"
            )
        if status >= 400:
            raise boundary.unavailable(
                f"downloading the {boundary.provider} weights failed (HTTP {status})"
            )
        return await asyncio.to_thread(normalise, raw, dest, max_bytes)
    finally:
        with contextlib.suppress(FileNotFoundError):
            raw.unlink()
