"""Fixtures shared by every test room: databases on both backends and the S3 server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from castsmith.config import Settings
from castsmith.db.engine import make_engine
from castsmith.db.migrate import upgrade
from tests.services import (
    create_pg_database,
    drop_pg_database,
    free_port,
    pg_reachable,
    pg_url_for,
    service_missing,
)

S3_TEST_REGION = "us-east-1"
S3_TEST_KEY = "testing"
S3_TEST_SECRET = "testing-secret"


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated PostgreSQL database that per-test databases are cloned from."""
    if not pg_reachable():
        service_missing(
            "PostgreSQL on 127.0.0.1:5432",
            "start it with: pg_ctlcluster --skip-systemctl-redirect "
            "$(ls /etc/postgresql) main start",
        )
    name = create_pg_database()
    engine = make_engine(pg_url_for(name))
    upgrade(engine)
    engine.dispose()
    yield name
    drop_pg_database(name)


@pytest.fixture
def pg_database_url(pg_template: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test."""
    name = create_pg_database(template=pg_template)
    yield pg_url_for(name)
    drop_pg_database(name)


@pytest.fixture
def sqlite_database_url(tmp_path: Path) -> str:
    """A fresh, migrated SQLite file for one test."""
    url = f"sqlite:///{tmp_path / 'castsmith.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh, migrated database; the test runs once on each backend."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_database_url"))
    return str(request.getfixturevalue("pg_database_url"))


class S3Server:
    """A moto S3 server over real HTTP on loopback; can be stopped and restarted."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._server: object | None = None

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        server.start()
        self._server = server

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()  # type: ignore[attr-defined]
            self._server = None

    def boto_client(self) -> object:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=S3_TEST_REGION,
            aws_access_key_id=S3_TEST_KEY,
            aws_secret_access_key=S3_TEST_SECRET,
        )

    def create_bucket(self, name: str) -> str:
        self.boto_client().create_bucket(Bucket=name)  # type: ignore[attr-defined]
        return name


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """One S3 server for the session; each test makes its own bucket."""
    try:
        import moto.server  # noqa: F401
    except ImportError:
        service_missing("the S3 test server (moto[server])", "run `make test` to install it")
    os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
    server = S3Server()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def s3_bucket(s3_server: S3Server, request: pytest.FixtureRequest) -> str:
    """A new, empty bucket on the S3 test server."""
    import uuid

    return s3_server.create_bucket(f"castsmith-test-{uuid.uuid4().hex[:10]}")


@pytest.fixture
def s3_settings(s3_server: S3Server, s3_bucket: str, tmp_path: Path) -> Settings:
    """Settings pointing the object store at the S3 test server."""
    return Settings(
        data_dir=tmp_path,
        storage_backend="s3",
        s3_bucket=s3_bucket,
        s3_endpoint=s3_server.endpoint,
        s3_region=S3_TEST_REGION,
        s3_access_key=S3_TEST_KEY,  # type: ignore[arg-type]
        s3_secret_key=S3_TEST_SECRET,  # type: ignore[arg-type]
        s3_addressing="path",
        s3_allow_http=True,
    )


@pytest.fixture
def local_settings(tmp_path: Path) -> Settings:
    """Settings for the embedded default, rooted in a temporary folder."""
    return Settings(data_dir=tmp_path)
