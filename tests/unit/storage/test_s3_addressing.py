"""S3 addressing: which host a request (and a presigned URL) goes to. No network needed."""

from __future__ import annotations

import pytest

from castsmith.domain.errors import ConfigurationError, ValidationError
from castsmith.storage.s3 import S3Store, uses_virtual_hosting, virtual_endpoint


def store(**overrides: object) -> S3Store:
    options: dict[str, object] = {
        "bucket": "story-boards-assets",
        "region": "us-west-1",
        "access_key": "AKIDEXAMPLE",
        "secret_key": "wJalrXUtnFEMI-EXAMPLEKEY",
    }
    options.update(overrides)
    return S3Store(**options)  # type: ignore[arg-type]


def test_auto_addressing_choice() -> None:
    assert uses_virtual_hosting("auto", "bucket", "")
    assert not uses_virtual_hosting("auto", "my.bucket", "")
    assert not uses_virtual_hosting("auto", "bucket", "http://minio:9000")
    assert uses_virtual_hosting("virtual", "bucket", "http://minio:9000")
    assert not uses_virtual_hosting("path", "bucket", "")
    assert (
        virtual_endpoint("https://minio.example:9000/", "imgs") == "https://imgs.minio.example:9000"
    )


async def test_presigned_url_hosts() -> None:
    virtual = await store(addressing="virtual").presign_get("a/b c.png", 600)
    assert virtual.startswith("https://story-boards-assets.s3.us-west-1.amazonaws.com/a/b%20c.png?")
    assert "X-Amz-Expires=600" in virtual
    assert "X-Amz-Signature=" in virtual
    assert "wJalrXUtnFEMI" not in virtual
    path = await store(addressing="path").presign_get("a/b.png", 600)
    assert path.startswith("https://s3.us-west-1.amazonaws.com/story-boards-assets/a/b.png?")
    custom = await store(addressing="virtual", endpoint="https://minio.example").presign_get(
        "a.png", 60
    )
    assert custom.startswith("https://story-boards-assets.minio.example/a.png?")


async def test_presign_limits() -> None:
    s3 = store()
    for bad in (0, 604801):
        with pytest.raises(ValidationError, match="604800"):
            await s3.presign_get("a.png", bad)
    assert "X-Amz-Expires=604800" in await s3.presign_get("a.png", 604800)


def test_a_bucket_is_required() -> None:
    with pytest.raises(ConfigurationError, match="CASTSMITH_S3_BUCKET"):
        store(bucket="")
