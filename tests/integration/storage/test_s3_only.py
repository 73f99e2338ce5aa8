"""S3-specific behaviour against the moto server over HTTP: ACLs, presigning, outages."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from castsmith.domain.errors import StorageError, StorageUnavailable, ValidationError
from castsmith.storage.s3 import S3Store
from castsmith.storage.urls import UrlBuilder
from tests.conftest import S3_TEST_KEY, S3_TEST_SECRET, S3Server
from tests.integration.storage.conftest import make_s3_store
from tests.services import free_port

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def public_grants(server: S3Server, bucket: str, key: str) -> list[str]:
    acl = server.boto_client().get_object_acl(Bucket=bucket, Key=key)  # type: ignore[attr-defined]
    return [g["Permission"] for g in acl["Grants"] if g["Grantee"].get("URI") == ALL_USERS]


async def test_no_acl_is_sent_by_default(s3_server: S3Server, s3_bucket: str) -> None:
    store = make_s3_store(s3_server, s3_bucket)
    await store.put("p.png", b"x", content_type="image/png")
    assert public_grants(s3_server, s3_bucket, "p.png") == []


async def test_public_read_acl_when_configured(s3_server: S3Server, s3_bucket: str) -> None:
    store = make_s3_store(s3_server, s3_bucket, acl="public-read")
    await store.put("pub/p.png", b"x", content_type="image/png")
    await store.copy("pub/p.png", "pub/q.png")
    assert public_grants(s3_server, s3_bucket, "pub/p.png") == ["READ"]
    assert public_grants(s3_server, s3_bucket, "pub/q.png") == ["READ"]
    # Reads go through a client without the ACL header and still work.
    assert await store.get("pub/p.png") == b"x"


async def test_headers_are_real_object_headers(s3_server: S3Server, s3_bucket: str) -> None:
    store = make_s3_store(s3_server, s3_bucket)
    await store.put("h.webp", b"w", content_type="image/webp", cache_control="max-age=31536000")
    head = s3_server.boto_client().head_object(Bucket=s3_bucket, Key="h.webp")  # type: ignore[attr-defined]
    assert head["ContentType"] == "image/webp"
    assert head["CacheControl"] == "max-age=31536000"


async def test_presigned_url_serves_the_bytes(s3_server: S3Server, s3_bucket: str) -> None:
    store = make_s3_store(s3_server, s3_bucket)
    key = "character_references/abc 123.png"
    await store.put(key, b"reference-bytes", content_type="image/png")
    urls = UrlBuilder(
        backend="s3",
        secret=b"s",
        bucket=s3_bucket,
        endpoint=s3_server.endpoint,
        addressing="path",
        presigner=store,
        default_expiry=900,
    )
    url = await urls.url_for(key)
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["900"]
    assert S3_TEST_SECRET not in url
    async with httpx.AsyncClient() as client:
        response = await client.get(url)
    assert response.status_code == 200
    assert response.content == b"reference-bytes"
    assert response.headers["content-type"] == "image/png"
    # Over seven days (or under a second) is refused before any URL is made.
    for bad in (604801, 0):
        with pytest.raises(ValidationError, match="7 days"):
            await urls.presigned_url(key, bad)


async def test_unreachable_store_is_retryable(s3_bucket: str) -> None:
    store = S3Store(
        bucket=s3_bucket,
        endpoint=f"http://127.0.0.1:{free_port()}",
        access_key=S3_TEST_KEY,
        secret_key=S3_TEST_SECRET,
        addressing="path",
        allow_http=True,
        max_retries=0,
        connect_timeout=timedelta(seconds=1),
        timeout=timedelta(seconds=2),
    )
    with pytest.raises(StorageUnavailable) as caught:
        await store.get("a/b.png")
    message = str(caught.value)
    assert "'a/b.png'" in message
    assert S3_TEST_SECRET not in message
    assert S3_TEST_KEY not in message.replace("a/b.png", "")


class _Always503(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        body = b"<Error><Code>SlowDown</Code></Error>"
        self.send_response(503)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_HEAD = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def broken_s3() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Always503)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_5xx_is_retryable(broken_s3: str) -> None:
    store = S3Store(
        bucket="b",
        endpoint=broken_s3,
        access_key="k",
        secret_key="s",
        addressing="path",
        allow_http=True,
        max_retries=0,
    )
    with pytest.raises(StorageUnavailable, match=r"'x\.png'"):
        await store.put("x.png", b"x", content_type="image/png")
    with pytest.raises(StorageUnavailable):
        await store.get("x.png")


async def test_missing_bucket_is_a_storage_error(s3_server: S3Server) -> None:
    store = make_s3_store(s3_server, "no-such-bucket-here")
    with pytest.raises(StorageError, match="bucket does not exist"):
        await store.put("x.png", b"x", content_type="image/png")
