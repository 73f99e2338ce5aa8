"""Who is acting, and what they may see.

Every read or write of owned rows (actors, persona tasks, character references, LoRA
trainings, video jobs, jobs) is handed its caller explicitly: the web app scopes the
application container to each request's authenticated :class:`Principal`, a worker to
each job's owner, and the command line says it acts as :data:`OPERATOR`. Queries narrow
themselves with :func:`owner_scope`. A container scoped to nobody raises
:class:`NoCaller` when asked for its caller: never "everything".
"""

from __future__ import annotations

from dataclasses import dataclass

from castsmith.domain.errors import ValidationError

ADMIN = "admin"
USER = "user"
ROLES = (ADMIN, USER)

# Matches no row: ids start at 1. Used for a principal with no user id and no admin role.
NOBODY = -1


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a user (or the built-in local admin, ``user_id=None``)."""

    user_id: int | None
    username: str
    role: str = USER
    via: str = "token"
    """How the caller proved who they are: ``token``, ``session`` or ``local``."""

    @property
    def is_admin(self) -> bool:
        """Admins see and change everyone's data."""
        return self.role == ADMIN


LOCAL_ADMIN = Principal(user_id=None, username="local", role=ADMIN, via="local")
# The person running the command line or a worker: full authority, said explicitly.
OPERATOR = Principal(user_id=None, username="operator", role=ADMIN, via="operator")
# A caller with no credentials on a public route (health, login, signed file links).
ANONYMOUS = Principal(user_id=None, username="anonymous", role="anonymous", via="anonymous")


class NoCaller(RuntimeError):
    """Owned rows were about to be read or written with nobody named as the caller."""


def owner_scope(principal: Principal) -> int | None:
    """The owner id ``principal``'s listings are narrowed to; ``None`` means "everyone's
    rows" (admins and the operator only)."""
    if principal.is_admin:
        return None
    return principal.user_id if principal.user_id is not None else NOBODY


def may_access(principal: Principal, owner_id: int | None) -> bool:
    """Whether ``principal`` may read or change a row owned by ``owner_id``."""
    scope = owner_scope(principal)
    return scope is None or owner_id == scope


def owner_for_new(principal: Principal, requested: int | None) -> int | None:
    """The owner of a new row: an admin may name one; anyone else owns what they create."""
    if principal.is_admin:
        return requested if requested is not None else principal.user_id
    return principal.user_id


def check_owner_change(principal: Principal, new_owner: int | None) -> None:
    """Only an admin may hand a row to someone else (or to nobody)."""
    if principal.is_admin or new_owner == principal.user_id:
        return
    raise ValidationError("owner_id: only an admin can change the owner", "owner_id")
