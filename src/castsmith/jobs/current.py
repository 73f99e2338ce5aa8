"""The job whose handler is running in this task, for code deep inside a pipeline.

The worker records the :class:`~castsmith.jobs.registry.JobContext` around each
handler call. Code far down a handler's call chain (the cost ledger, a paid provider
call that checkpoints its remote id) reads it here instead of every function on the
way taking a ``ctx`` parameter it does not otherwise need. Outside a handler (an API
request, the command line) there is none.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from castsmith.jobs.registry import JobContext

_current: ContextVar[JobContext[Any] | None] = ContextVar("castsmith_job", default=None)


def current_job() -> JobContext[Any] | None:
    """The running handler's context, or ``None`` outside a job."""
    return _current.get()


@contextmanager
def running(ctx: JobContext[Any]) -> Iterator[None]:
    """Record ``ctx`` as the running job for the code inside the block."""
    token = _current.set(ctx)
    try:
        yield
    finally:
        _current.reset(token)
