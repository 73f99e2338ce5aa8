"""Ownership checks on routes that name one owned thing in their path.

Every route gets :func:`ownership_guard` as a dependency. When the caller is not an
admin and the route's path names an actor, a persona task, a character reference or a
job, the guard looks up that row's owner and answers 404 - the same answer as for an
unknown id - when it belongs to someone else, so ids of other users' data don't leak.
Listings narrow themselves through :func:`castsmith.domain.access.owner_scope`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from castsmith.auth import policy
from castsmith.auth.scope import caller_of
from castsmith.db.models import Actor, CharacterReference, Job, PersonaTask
from castsmith.domain import access
from castsmith.domain.errors import NotFound


@dataclass(frozen=True)
class Owned:
    """A path parameter naming an owned row, on routes under ``prefixes``."""

    param: str
    prefixes: tuple[str, ...]
    owner_of: Callable[[Session, str], tuple[bool, int | None]]
    missing: Callable[[str], str]


def _by_int(model: Any) -> Callable[[Session, str], tuple[bool, int | None]]:
    def owner(session: Session, raw: str) -> tuple[bool, int | None]:
        if not (raw.isascii() and raw.isdigit()):
            return False, None  # the route's own validation answers 422 for it
        key = int(raw)
        if not 1 <= key < 2**63:
            return False, None  # no row has it, and the driver would fail on it
        row = session.execute(select(model.owner_id).where(model.id == key)).first()
        return (True, row[0]) if row is not None else (False, None)

    return owner


def _persona_owner(session: Session, raw: str) -> tuple[bool, int | None]:
    row = session.execute(select(PersonaTask.owner_id).where(PersonaTask.task_id == raw)).first()
    return (True, row[0]) if row is not None else (False, None)


def _reference_owner(session: Session, raw: str) -> tuple[bool, int | None]:
    row = session.execute(
        select(CharacterReference.owner_id).where(CharacterReference.id == raw)
    ).first()
    return (True, row[0]) if row is not None else (False, None)


OWNED: tuple[Owned, ...] = (
    Owned(
        "actor_id",
        ("/api/actors/", "/actors/"),
        _by_int(Actor),
        lambda raw: f"actor {raw} not found",
    ),
    Owned(
        "task_id",
        ("/api/persona-tasks/", "/personas/"),
        _persona_owner,
        lambda raw: f"persona task {raw} not found",
    ),
    Owned(
        "image_id",
        ("/api/mv/", "/api/character-references/"),
        _reference_owner,
        lambda raw: f"no character reference with id '{raw}'",
    ),
    Owned("job_id", ("/api/jobs/",), _by_int(Job), lambda raw: f"job {raw} not found"),
)


async def ownership_guard(request: Request) -> None:
    """404 when the caller may not see the row the route's path names."""
    caller = caller_of(request)
    # Anonymous callers only reach public routes, whose signature is the authorization.
    if caller is None or access.owner_scope(caller) is None or caller.via == access.ANONYMOUS.via:
        return
    path: str = request.scope["path"]
    if policy.is_public(path):
        return  # signed links: the signature is the authorization, whoever follows them
    wanted = [
        (owned, str(request.path_params[owned.param]))
        for owned in OWNED
        if owned.param in request.path_params and path.startswith(owned.prefixes)
    ]
    if not wanted:
        return
    sessions = request.app.state.container.sessions

    def check() -> str | None:
        with sessions() as session:
            for owned, raw in wanted:
                found, owner_id = owned.owner_of(session, raw)
                if found and not access.may_access(caller, owner_id):
                    return owned.missing(raw)
        return None

    # The context (the caller) is copied into the worker thread by ``to_thread``.
    refusal = await asyncio.to_thread(check)
    if refusal is not None:
        raise NotFound(refusal)
