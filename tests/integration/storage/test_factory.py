"""Building the store and URL builder from settings."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from castsmith.config import Settings
from castsmith.domain.errors import ConfigurationError
from castsmith.storage.factory import store_from_settings, urls_from_settings
from castsmith.storage.local import LocalStore
from castsmith.storage.s3 import S3Store


async def test_default_is_the_local_folder(local_settings: Settings) -> None:
    store = store_from_settings(local_settings)
    assert isinstance(store, LocalStore)
    assert store.backend == "local"
    assert store.root == local_settings.local_storage_root.resolve()
    urls = urls_from_settings(local_settings, b"secret")
    url = await urls.url_for("a/b.png")
    assert url.startswith("http://127.0.0.1:8000/files/a/b.png?expires=")


async def test_s3_settings_make_a_working_store(s3_settings: Settings) -> None:
    store = store_from_settings(s3_settings)
    assert isinstance(store, S3Store)
    await store.put("k/v.txt", b"value", content_type="text/plain")
    urls = urls_from_settings(s3_settings, b"secret", store)
    url = await urls.url_for("k/v.txt")
    assert url.startswith(f"{s3_settings.s3_endpoint}/{s3_settings.s3_bucket}/k/v.txt?X-Amz-")
    async with httpx.AsyncClient() as client:
        assert (await client.get(url)).content == b"value"


def test_s3_without_bucket_names_the_setting(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, storage_backend="s3", s3_bucket="")
    with pytest.raises(ConfigurationError, match="CASTSMITH_S3_BUCKET"):
        store_from_settings(settings)
    with pytest.raises(ConfigurationError, match="CASTSMITH_S3_BUCKET"):
        urls_from_settings(settings, b"secret")


def test_half_set_credentials_and_plain_http_are_refused(tmp_path: Path) -> None:
    half = Settings(
        data_dir=tmp_path,
        storage_backend="s3",
        s3_bucket="b",
        s3_access_key="AKIA",  # type: ignore[arg-type]
    )
    with pytest.raises(ConfigurationError, match="CASTSMITH_S3_SECRET_KEY"):
        store_from_settings(half)
    plain = Settings(
        data_dir=tmp_path, storage_backend="s3", s3_bucket="b", s3_endpoint="http://minio:9000"
    )
    with pytest.raises(ConfigurationError, match="CASTSMITH_S3_ALLOW_HTTP"):
        store_from_settings(plain)
