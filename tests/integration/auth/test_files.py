"""Signed file links cover one object and expire; serving cannot leave the storage root."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from castsmith.pipelines import references as refs
from tests.integration.auth.conftest import Cast
from tests.integration.auth.test_ownership import PNG, _reference


async def test_a_link_opens_its_own_object_only(sqlite_cast: Cast) -> None:
    cast = sqlite_cast
    store, urls = cast.container.store, cast.container.urls
    await store.put("actors/a/one.txt", b"object A", content_type="text/plain")
    await store.put("actors/a/two.txt", b"object B", content_type="text/plain")
    link = urlsplit(urls.local_url("actors/a/one.txt", expires_in=60))
    answer = await cast.http.get(f"{link.path}?{link.query}")
    assert answer.status_code == 200 and answer.content == b"object A"
    # The signature of A does not open B, even with A's expiry.
    other = await cast.http.get(f"/files/actors/a/two.txt?{link.query}")
    assert other.status_code == 403
    # Nor does a changed expiry.
    query = parse_qs(link.query)
    later = int(query["expires"][0]) + 3600
    moved = await cast.http.get(f"{link.path}?expires={later}&sig={query['sig'][0]}")
    assert moved.status_code == 403
    # An expired link is refused.
    old = urlsplit(urls.local_url("actors/a/one.txt", expires_in=60, now=1_000_000))
    assert (await cast.http.get(f"{old.path}?{old.query}")).status_code == 403


async def test_serving_cannot_leave_the_storage_root(sqlite_cast: Cast) -> None:
    cast = sqlite_cast
    root = cast.container.settings.local_storage_root
    root.mkdir(parents=True, exist_ok=True)
    outside = root.parent / "outside-secret.txt"
    outside.write_text("secret")
    urls = cast.container.urls
    for key in (
        "../outside-secret.txt",
        "actors/../../outside-secret.txt",
        "%2e%2e/outside-secret.txt",
        "actors/%2e%2e/%2e%2e/outside-secret.txt",
        "%2fetc/passwd",
        "/etc/passwd",
    ):
        signature = urls.signature(key, 4_000_000_000)
        answer = await cast.http.get(f"/files/{key}?expires=4000000000&sig={signature}")
        # 303: the client resolved the dots to a path outside /files, which needs a login.
        assert answer.status_code in (303, 403, 404), key
        assert b"secret" not in answer.content and b"root:" not in answer.content
    # A symlink inside the root pointing out of it is not followed.
    (root / "actors").mkdir(exist_ok=True)
    (root / "actors" / "escape.txt").symlink_to(outside)
    link = urlsplit(urls.local_url("actors/escape.txt", expires_in=60))
    answer = await cast.http.get(f"{link.path}?{link.query}")
    assert answer.status_code in (403, 404)
    assert b"secret" not in answer.content


HTML = b"<html><script>fetch('/api/actors', {method: 'POST'})</script></html>"


async def test_a_stored_page_cannot_run_on_the_apps_origin(cast: Cast) -> None:
    http, alice, bob = cast.http, cast.auth("alice"), cast.auth("bob")
    assert (await http.post("/api/video-jobs", json={"id": "clip"}, headers=bob)).is_success
    uploads = {
        "evil.html": (HTML, "text/html"),
        "evil.svg": (
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>1</script></svg>",
            "image/svg+xml",
        ),
        "fake.png": (HTML, "image/png"),
        "notes.txt": ("scène one".encode(), "text/plain"),
        "frame.png": (PNG, "text/html"),
    }
    for name, (data, claimed) in uploads.items():
        answer = await http.put(
            f"/api/video-jobs/clip/assets/{name}",
            files={"file": (name, data, claimed)},
            headers=bob,
        )
        assert answer.status_code == 201, answer.text
    listed = (await http.get("/api/video-jobs/clip/assets", headers=bob)).json()["items"]
    links = {item["path"]: urlsplit(item["url"]) for item in listed}
    served = {}
    for name, link in links.items():
        # Alice opens Bob's links while logged in (the cookie or token goes along).
        answer = await http.get(f"{link.path}?{link.query}", headers=alice)
        assert answer.status_code == 200, name
        assert answer.headers["x-content-type-options"] == "nosniff"
        csp = answer.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "sandbox" in csp
        served[name] = (answer.headers["content-type"], answer.headers.get("content-disposition"))
    assert served["frame.png"] == ("image/png", None)  # images are shown inline
    for name in ("evil.html", "evil.svg", "fake.png"):
        content_type, disposition = served[name]
        assert content_type == "application/octet-stream", name
        assert disposition is not None and disposition.startswith("attachment"), name
    assert served["notes.txt"][0] == "text/plain; charset=utf-8"
    assert served["notes.txt"][1] is not None
    # Stored with the type the bytes show, not the one claimed.
    meta = await cast.container.store.head("videos/clip/evil.html")
    assert meta is not None and meta.content_type == "application/octet-stream"


async def test_every_page_and_answer_carries_a_restrictive_policy(sqlite_cast: Cast) -> None:
    http, alice = sqlite_cast.http, sqlite_cast.auth("alice")
    for path in ("/", "/references", "/jobs", "/api/actors", "/login", "/healthz"):
        answer = await http.get(path, headers=alice)
        assert answer.status_code == 200, path
        csp = answer.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp, path
        assert "frame-ancestors 'none'" in csp
        assert answer.headers["x-content-type-options"] == "nosniff"
    refused = await http.get("/api/actors")
    assert refused.status_code == 401
    assert "content-security-policy" in refused.headers


async def test_a_references_signed_fallback_link_is_public(cast: Cast) -> None:
    image_id = await _reference(cast, "alice")
    container = cast.container
    ref = await refs.find(container, image_id, signed=True)
    cached = refs.cache_path(container, ref.key)
    cached.parent.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(PNG)
    link = urlsplit(refs.local_copy_url(container, ref))
    for headers in ({}, cast.auth("bob"), cast.auth("alice")):
        answer = await cast.http.get(f"{link.path}?{link.query}", headers=headers)
        assert answer.status_code == 200, (headers, answer.text)
        assert answer.content == PNG
        assert answer.headers["content-type"] == "image/png"
        assert answer.headers["x-content-type-options"] == "nosniff"
    # The signature still decides: a changed one is refused, with or without a login.
    query = parse_qs(link.query)
    forged = f"{link.path}?expires={query['expires'][0]}&sig=AAAA"
    assert (await cast.http.get(forged)).status_code == 403
    assert (await cast.http.get(forged, headers=cast.auth("bob"))).status_code == 403
