"""Which address the server on this data folder answers on.

``castsmith serve`` records its base URL in ``{data_dir}/server.json`` while it runs, so
that CLI commands started in another shell (without ``PORT``) print links the browser
can open: ``PORT=8311 make run``, then ``castsmith posters generate ...`` prints links on
8311. A file left by a server that died is ignored (its process is gone).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

from castsmith.config import Settings

FILENAME = "server.json"


def _path(settings: Settings) -> Path:
    return Path(settings.data_dir) / FILENAME


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, but alive
    return True


@contextlib.contextmanager
def recorded_server(settings: Settings) -> Iterator[None]:
    """Record this process as the server of ``settings.data_dir`` while the block runs."""
    path = _path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"pid": os.getpid(), "public_base_url": settings.public_base_url}
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(record), encoding="utf-8")
    tmp.replace(path)
    try:
        yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
                path.unlink()


def running_base_url(settings: Settings) -> str | None:
    """The base URL of a live server on this data folder, if one recorded itself."""
    try:
        record = json.loads(_path(settings).read_text(encoding="utf-8"))
        pid = int(record["pid"])
        url = str(record["public_base_url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not url.startswith(("http://", "https://")) or not _alive(pid):
        return None
    return url.rstrip("/")
