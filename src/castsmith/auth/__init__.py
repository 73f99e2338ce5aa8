"""Access control: users, API tokens, login sessions, CSRF and ownership.

:func:`install` puts the authentication middleware in front of a FastAPI app; routers
get :func:`castsmith.auth.guard.ownership_guard` as a dependency. See SECURITY.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI

from castsmith.auth.guard import ownership_guard
from castsmith.auth.middleware import AuthMiddleware
from castsmith.auth.policy import auth_required, is_loopback

if TYPE_CHECKING:
    from castsmith.bootstrap import Container

__all__ = ["AuthMiddleware", "auth_required", "install", "is_loopback", "ownership_guard"]


def install(app: FastAPI, container: Container) -> None:
    """Authenticate every request to ``app`` (outermost, so it runs first)."""
    app.add_middleware(AuthMiddleware, container=container)
