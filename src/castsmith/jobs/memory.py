"""Keeping a long-running worker's resident memory flat (glibc's allocator).

A worker's Python heap stays level over thousands of jobs; what grows is memory
``malloc`` keeps after it is freed. Rendering and encoding images allocates buffers of
a few MB (a 1024x1024 image, its pixel array, its compressed bytes) in the threads
that run blocking work. glibc serves such a buffer with ``mmap`` and unmaps it on
free, but each such free raises its mmap threshold (up to 32 MB), so from then on the
buffers come from the per-thread arenas (up to 8 per core), which keep freed space
as their own: resident memory rises with every arena that has held an image.

Cheap remedies, all no-ops on other C libraries; ``CASTSMITH_WORKER_MALLOC`` picks:

- ``threshold`` (the default): :func:`tune_allocator` fixes the mmap threshold at
  256 KiB, so large buffers keep going to ``mmap`` and go back to the system when
  freed. RSS stays flat while busy too; each image buffer costs fresh page faults
  (about 10% more CPU to draw and encode a 1024x1024 portrait);
- ``arenas``: :func:`tune_allocator` limits the process to two arenas, so threads
  reuse each other's freed buffers. No CPU cost, but while busy RSS rises to the two
  arenas' high-water mark (about 50 MB above the idle figure in the benchmark);
- ``off``: the allocator is left alone.

In both tuned modes :func:`release_free_memory` (``malloc_trim(0)``) gives back the
free pages the arenas hold; the worker calls it when it falls idle. A
``MALLOC_MMAP_THRESHOLD_`` or ``MALLOC_ARENA_MAX`` set in the environment is the
operator's choice and wins over :func:`tune_allocator`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os

log = logging.getLogger("castsmith.worker")

ENV = "CASTSMITH_WORKER_MALLOC"
MODES = ("threshold", "arenas", "off")
# Above a thread's small working buffers, below any image: a 256x256 RGBA image is
# 256 KiB. Allocations of this size cost one mmap/munmap pair and their page faults.
MMAP_THRESHOLD = 256 * 1024
# Two, not one: the event loop's thread keeps an arena of its own to allocate from
# while a job's thread holds the other.
ARENA_MAX = 2
_M_MMAP_THRESHOLD = -3  # from glibc's malloc.h
_M_ARENA_MAX = -8


def mode() -> str:
    """The chosen mode (see the module's docstring); an unknown value means the default."""
    value = os.environ.get(ENV, "").strip().lower()
    if value in {"0", "false", "no"}:
        return "off"
    return value if value in MODES else MODES[0]


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
    """Apply the chosen mode to this process's allocator; True when it was applied.

    Call it once, early in a worker process: before its threads allocate images, and
    before its thread pool starts (threads keep the arena they were given).
    """
    chosen = mode()
    libc = _glibc() if chosen != "off" else None
    if libc is None or any(k in os.environ for k in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_ARENA_MAX")):
        return False
    if chosen == "arenas":
        done = bool(libc.mallopt(_M_ARENA_MAX, ARENA_MAX))
    else:
        done = bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    log.debug("malloc tuned", extra={"mode": chosen, "set": done})
    return done


def release_free_memory() -> bool:
    """Return the free pages glibc's arenas hold to the system; True if any were."""
    libc = _glibc() if mode() != "off" else None
    return bool(libc.malloc_trim(0)) if libc is not None else False
