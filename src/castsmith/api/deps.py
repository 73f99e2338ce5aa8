"""What every route takes from the application: the one container it was built around."""

from __future__ import annotations

from fastapi import Request

from castsmith.bootstrap import Container


def container_of(request: Request) -> Container:
    """The container the app was created with (``create_app(container)``)."""
    container: Container = request.app.state.container
    return container
