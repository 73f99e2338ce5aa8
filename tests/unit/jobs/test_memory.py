"""A worker process gives freed image-sized buffers back to the system (glibc)."""

from __future__ import annotations

import os
import subprocess
import sys

# Threads allocate and free buffers the size of decoded and encoded images, as the
# threads that render posters do; the program prints whether the allocator was
# tuned, how many MB of RSS it kept, how many after release_free_memory, and how many
# malloc arenas the threads used.
PROGRAM = """
import ctypes, ctypes.util, os, sys, tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from castsmith.jobs import memory

def rss():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

def arenas():
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    libc.fopen.restype = ctypes.c_void_p
    fd, path = tempfile.mkstemp()
    os.close(fd)
    stream = libc.fopen(path.encode(), b"w")
    libc.malloc_info(0, ctypes.c_void_p(stream))
    libc.fclose(ctypes.c_void_p(stream))
    text = Path(path).read_text()
    os.unlink(path)
    return text.count("<heap nr=")

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
    print(tuned, round(kept), round(rss() - base), arenas())
"""


def run(mode: str, **env: str) -> tuple[str, float, float, int]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")} | env
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM, mode],
        env=environ,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout.split()
    return out[0], float(out[1]), float(out[2]), int(out[3])


def test_a_tuned_process_keeps_no_freed_buffers() -> None:
    tuned, kept, after_release, _ = run("tune")
    assert tuned == "True"
    assert kept < 10, f"{kept} MB kept after 200 jobs"
    assert after_release < 10


def test_in_arenas_mode_threads_share_two_arenas_and_memory_goes_back() -> None:
    tuned, kept, after_release, arenas = run("tune", CASTSMITH_WORKER_MALLOC="arenas")
    assert tuned == "True"
    assert arenas == 2  # six threads, two arenas
    # A few MB left (thread stacks, partly used pages), not the tens an arena keeps.
    assert after_release < 20, f"{after_release} of {kept} MB still kept after release"


def test_untuned_memory_stays_resident_until_released() -> None:
    # What the tuning is for: without it the arenas keep tens of MB of freed buffers,
    # which release_free_memory (the worker calls it when idle) hands back.
    tuned, kept, after_release, arenas = run("plain")
    assert tuned == "False"
    assert arenas > 2
    assert kept > 20, f"only {kept} MB kept: the allocator behaves differently here"
    assert after_release < kept / 2, f"{after_release} of {kept} MB still kept after release"


def test_opting_out_leaves_the_allocator_alone() -> None:
    tuned, kept, after_release, arenas = run("tune", CASTSMITH_WORKER_MALLOC="off")
    assert tuned == "False"
    assert arenas > 2
    assert kept > 20  # nothing given back either
    assert after_release > 20


def test_the_environments_own_settings_win() -> None:
    tuned, kept, _, arenas = run("tune", MALLOC_ARENA_MAX="1")
    assert (tuned, arenas) == ("False", 1)
    tuned, kept, _, arenas = run("tune", MALLOC_MMAP_THRESHOLD_="33554432")
    assert tuned == "False"
    assert kept > 20  # the operator's 32 MB threshold sends images to the arenas
