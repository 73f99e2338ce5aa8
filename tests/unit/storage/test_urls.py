"""URL shapes and locally signed links."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from castsmith.domain.errors import ConfigurationError, InvalidName, ValidationError
from castsmith.storage.urls import UrlBuilder

SECRET = b"test-signing-secret"
KEY = "actors/0001_european_20_female/poster_frame/v2/0001_european_20_female_poster_sm.webp"


def s3_urls(**overrides: object) -> UrlBuilder:
    options: dict[str, object] = {
        "backend": "s3",
        "secret": SECRET,
        "bucket": "story-boards-assets",
        "region": "us-west-1",
    }
    options.update(overrides)
    return UrlBuilder(**options)  # type: ignore[arg-type]


def test_standard_and_accelerated_shapes() -> None:
    urls = s3_urls()
    assert urls.standard_url(KEY) == f"https://story-boards-assets.s3.us-west-1.amazonaws.com/{KEY}"
    assert (
        urls.accelerated_url(KEY)
        == f"https://story-boards-assets.s3-accelerate.amazonaws.com/{KEY}"
    )
    assert urls.public_url(KEY) == urls.standard_url(KEY)


def test_key_parts_are_quoted() -> None:
    urls = s3_urls()
    assert urls.standard_url("characters/Zoë B+C/a b?.png") == (
        "https://story-boards-assets.s3.us-west-1.amazonaws.com/characters/Zo%C3%AB%20B%2BC/a%20b%3F.png"
    )


def test_custom_endpoint_path_and_virtual_shapes() -> None:
    path_style = s3_urls(endpoint="https://s3-api.dev.iron-mind.ai/", bucket="avatar-images")
    key = "avatars/task_123/persona_456/base.png"
    assert path_style.public_url(key) == (
        "https://s3-api.dev.iron-mind.ai/avatar-images/avatars/task_123/persona_456/base.png"
    )
    virtual = s3_urls(endpoint="https://minio.example:9000", bucket="imgs", addressing="virtual")
    assert virtual.public_url(key) == f"https://imgs.minio.example:9000/{key}"


def test_path_style_on_aws_and_buckets_with_periods() -> None:
    assert s3_urls(addressing="path").public_url("a.png") == (
        "https://s3.us-west-1.amazonaws.com/story-boards-assets/a.png"
    )
    dotted = s3_urls(bucket="my.bucket")
    assert dotted.public_url("a.png") == "https://s3.us-west-1.amazonaws.com/my.bucket/a.png"
    with pytest.raises(ConfigurationError, match="period"):
        dotted.accelerated_url("a.png")


def test_public_urls_refuse_escaping_keys() -> None:
    with pytest.raises(InvalidName):
        s3_urls().standard_url("../secret")


async def test_presign_expiry_limits() -> None:
    urls = s3_urls()
    for bad in (0, -5, 604801):
        with pytest.raises(ValidationError, match="between 1 and 604800"):
            await urls.presigned_url(KEY, bad)
    with pytest.raises(ConfigurationError, match="S3"):
        await urls.presigned_url(KEY, 60)
    with pytest.raises(ValidationError):
        s3_urls(default_expiry=8 * 24 * 3600)


def local_urls(now: float = 1_000_000.0) -> UrlBuilder:
    return UrlBuilder(
        backend="local",
        secret=SECRET,
        public_base_url="http://127.0.0.1:8000/",
        clock=lambda: now,
    )


def test_local_signed_url_shape_and_verification() -> None:
    urls = local_urls()
    url = urls.local_url("character_references/abc 1.png", expires_in=600)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "http://127.0.0.1:8000/files/character_references/abc%201.png"
    )
    query = parse_qs(parts.query)
    expires, sig = int(query["expires"][0]), query["sig"][0]
    assert expires == 1_000_600
    key = "character_references/abc 1.png"
    assert urls.verify(key, expires, sig, now=1_000_599)
    assert not urls.verify(key, expires, sig, now=1_000_601)
    assert urls.why_refused(key, expires, sig, now=1_000_601) == "the link has expired"
    assert not urls.verify(key, expires + 3600, sig, now=1_000_000)
    assert not urls.verify("character_references/other.png", expires, sig, now=1_000_000)
    assert not urls.verify(key, expires, sig[:-1] + ("0" if sig[-1] != "0" else "1"))


def test_other_secret_does_not_verify() -> None:
    url = local_urls().local_url("a.png")
    query = parse_qs(urlsplit(url).query)
    other = UrlBuilder(backend="local", secret=b"another", clock=lambda: 1_000_000.0)
    assert not other.verify("a.png", int(query["expires"][0]), query["sig"][0])


async def test_url_for_picks_by_backend() -> None:
    urls = local_urls()
    assert (await urls.url_for("a.png")).startswith("http://127.0.0.1:8000/files/a.png?expires=")
    proxied = s3_urls(serve_from_cloud=False, public_base_url="https://app.example")
    assert (await proxied.url_for("a.png")).startswith("https://app.example/files/a.png?")


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="secret"):
        UrlBuilder(backend="local", secret=b"")
