"""``castsmith users ...`` and ``castsmith tokens ...`` end to end, then the token at work."""

from __future__ import annotations

from pathlib import Path

import httpx
from typer.testing import CliRunner

from castsmith.cli import app
from castsmith.config import Settings
from tests.harness import operator_container
from tests.integration.auth.conftest import app_client


def cli(database_url: str, *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--database-url", database_url, *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


async def test_users_and_tokens_commands(tmp_path: Path, database_url: str) -> None:
    code, out, _ = cli(database_url, "users", "create", "carol", "--password-stdin", stdin="pw\n")
    assert code == 1  # too short
    code, out, _ = cli(
        database_url, "users", "create", "carol", "--password-stdin", stdin="long enough pw\n"
    )
    assert code == 0, out
    assert cli(database_url, "users", "create", "dan", "--admin")[0] == 0
    assert cli(database_url, "users", "create", "dan")[0] == 1  # taken
    code, out, _ = cli(database_url, "users", "list")
    assert "carol" in out and "admin" in out

    code, out, err = cli(database_url, "tokens", "create", "--user", "carol", "--name", "ci")
    assert code == 0, err
    raw = out.strip()
    assert raw.startswith("cst_") and "not shown again" in err
    code, out, _ = cli(database_url, "tokens", "list")
    assert raw not in out and raw[:12] in out and "active" in out

    container = operator_container(
        Settings(data_dir=tmp_path, database_url=database_url, auth="required")
    )
    async with app_client(container) as http:
        headers = {"Authorization": f"Bearer {raw}"}
        assert (await http.get("/api/actors", headers=headers)).status_code == 200
        answer = await http.post("/login", data={"username": "carol", "password": "long enough pw"})
        assert answer.status_code == 303

        token_id = out.split()[0]
        assert cli(database_url, "tokens", "revoke", token_id)[0] == 0
        assert "revoked" in cli(database_url, "tokens", "list")[1]
        assert (await http.get("/api/actors", headers=headers)).status_code == 401

        _, second, _ = cli(database_url, "tokens", "create", "--user", "carol")
        headers = {"Authorization": f"Bearer {second.strip()}"}
        assert (await http.get("/api/actors", headers=headers)).status_code == 200
        assert cli(database_url, "users", "disable", "carol")[0] == 0
        assert (await http.get("/api/actors", headers=headers)).status_code == 401
        refused: httpx.Response = await http.post(
            "/login", data={"username": "carol", "password": "long enough pw"}
        )
        assert refused.status_code == 401
    container.close()
