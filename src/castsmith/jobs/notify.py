"""Wake-ups: PostgreSQL LISTEN/NOTIFY (psycopg 3), or nothing on SQLite (polling)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from sqlalchemy import Engine

log = logging.getLogger("castsmith.jobs.notify")

RECONNECT_DELAY = 1.0


def libpq_url(engine: Engine) -> str:
    """The engine's URL in the plain form psycopg accepts."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


async def listen(
    engine: Engine,
    channels: Sequence[str],
    on_notify: Callable[[str, str], None],
    on_connect: Callable[[], None] | None = None,
) -> None:
    """Call ``on_notify(channel, payload)`` for every notification, until cancelled.

    Reconnects after errors; ``on_connect`` runs after each (re)connection so the
    caller can catch up on anything sent while it was away.
    """
    import psycopg

    url = libpq_url(engine)
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                for channel in channels:
                    await conn.execute(f'LISTEN "{channel}"')
                if on_connect is not None:
                    on_connect()
                async for note in conn.notifies():
                    on_notify(note.channel, note.payload)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("LISTEN connection failed; reconnecting", extra={"error": str(exc)})
            await asyncio.sleep(RECONNECT_DELAY)
