"""Settings: names, aliases, precedence, secrets."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from castsmith.config import Settings, load_settings

SEED_ALIASES = {
    "RUNPOD_API_KEY": ("runpod_api_key", "rp-secret"),
    "AWS_ACCESS_KEY": ("s3_access_key", "AKIAEXAMPLE"),
    "AWS_ACCESS_KEY_ID": ("s3_access_key", "AKIAEXAMPLE2"),
    "AWS_ACCESS_SECRET": ("s3_secret_key", "aws-secret"),
    "AWS_SECRET_ACCESS_KEY": ("s3_secret_key", "aws-secret-2"),
    "AWS_REGION": ("s3_region", "us-west-1"),
    "AWS_USER_IMAGES_BUCKET": ("s3_bucket", "user-images"),
    "AWS_SYSTEM_ACTORS_BUCKET": ("s3_bucket", "system-actors"),
    "REPLICATE_API_TOKEN": ("replicate_api_token", "r8-secret"),
    "OPENAI_API_KEY": ("openai_api_key", "sk-secret"),
    "S3_ENDPOINT": ("s3_endpoint", "https://s3.example.test"),
    "S3_ACCESS_KEY": ("s3_access_key", "minio"),
    "S3_SECRET_KEY": ("s3_secret_key", "minio-secret"),
    "S3_BUCKET_NAME": ("s3_bucket", "avatar-images"),
    "S3_REGION": ("s3_region", "eu-central-1"),
    "STORAGE_BACKEND": ("storage_backend", "s3"),
    "STORAGE_BUCKET": ("s3_bucket", "my-bucket"),
    "SERVE_FROM_CLOUD": ("serve_from_cloud", False),
    "PRESIGNED_URL_EXPIRY": ("presigned_url_expiry", 600),
    "WORKER_INTERVAL": ("worker_interval", 30.0),
    "MULTITHREAD_FLOWISE": ("multithread_flowise", 7),
    "MAX_CONCURRENT_REQUESTS": ("max_concurrent_requests", 3),
}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [*SEED_ALIASES, "AWS_DEFAULT_REGION", "PORT", "DATABASE_URL"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CASTSMITH_CONFIG", str(tmp_path / "castsmith.toml"))


@pytest.mark.parametrize("env_name", sorted(SEED_ALIASES))
def test_every_seed_environment_name_is_accepted(
    env_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    field, value = SEED_ALIASES[env_name]
    monkeypatch.setenv(env_name, str(value).lower() if isinstance(value, bool) else str(value))
    settings = load_settings()
    got = getattr(settings, field)
    if hasattr(got, "get_secret_value"):
        got = got.get_secret_value()
    assert got == value


def test_castsmith_name_wins_over_seed_alias(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASTSMITH_S3_BUCKET", "primary")
    monkeypatch.setenv("S3_BUCKET_NAME", "legacy")
    assert load_settings().s3_bucket == "primary"


def test_flags_beat_environment_beats_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "castsmith.toml").write_text('port = 7000\nlog_level = "DEBUG"\nhost = "0.0.0.0"\n')
    monkeypatch.setenv("PORT", "7100")
    settings = load_settings(host="127.0.0.2")
    assert settings.port == 7100
    assert settings.log_level == "DEBUG"
    assert settings.host == "127.0.0.2"


def test_defaults_are_the_embedded_setup(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    assert settings.database_url == f"sqlite:///{tmp_path / 'castsmith.db'}"
    assert settings.storage_backend == "local"
    assert settings.local_storage_root == tmp_path / "storage"
    assert settings.public_base_url == "http://127.0.0.1:8000"


def test_secrets_never_show_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret-value")
    settings = load_settings()
    assert "sk-very-secret-value" not in repr(settings)
    assert "sk-very-secret-value" not in str(settings.model_dump())


@pytest.mark.parametrize("expiry", [0, 604801])
def test_presign_expiry_outside_s3_limits_is_refused(
    expiry: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PRESIGNED_URL_EXPIRY", str(expiry))
    with pytest.raises(ValidationError, match="PRESIGNED_URL_EXPIRY"):
        load_settings()


def test_max_concurrent_requests_caps_every_remote_provider(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAX_CONCURRENT_REQUESTS", "3")
    monkeypatch.setenv(
        "CASTSMITH_PROVIDER_LIMITS", '{"runpod": {"rpm": 10}, "openai": {"concurrency": 5}}'
    )
    limits = load_settings().effective_provider_limits()
    assert (limits["runpod"].concurrency, limits["runpod"].rpm) == (3, 10)
    assert limits["openai"].concurrency == 5
    assert limits["replicate"].concurrency == 3
    assert "offline" not in limits
