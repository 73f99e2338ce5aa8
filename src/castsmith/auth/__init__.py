"""Access control: users, API tokens, login sessions, CSRF and each request's scope.

:func:`install` puts the authentication middleware in front of a FastAPI app; routes
hand the use cases the container scoped to the request's caller
(:func:`castsmith.auth.scope.container_of`), and the repositories narrow every owned
row to that caller. See SECURITY.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import FastAPI

from castsmith.auth.middleware import AuthMiddleware
from castsmith.auth.policy import auth_required, is_loopback

if TYPE_CHECKING:
    from castsmith.bootstrap import Container

__all__ = ["AuthMiddleware", "auth_required", "install", "is_loopback"]


def install(app: FastAPI, container: Container) -> None:
    """Authenticate every request to ``app`` (outermost, so it runs first)."""
    app.add_middleware(AuthMiddleware, container=container)
