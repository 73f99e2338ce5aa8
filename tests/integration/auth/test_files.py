"""Signed file links cover one object and expire; serving cannot leave the storage root."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.integration.auth.conftest import Cast


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
