"""Each request's scope: the application container narrowed to the request's caller.

:class:`~castsmith.auth.middleware.AuthMiddleware` puts the authenticated
:class:`~castsmith.domain.access.Principal` on the request; routes and pages hand
:func:`container_of` to the use cases, which pass its caller to every repository. A
request the middleware did not see (nothing recorded) gets a container scoped to
nobody, whose use raises :class:`~castsmith.domain.access.NoCaller`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import HTTPConnection

from castsmith.domain.access import Principal

if TYPE_CHECKING:
    from castsmith.bootstrap import Container

PRINCIPAL = "principal"
_SCOPED = "castsmith_services"


def caller_of(request: HTTPConnection) -> Principal | None:
    """The caller the middleware authenticated for ``request`` (``None``: nobody)."""
    state = request.scope.get("state") or {}
    found = state.get(PRINCIPAL)
    return found if isinstance(found, Principal) else None


def unscoped_container(request: HTTPConnection) -> Container:
    """The app's container scoped to nobody, for routes whose signature authorizes them."""
    base: Container = request.app.state.container
    return base


def container_of(request: HTTPConnection) -> Container:
    """The app's container as this request's caller uses it (made once per request)."""
    state = request.scope.setdefault("state", {})
    scoped: Container | None = state.get(_SCOPED)
    if scoped is None:
        base: Container = request.app.state.container
        scoped = base.acting_for(caller_of(request))
        state[_SCOPED] = scoped
    return scoped
