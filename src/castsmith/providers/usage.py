"""What one provider call used, as the provider reported it (read by the cost ledger).

A caller opens a :func:`measuring` block around a provider call; inside it, the
provider notes what its vendor reports (RunPod ``executionTime``/``delayTime`` in ms,
Replicate ``metrics.predict_time`` in seconds, image counts and sizes) with
:func:`note` and :func:`add`. A context variable carries the record rather than a
parameter on every provider method, because the same call may fail or be cancelled
half-way: whatever was noted before that is still there for the caller to charge.
Outside a block the notes go nowhere (a provider used by ``providers check``).

A provider also notes ``remote_failed`` (the remote status) when the remote job it
follows ended without a result (RunPod ``FAILED``/``CANCELLED``/``TIMED_OUT``, a
Replicate prediction ``failed``/``canceled``/``aborted``, a ComfyUI execution error):
the caller then forgets the remote id, so a retry submits anew instead of following a
job that can only fail again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any


@dataclass
class CallUsage:
    """Usage fields the provider reported, the remote ids it submitted, and timing."""

    fields: dict[str, Any] = field(default_factory=dict)
    remote_ids: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed(self) -> float:
        """Seconds since the call began (our own clock, not the provider's)."""
        return time.monotonic() - self.started


_current: ContextVar[CallUsage | None] = ContextVar("castsmith_call_usage", default=None)


@contextmanager
def measuring() -> Iterator[CallUsage]:
    """Collect the notes of the provider call made inside the block."""
    usage = CallUsage()
    token = _current.set(usage)
    try:
        yield usage
    finally:
        _current.reset(token)


def note(**fields: Any) -> None:
    """Record reported usage fields (the latest value wins); ``None`` values are skipped."""
    usage = _current.get()
    if usage is not None:
        usage.fields.update({k: v for k, v in fields.items() if v is not None})


def add(name: str, amount: float) -> None:
    """Add to a summed usage field (e.g. predict time over several predictions)."""
    usage = _current.get()
    if usage is not None:
        usage.fields[name] = usage.fields.get(name, 0) + amount


def submitted(remote_id: str) -> None:
    """Record a remote job the call submitted (or resumed)."""
    usage = _current.get()
    if usage is not None and remote_id and remote_id not in usage.remote_ids:
        usage.remote_ids.append(remote_id)
