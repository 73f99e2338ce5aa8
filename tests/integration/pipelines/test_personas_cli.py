"""``castsmith personas ...`` on the embedded default (offline, SQLite, local folder)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from castsmith.cli import app


def test_create_wait_list_show_and_retry(tmp_path: Path, sqlite_database_url: str) -> None:
    runner = CliRunner()
    env = {"CASTSMITH_WORKER_INTERVAL": "0.05", "CASTSMITH_LOG_LEVEL": "WARNING"}
    root = ["--data-dir", str(tmp_path), "--database-url", sqlite_database_url]

    made = runner.invoke(
        app,
        [*root, "personas", "create", "--count", "1", "--locale", "it_IT", "--wait", "--json"],
        env=env,
    )
    assert made.exit_code == 0, made.output
    task = json.loads(made.stdout)
    assert task["status"] == "completed"
    assert len(task["results"][0]["images"]) == 5

    listed = runner.invoke(app, [*root, "personas", "list"], env=env)
    assert listed.exit_code == 0
    assert task["task_id"] in listed.stdout and "completed" in listed.stdout

    shown = runner.invoke(app, [*root, "personas", "show", task["task_id"]], env=env)
    assert shown.exit_code == 0
    result = task["results"][0]
    assert f"{result['firstname']} {result['lastname']}" in shown.stdout
    assert "image_3" in shown.stdout

    retry = runner.invoke(app, [*root, "personas", "retry-failed", task["task_id"]], env=env)
    assert retry.exit_code == 1
    assert "only tasks that ended with failed personas" in retry.output

    bad = runner.invoke(app, [*root, "personas", "create", "--count", "0"], env=env)
    assert bad.exit_code == 1
    assert "count must be between 1 and 100" in bad.output
