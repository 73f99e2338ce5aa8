"""A worker process gives freed image-sized buffers back to the system (glibc)."""

from __future__ import annotations

import os
import subprocess
import sys

# Threads allocate and free buffers the size of decoded and encoded images, as the
# threads that render posters do; the program prints how much RSS it kept.
PROGRAM = """
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from castsmith.jobs import memory

def rss():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

def job(_):
    held = [bytearray(3_000_000 + k * 4096) for k in range(4)]
    for buffer in held:
        buffer[::4096] = b"x" * len(buffer[::4096])  # touch every page
    del held[1:3]
    extra = bytearray(5_000_000)
    del held, extra

tuned = memory.tune_allocator() if sys.argv[1] == "tune" else False
base = rss()
with ThreadPoolExecutor(6) as pool:
    list(pool.map(job, range(200)))
    kept = rss() - base
    memory.release_free_memory()
    print(tuned, round(kept), round(rss() - base))
"""


def run(mode: str, **env: str) -> tuple[str, float, float]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")} | env
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM, mode],
        env=environ,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.split()
    return out[0], float(out[1]), float(out[2])


def test_a_tuned_process_keeps_no_freed_buffers() -> None:
    tuned, kept, after_release = run("tune")
    assert tuned == "True"
    assert kept < 10, f"{kept} MB kept after 200 jobs"
    assert after_release < 10


def test_untuned_memory_stays_resident_until_released() -> None:
    # What the tuning is for: without it the arenas keep tens of MB of freed buffers,
    # which release_free_memory (the worker calls it when idle) hands back.
    tuned, kept, after_release = run("plain")
    assert tuned == "False"
    assert kept > 20, f"only {kept} MB kept: the allocator behaves differently here"
    assert after_release < 10


def test_opting_out_leaves_the_allocator_alone() -> None:
    tuned, kept, after_release = run("tune", CASTSMITH_WORKER_MALLOC="off")
    assert tuned == "False"
    assert kept > 20  # nothing given back either
    assert after_release > 20


def test_an_explicit_mmap_threshold_wins() -> None:
    tuned, kept, _ = run("tune", MALLOC_MMAP_THRESHOLD_="131072")
    assert tuned == "False"
    assert kept < 10  # the operator's own threshold does the same job
