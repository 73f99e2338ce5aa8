"""Who is acting, and what they may see.

The web app authenticates each request and records the acting :class:`Principal` in a
context variable for the duration of that request; queries that list or look up
owned rows (actors, persona tasks, character references, jobs) narrow themselves with
:func:`owner_scope`. Outside a request (the CLI, workers) nobody is recorded and the
scope is unrestricted: those run with the operator's authority over the whole database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
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
# A caller with no credentials on a public route (health, login, signed file links).
ANONYMOUS = Principal(user_id=None, username="anonymous", role="anonymous", via="anonymous")

_current: ContextVar[Principal | None] = ContextVar("castsmith_principal", default=None)


def current() -> Principal | None:
    """The caller of the request being served, or ``None`` outside a request."""
    return _current.get()


@contextmanager
def acting_as(principal: Principal | None) -> Iterator[None]:
    """Record ``principal`` as the caller for the code run inside the block."""
    token = _current.set(principal)
    try:
        yield
    finally:
        _current.reset(token)


def owner_scope() -> int | None:
    """The owner id listings must be narrowed to; ``None`` means "everyone's rows"."""
    principal = _current.get()
    if principal is None or principal.is_admin:
        return None
    return principal.user_id if principal.user_id is not None else NOBODY


def may_access(owner_id: int | None) -> bool:
    """Whether the caller may read or change a row owned by ``owner_id``."""
    scope = owner_scope()
    return scope is None or owner_id == scope


def acting_user_id() -> int | None:
    """The caller's user id, recorded as the owner of what they create."""
    principal = _current.get()
    return principal.user_id if principal is not None else None


def owner_for_new(requested: int | None) -> int | None:
    """The owner of a new row: an admin may name one; anyone else owns what they create."""
    principal = _current.get()
    if principal is None or principal.is_admin:
        return requested if requested is not None else acting_user_id()
    return principal.user_id


def check_owner_change(new_owner: int | None) -> None:
    """Only an admin may hand a row to someone else (or to nobody)."""
    principal = _current.get()
    if principal is None or principal.is_admin or new_owner == principal.user_id:
        return
    raise ValidationError("owner_id: only an admin can change the owner", "owner_id")
