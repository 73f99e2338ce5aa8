"""Ask for the curation checks of freshly stored images (the job lives in ``training``).

Every flow that stores an image calls :func:`request_checks` after its commit. The
job is keyed per actor (or per set of assets), so a burst of stored images is served by
one queued job; the job looks for unchecked images again before it ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Final

from castsmith.domain.errors import CastsmithError
from castsmith.jobs.types import JobView
from castsmith.pipelines._services import Services

KIND_CHECK: Final = "curation.check"

log = logging.getLogger("castsmith.pipelines.checks")


def check_payload(
    *,
    actor_id: int | None = None,
    asset_ids: Sequence[int] = (),
    triage: bool | None = None,
    again: bool = False,
) -> dict[str, Any]:
    """The payload of a ``curation.check`` job."""
    payload: dict[str, Any] = {"again": True} if again else {}
    if actor_id is not None:
        payload["actor_id"] = actor_id
    if asset_ids:
        payload["asset_ids"] = sorted(set(asset_ids))
    if triage is not None:
        payload["triage"] = triage
    return payload


def check_key(payload: dict[str, Any]) -> str:
    """One queued check per actor (or per set of assets) at a time."""
    if "actor_id" in payload:
        return f"{KIND_CHECK}:actor:{payload['actor_id']}"
    return f"{KIND_CHECK}:assets:{','.join(map(str, payload.get('asset_ids', [])))}"


async def request_checks(
    services: Services,
    *,
    actor_id: int | None = None,
    asset_ids: Sequence[int] = (),
    triage: bool | None = None,
    again: bool = False,
    webhook_url: str | None = None,
) -> JobView | None:
    """Enqueue a check job; a failure to enqueue is logged, never raised (the image is
    stored, and a later check or listing picks it up). ``webhook_url`` receives a POST
    when the job ends."""
    payload = check_payload(actor_id=actor_id, asset_ids=asset_ids, triage=triage, again=again)
    try:
        view: JobView = await asyncio.to_thread(
            services.queue.enqueue,
            KIND_CHECK,
            payload,
            idempotency_key=check_key(payload),
            owner_id=services.caller.user_id,
            webhook_url=webhook_url,
        )
    except CastsmithError:
        log.warning("could not enqueue the curation check for %s", payload, exc_info=True)
        return None
    return view
