"""`castsmith serve --workers N`: several server processes on one port and one database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from castsmith.db.engine import make_engine
from tests.services import free_port


def children(pid: int) -> list[int]:
    """Direct child processes of ``pid`` (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


@pytest.mark.timeout(1200)
def test_serve_with_two_processes_answers_from_the_flags_database(
    pg_database_url: str, tmp_path: Path
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASTSMITH_")}
    env["CASTSMITH_CONFIG"] = str(tmp_path / "none.toml")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "castsmith",
            "--database-url",
            pg_database_url,
            "--data-dir",
            str(tmp_path / "data"),
            "serve",
            "--no-worker",
            "--workers",
            "2",
            "--port",
            str(port),
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    servers: list[int] = []
    try:
        deadline = time.monotonic() + 600  # starting processes is slow on a loaded machine
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.3)
        servers = [
            c
            for c in children(proc.pid)
            # server processes start through spawn_main; the resource tracker does not
            if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()
        ]
        assert len(servers) == 2
        made = httpx.post(f"{base}/api/actors", json={"name": "two_process_tess"}, timeout=30)
        assert made.status_code == 201, made.text
        for _ in range(6):  # whichever process answers sees the same database
            listed = httpx.get(f"{base}/api/actors", params={"q": "tess"}, timeout=30).json()
            assert [a["name"] for a in listed["items"]] == ["two_process_tess"]
        engine = make_engine(pg_database_url)
        with engine.connect() as conn:
            names = conn.execute(text("SELECT name FROM actors")).scalars().all()
        engine.dispose()
        assert names == ["two_process_tess"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(300)
    # SIGTERM to the parent stops its server processes too.
    assert not [pid for pid in servers if Path(f"/proc/{pid}").exists()]
