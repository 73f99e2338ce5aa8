"""Keeping a long-running worker's resident memory flat (glibc's allocator).

A worker's Python heap stays level over thousands of jobs; what grows is memory
``malloc`` keeps after it is freed. Rendering and encoding images allocates buffers of
a few MB (a 1024x1024 image, its pixel array, its compressed bytes) in the threads
that run blocking work. glibc serves such a buffer with ``mmap`` and unmaps it on
free, but each such free raises its mmap threshold (up to 32 MB), so from then on the
buffers come from the per-thread arenas (up to 8 per core), which keep freed space
as their own: resident memory rises with every arena that has held an image and
never comes back down.

Two cheap remedies, both no-ops on other C libraries:

- :func:`tune_allocator` limits the process to two arenas, so the threads share
  (and reuse) the same freed buffers instead of each keeping its own;
- :func:`release_free_memory` (``malloc_trim(0)``) gives back the free pages the
  arenas hold; the worker calls it when it falls idle.

A fixed mmap threshold (``MALLOC_MMAP_THRESHOLD_=262144``) keeps RSS as flat even
while busy, but every image buffer then costs fresh page faults: about 10% more CPU
to draw and encode a portrait (BENCHMARKS.md, "Worker memory"); it is left to the
environment. ``CASTSMITH_WORKER_MALLOC=off`` leaves the allocator alone (both become
no-ops); a ``MALLOC_ARENA_MAX`` set in the environment wins over :func:`tune_allocator`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os

log = logging.getLogger("castsmith.worker")

ENV = "CASTSMITH_WORKER_MALLOC"
# Two, not one: the event loop's thread keeps an arena of its own to allocate from
# while a job's thread holds the other.
ARENA_MAX = 2
_M_ARENA_MAX = -8  # from glibc's malloc.h


def enabled() -> bool:
    """False when ``CASTSMITH_WORKER_MALLOC`` is ``off`` (or ``0``/``false``/``no``)."""
    return os.environ.get(ENV, "on").strip().lower() not in {"off", "0", "false", "no"}


@functools.cache
def _glibc() -> ctypes.CDLL | None:
    """The C library, if it is glibc (it has ``malloc_trim`` and ``mallopt``)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    if not (hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt")):
        return None
    libc.malloc_trim.argtypes = [ctypes.c_size_t]
    libc.malloc_trim.restype = ctypes.c_int
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.mallopt.restype = ctypes.c_int
    return libc


def tune_allocator() -> bool:
    """Limit glibc to :data:`ARENA_MAX` arenas for this process; True when it was set.

    Call it once, early in a worker process: threads already attached to an arena
    keep it, so it must come before the worker's thread pool starts.
    """
    libc = _glibc() if enabled() else None
    if libc is None or "MALLOC_ARENA_MAX" in os.environ:
        return False
    done = bool(libc.mallopt(_M_ARENA_MAX, ARENA_MAX))
    log.debug("malloc arenas limited", extra={"arena_max": ARENA_MAX, "set": done})
    return done


def release_free_memory() -> bool:
    """Return the free pages glibc's arenas hold to the system; True if any were."""
    libc = _glibc() if enabled() else None
    return bool(libc.malloc_trim(0)) if libc is not None else False
