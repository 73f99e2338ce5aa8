"""`castsmith migrate`, `config show`, `doctor` and /healthz on both databases."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from castsmith.api.app import create_app
from castsmith.config import Settings
from castsmith.db.engine import make_engine
from castsmith.db.migrate import current_revision, head_revision
from tests.harness import operator_container
from tests.services import create_pg_database, drop_pg_database, pg_reachable, pg_url_for

CASTSMITH = [sys.executable, "-m", "castsmith"]


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CASTSMITH_", "AWS_"))}
    clean.update({"CASTSMITH_CONFIG": str(tmp_path / "none.toml"), **env})
    return subprocess.run(
        [*CASTSMITH, *args], capture_output=True, text=True, env=clean, cwd=tmp_path, timeout=120
    )


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> object:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    if not pg_reachable():
        from tests.services import service_missing

        service_missing("PostgreSQL on 127.0.0.1:5432", "start the PostgreSQL service")
    name = create_pg_database()
    yield pg_url_for(name)
    drop_pg_database(name)


def test_migrate_then_doctor_on_an_empty_database(empty_database_url: str, tmp_path: Path) -> None:
    flags = ["--database-url", empty_database_url, "--data-dir", str(tmp_path / "data")]
    before = run([*flags, "doctor"], tmp_path)
    assert before.returncode == 1
    assert "castsmith migrate" in before.stdout

    first = run([*flags, "migrate"], tmp_path)
    assert first.returncode == 0, first.stderr
    assert "upgraded" in first.stdout
    again = run([*flags, "migrate"], tmp_path)
    assert "already at" in again.stdout
    engine = make_engine(empty_database_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()

    doctor = run([*flags, "doctor"], tmp_path)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "[ok  ] database" in doctor.stdout
    assert "[ok  ] storage" in doctor.stdout


def test_doctor_explains_an_unreachable_database(tmp_path: Path) -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none"
    result = run(["--database-url", url, "doctor"], tmp_path)
    assert result.returncode == 1
    assert "cannot connect" in result.stdout
    assert "CASTSMITH_DATABASE_URL" in result.stdout


def test_doctor_explains_a_missing_bucket(tmp_path: Path, s3_server: object) -> None:
    endpoint = s3_server.endpoint  # type: ignore[attr-defined]
    result = run(
        ["--data-dir", str(tmp_path), "doctor"],
        tmp_path,
        STORAGE_BACKEND="s3",
        S3_BUCKET_NAME="no-such-bucket",
        S3_ENDPOINT=endpoint,
        S3_ACCESS_KEY="testing",
        S3_SECRET_KEY="testing-secret",
        CASTSMITH_S3_ALLOW_HTTP="true",
    )
    assert result.returncode == 1
    assert "FAIL] storage" in result.stdout
    assert "no-such-bucket" in result.stdout
    assert "testing-secret" not in result.stdout + result.stderr


def test_config_show_masks_secrets_and_names_sources(tmp_path: Path) -> None:
    (tmp_path / "castsmith.toml").write_text('log_level = "DEBUG"\n')
    result = run(
        ["--database-url", "sqlite:///x.db", "config", "show", "--json"],
        tmp_path,
        CASTSMITH_CONFIG=str(tmp_path / "castsmith.toml"),
        RUNPOD_API_KEY="rp-very-secret",
        AWS_REGION="us-west-1",
    )
    assert result.returncode == 0, result.stderr
    assert "rp-very-secret" not in result.stdout
    shown = json.loads(result.stdout)
    assert shown["runpod_api_key"] == {
        "value": "**********",
        "source": "environment RUNPOD_API_KEY",
    }
    assert shown["s3_region"] == {"value": "us-west-1", "source": "environment AWS_REGION"}
    assert shown["database_url"]["source"] == "command-line flag"
    assert shown["log_level"]["source"].startswith("file ")
    assert shown["port"] == {"value": 8000, "source": "default"}


async def test_healthz_reports_ok_and_names_a_broken_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'h.db'}"
    container = operator_container(Settings(data_dir=tmp_path, database_url=url))
    transport = httpx.ASGITransport(app=create_app(container))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        unmigrated = await client.get("/healthz")
        assert unmigrated.status_code == 503
        assert "castsmith migrate" in unmigrated.json()["checks"]["database"]["fix"]
        from castsmith.db.migrate import upgrade

        upgrade(container.engine)
        healthy = await client.get("/healthz")
        assert healthy.status_code == 200
        assert healthy.json()["status"] == "ok"
        assert healthy.headers["x-request-id"]
        docs = await client.get("/openapi.json")
        assert "/healthz" in docs.json()["paths"]
    container.close()
