"""``castsmith references ...`` on the embedded default (SQLite, local store, offline)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from castsmith.cli import app


def run(data_dir: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["--data-dir", str(data_dir), *args])
    return result.exit_code, result.output


def test_generate_list_and_attach_to_a_video_job(tmp_path: Path) -> None:
    assert run(tmp_path, "migrate")[0] == 0
    code, out = run(
        tmp_path,
        "references",
        "generate",
        "--description",
        "a tall woman in a green raincoat",
        "--count",
        "2",
        "--aspect-ratio",
        "3:4",
        "--wait",
        "--json",
    )
    assert code == 0, out
    made = json.loads(out[out.index("{") :])
    assert made["status"] == "completed"
    images = made["images"]
    assert len(images) == 2
    for image in images:
        assert image["cloud_path"] == f"character_references/{image['id']}.png"
        assert image["aspect_ratio"] == "3:4"
        assert image["image_url"]

    code, out = run(tmp_path, "references", "list", "--json")
    assert code == 0, out
    listed = json.loads(out)["items"]
    assert {item["id"] for item in listed} == {image["id"] for image in images}

    ids = [image["id"] for image in images]
    code, out = run(tmp_path, "references", "attach", "video-42", *ids, "--json")
    assert code == 0, out
    attached = json.loads(out)["items"]
    assert sorted(item["source_reference_id"] for item in attached) == sorted(ids)
    for item in attached:
        assert item["video_job_id"] == "video-42"
        assert item["cloud_path"].startswith("videos/video-42/intermediate/character_reference/")
    # Attaching the same references again keeps one copy of each.
    code, out = run(tmp_path, "references", "attach", "video-42", ids[0])
    assert code == 0 and "2 reference(s)" in out

    code, out = run(tmp_path, "references", "list")
    assert code == 0 and "2 reference(s)" in out  # video job copies are not standalone


def test_queue_without_wait_and_clear_errors(tmp_path: Path) -> None:
    assert run(tmp_path, "migrate")[0] == 0
    code, out = run(tmp_path, "references", "generate", "--description", "an old sailor")
    assert code == 0 and out.startswith("queued job ")

    code, out = run(
        tmp_path, "references", "generate", "--description", "x", "--aspect-ratio", "2:1"
    )
    assert code == 1 and "aspect_ratio" in out
    code, out = run(tmp_path, "references", "generate", "--description", "x", "--count", "5")
    assert code == 1 and "num_images" in out
    code, out = run(tmp_path, "references", "attach", "video-1", "no-such-image")
    assert code == 1 and "no character reference with id 'no-such-image'" in out
