"""Input a hostile user sends: odd spellings of ids, out-of-range numbers, names with
a trailing newline, file names outside Latin-1. Each gets a clear 4xx, never a 500,
and nothing changes."""

from __future__ import annotations

from urllib.parse import quote

from castsmith.jobs.diagnostic import SLEEP_KIND
from tests.integration.auth.conftest import Cast


async def test_ids_have_one_spelling_everywhere(cast: Cast) -> None:
    http, alice, bob = cast.http, cast.auth("alice"), cast.auth("bob")
    job = await http.post("/api/jobs", json={"kind": SLEEP_KIND}, headers=alice)
    assert job.status_code == 201, job.text
    job_id = job.json()["id"]
    actor = await http.post("/api/actors", json={"name": "Ada"}, headers=alice)
    actor_id = actor.json()["id"]

    for spelling in (f"{job_id}.0", f"{job_id}e0", f"+{job_id}", f"%20{job_id}", f"{job_id}.5"):
        for method, path in (
            ("GET", f"/api/jobs/{spelling}"),
            ("GET", f"/api/jobs/{spelling}/events"),
            ("POST", f"/api/jobs/{spelling}/cancel"),
            ("POST", f"/api/jobs/{spelling}/retry"),
            ("GET", f"/api/actors/{spelling.replace(str(job_id), str(actor_id))}"),
        ):
            answer = await http.request(method, path, headers=bob)
            assert answer.status_code == 422, (method, path, answer.text)
            assert "whole number" in answer.json()["detail"]
    for query in ("parent_id=1.0", "parent_id=1e0"):
        answer = await http.get(f"/api/jobs?{query}", headers=bob)
        assert answer.status_code == 422, query
        assert answer.json()["field"] == "parent_id"
    answer = await http.get("/api/character-references?actor_id=1.0", headers=bob)
    assert answer.status_code == 422
    answer = await http.get("/api/actors?owner=1.0", headers=bob)
    assert answer.status_code == 422
    # In a JSON body, an id is an integer: 8.0 and "8" are refused too.
    for value in (float(actor_id), str(actor_id)):
        answer = await http.post(
            "/api/poster-frames/regenerate", json={"actor_ids": [value]}, headers=alice
        )
        assert answer.status_code == 422, (value, answer.text)

    # Alice's job was not cancelled by any of it.
    mine = await http.get(f"/api/jobs/{job_id}", headers=alice)
    assert mine.json()["cancel_requested"] is False
    assert mine.json()["status"] == "queued"


async def test_event_replay_positions_outside_the_id_range_are_422(cast: Cast) -> None:
    http, alice = cast.http, cast.auth("alice")
    job_id = (await http.post("/api/jobs", json={"kind": SLEEP_KIND}, headers=alice)).json()["id"]
    for after in ("-10006805633440550912", str(2**64), "-1", "1.5"):
        answer = await http.get(f"/api/jobs/{job_id}/events?after={after}", headers=alice)
        assert answer.status_code == 422, (after, answer.text)
        assert answer.json()["field"] == "after"
        answer = await http.get(f"/api/events?after={after}", headers=alice)
        assert answer.status_code == 422, (after, answer.text)
    header = {**alice, "Last-Event-ID": "-10006805633440550912"}
    answer = await http.get("/api/events", headers=header)
    assert answer.status_code == 422
    assert answer.json()["field"] == "Last-Event-ID"


async def test_priorities_are_bounded_and_only_admins_set_them(cast: Cast) -> None:
    http, alice, root = cast.http, cast.auth("alice"), cast.auth("root")
    for priority in (1e30, 2**62, 101, -101, 5.0):
        answer = await http.post(
            "/api/jobs", json={"kind": SLEEP_KIND, "priority": priority}, headers=root
        )
        assert answer.status_code == 422, (priority, answer.text)
        assert answer.json()["field"] == "priority"
    answer = await http.post("/api/jobs", json={"kind": SLEEP_KIND, "priority": 5}, headers=alice)
    assert answer.status_code == 422
    assert "only an admin" in answer.json()["detail"]
    answer = await http.post("/api/jobs", json={"kind": SLEEP_KIND, "priority": 100}, headers=root)
    assert answer.status_code == 201
    assert answer.json()["priority"] == 100
    listed = (await http.get("/api/jobs", headers=root)).json()["items"]
    assert [job["priority"] for job in listed] == [100]


async def test_names_with_a_trailing_newline_are_refused(cast: Cast) -> None:
    http, alice = cast.http, cast.auth("alice")
    answer = await http.post("/api/actors", json={"name": "a_actor_1\n"}, headers=alice)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "name"
    assert (await http.get("/api/actors", headers=alice)).json()["items"] == []


async def test_a_zip_named_outside_latin1_downloads(cast: Cast) -> None:
    http, alice = cast.http, cast.auth("alice")
    job_id = "vj-中"
    made = await http.post("/api/video-jobs", json={"id": job_id}, headers=alice)
    assert made.status_code == 201, made.text
    upload = await http.put(
        f"/api/video-jobs/{quote(job_id)}/assets/notes.txt",
        files={"file": ("notes.txt", b"scene one", "text/plain")},
        headers=alice,
    )
    assert upload.status_code == 201, upload.text
    answer = await http.get(f"/api/video-jobs/{quote(job_id)}/assets.zip", headers=alice)
    assert answer.status_code == 200, answer.text
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="vj-_.zip"')
    assert "filename*=UTF-8''vj-%E4%B8%AD.zip" in disposition
