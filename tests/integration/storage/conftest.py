"""A store fixture that runs each test on the local folder and on S3 over HTTP (moto)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from castsmith.storage.base import ObjectStore
from castsmith.storage.local import LocalStore
from castsmith.storage.s3 import S3Store
from tests.conftest import S3_TEST_KEY, S3_TEST_REGION, S3_TEST_SECRET, S3Server


def make_s3_store(server: S3Server, bucket: str, acl: str = "") -> S3Store:
    """An S3 store on the moto server: path addressing over plain HTTP."""
    return S3Store(
        bucket=bucket,
        region=S3_TEST_REGION,
        endpoint=server.endpoint,
        access_key=S3_TEST_KEY,
        secret_key=S3_TEST_SECRET,
        addressing="path",
        allow_http=True,
        acl=acl,
    )


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ObjectStore]:
    """The same tests on both backends."""
    if request.param == "local":
        backend: ObjectStore = LocalStore(tmp_path / "storage")
    else:
        server: S3Server = request.getfixturevalue("s3_server")
        bucket: str = request.getfixturevalue("s3_bucket")
        backend = make_s3_store(server, bucket)
    yield backend
    await backend.close()
