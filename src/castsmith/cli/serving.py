"""Running the web app in several server processes (``castsmith serve --workers N``).

uvicorn starts each process afresh and builds the app from an import string, so the
parent hands its command-line flags to the children in one environment variable and
each child builds its own container (engine, pools, store) from them.
"""

from __future__ import annotations

import json
import logging
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi import FastAPI

OPTIONS_ENV = "CASTSMITH_SERVE_OPTIONS"


def app_from_environment() -> FastAPI:
    """The app of one server process, built from the options its parent passed."""
    from castsmith.api.app import create_app
    from castsmith.bootstrap import build_container
    from castsmith.config import load_settings
    from castsmith.logs import configure_logging

    options = json.loads(os.environ.get(OPTIONS_ENV, "{}"))
    settings = load_settings(**options.get("flags", {}))
    configure_logging(settings.log_level, settings.log_json)
    # This runs after uvicorn set up logging in the child, so its access_log=False
    # has to be applied again (one log line per request costs real time under load).
    logging.getLogger("uvicorn.access").disabled = True
    return create_app(build_container(settings), run_worker=bool(options.get("worker")))


def run_processes(
    flags: dict[str, Any], *, host: str, port: int, workers: int, worker: bool
) -> None:
    """Serve on ``host:port`` with ``workers`` processes sharing the socket."""
    import uvicorn

    os.environ[OPTIONS_ENV] = json.dumps({"flags": flags, "worker": worker}, default=str)
    uvicorn.run(
        "castsmith.cli.serving:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
    )
