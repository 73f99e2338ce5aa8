"""The ``castsmith jobs`` commands against both databases."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from castsmith.cli import app


def test_cli_enqueue_show_cancel_retry_stats(database_url: str, tmp_path: Path) -> None:
    runner = CliRunner()

    def cli(*args: str, code: int = 0) -> str:
        done = runner.invoke(
            app, ["--database-url", database_url, "--data-dir", str(tmp_path), *args]
        )
        assert done.exit_code == code, done.output
        return done.output

    ids = cli(
        "jobs",
        "enqueue",
        "diagnostic.sleep",
        "--payload",
        '{"seconds": 1}',
        "--count",
        "2",
        "--idempotency-key",
        "same",
    ).split()
    assert len(ids) == 2 and ids[0] == ids[1]
    assert "cancelled" in cli("jobs", "cancel", ids[0])
    assert "queued" in cli("jobs", "retry", ids[0])
    shown = json.loads(cli("jobs", "show", ids[0], "--json"))
    assert shown["status"] == "queued" and shown["runs"] == []
    listed = json.loads(cli("jobs", "list", "--status", "queued", "--json"))
    assert [job["id"] for job in listed] == [int(ids[0])]
    stats = json.loads(cli("jobs", "stats", "--json"))
    assert stats["jobs_by_status"] == {"queued": 1}
    assert "job 424242 not found" in cli("jobs", "show", "424242", code=1)
    assert "unknown job kind" in cli("jobs", "enqueue", "nope", code=1)
    assert "not valid JSON" in cli("jobs", "enqueue", "diagnostic.sleep", "--payload", "{", code=1)
