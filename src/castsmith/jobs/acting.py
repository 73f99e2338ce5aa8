"""Whom a job's handler acts as: the job's owner, recorded when it was enqueued."""

from __future__ import annotations

from sqlalchemy import Engine, select

from castsmith.db.models import User
from castsmith.domain.access import NOBODY, OPERATOR, Principal


def owner_principal(engine: Engine, owner_id: int | None) -> Principal:
    """The principal a job owned by ``owner_id`` runs as.

    No owner means the operator queued it (the command line, a worker's own periodic
    work, or a server without logins). An owner who is gone or disabled can no longer
    reach anything: the job runs with a scope that matches no row.
    """
    if owner_id is None:
        return OPERATOR
    with engine.connect() as conn:
        row = conn.execute(
            select(User.username, User.role, User.disabled).where(User.id == owner_id)
        ).first()
    if row is None or row.disabled:
        return Principal(user_id=NOBODY, username="nobody", via="job")
    return Principal(user_id=owner_id, username=row.username, role=row.role, via="job")
