"""A private, throwaway PostgreSQL cluster that a test may stop and restart at will.

The machine's shared server on 127.0.0.1:5432 serves every other test, so fault tests
never touch it: they start their own cluster with the distribution's binaries in a
temporary folder, on a free port, with trust authentication.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.services import free_port, service_missing


def _bin_dir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return Path(found[-1]).parent if found else None


@dataclass
class PrivateCluster:
    """One running cluster: its folder, port and the command prefix to run as its owner."""

    bin_dir: Path
    root: Path
    port: int
    as_owner: list[str]

    @property
    def data(self) -> Path:
        """The cluster's data folder."""
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        """A SQLAlchemy URL for ``database`` on this cluster."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _pg_ctl(self, *args: str, timeout: float = 30) -> None:
        subprocess.run(
            [*self.as_owner, str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-w", *args],
            check=True,
            capture_output=True,
            timeout=timeout,
        )

    def start(self) -> None:
        """Start the server (waits until it accepts connections)."""
        options = f"-k {self.root} -p {self.port} -c listen_addresses=127.0.0.1"
        log = str(self.root / "server.log")
        self._pg_ctl("-o", options, "-l", log, "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server; ``fast`` disconnects every client at once."""
        self._pg_ctl("-m", mode, "stop")

    def create_database(self, name: str) -> str:
        """Create ``name`` and return its URL."""
        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return self.url(name)


@contextmanager
def private_cluster() -> Iterator[PrivateCluster]:
    """Initialise and start a cluster; stop it and remove its folder afterwards."""
    bin_dir = _bin_dir()
    if bin_dir is None or not (bin_dir / "initdb").exists():
        service_missing(
            "PostgreSQL server binaries (initdb, pg_ctl)",
            "install the postgresql package (they live in /usr/lib/postgresql/*/bin)",
        )
        raise AssertionError("unreachable")
    root = Path(tempfile.mkdtemp(prefix="castsmith-pg-"))
    as_owner: list[str] = []
    if os.geteuid() == 0:
        # The server refuses to run as root: the folder and the processes are postgres's.
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        as_owner = ["runuser", "-u", "postgres", "--"]
    cluster = PrivateCluster(bin_dir, root, free_port(), as_owner)
    started = False
    try:
        subprocess.run(
            [
                *as_owner,
                str(bin_dir / "initdb"),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-D",
                str(cluster.data),
                "--no-sync",
                "-E",
                "UTF8",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        # No durability needed for a throwaway cluster: faster starts and commits.
        with (cluster.data / "postgresql.conf").open("a") as conf:
            conf.write("\nfsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")
        cluster.start()
        started = True
        yield cluster
    finally:
        if started:
            with suppress(subprocess.SubprocessError):
                cluster.stop("immediate")
        deadline = time.monotonic() + 5
        while (cluster.data / "postmaster.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        shutil.rmtree(root, ignore_errors=True)
