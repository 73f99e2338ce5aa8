"""Who is acting, and what they may see.

The web app authenticates each request and records the acting :class:`Principal` for
the duration of that request; queries that list or look up owned rows (actors, persona
tasks, character references, jobs) narrow themselves with :func:`owner_scope`. The
command line and the workers say that they act as :data:`OPERATOR`; a worker runs each
job's handler as the job's owner. Reading or writing owned rows with nobody recorded
is an error (:class:`NoCaller`), never "everything".
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
# The person running the command line or a worker: full authority, said explicitly.
OPERATOR = Principal(user_id=None, username="operator", role=ADMIN, via="operator")
# A caller with no credentials on a public route (health, login, signed file links).
ANONYMOUS = Principal(user_id=None, username="anonymous", role="anonymous", via="anonymous")

_current: ContextVar[Principal | None] = ContextVar("castsmith_principal", default=None)


class NoCaller(RuntimeError):
    """Owned rows were about to be read or written with nobody recorded as the caller."""


def current() -> Principal | None:
    """The recorded caller, or ``None`` when nobody is recorded."""
    return _current.get()


def caller() -> Principal:
    """The recorded caller; :class:`NoCaller` when there is none (fail closed)."""
    principal = _current.get()
    if principal is None:
        raise NoCaller(
            "no caller is recorded for this work: run it as a user, or as the operator "
            "with acting_as(OPERATOR)"
        )
    return principal


@contextmanager
def acting_as(principal: Principal) -> Iterator[None]:
    """Record ``principal`` as the caller for the code run inside the block."""
    token = _current.set(principal)
    try:
        yield
    finally:
        _current.reset(token)


def owner_scope() -> int | None:
    """The owner id listings must be narrowed to; ``None`` means "everyone's rows"
    (admins and the operator only)."""
    principal = caller()
    if principal.is_admin:
        return None
    return principal.user_id if principal.user_id is not None else NOBODY


def may_access(owner_id: int | None) -> bool:
    """Whether the caller may read or change a row owned by ``owner_id``."""
    scope = owner_scope()
    return scope is None or owner_id == scope


def acting_user_id() -> int | None:
    """The caller's user id, recorded as the owner of what they create."""
    return caller().user_id


def owner_for_new(requested: int | None) -> int | None:
    """The owner of a new row: an admin may name one; anyone else owns what they create."""
    principal = caller()
    if principal.is_admin:
        return requested if requested is not None else principal.user_id
    return principal.user_id


def check_owner_change(new_owner: int | None) -> None:
    """Only an admin may hand a row to someone else (or to nobody)."""
    principal = caller()
    if principal.is_admin or new_owner == principal.user_id:
        return
    raise ValidationError("owner_id: only an admin can change the owner", "owner_id")
