"""The library page server-side: keyset pages forwards and back, filters, demo cast."""

from __future__ import annotations

import re

import httpx

from castsmith.api.app import create_app
from castsmith.config import Settings
from castsmith.db.models import Actor
from tests.harness import operator_container


def _names(html: str) -> list[str]:
    return re.findall(r'data-actor-name="([^"]+)"', html)


def _link(html: str, rel: str) -> str | None:
    found = re.search(rf'rel="{rel}" href="([^"]+)"', html)
    return found.group(1).replace("&amp;", "&") if found else None


async def test_pages_forward_and_back_with_filters(
    sqlite_database_url: str, local_settings: Settings
) -> None:
    settings = local_settings.model_copy(update={"database_url": sqlite_database_url})
    container = operator_container(settings)
    with container.sessions.begin() as session:
        for n in range(1, 61):
            sex = "female" if n % 2 else "male"
            session.add(Actor(name=f"{n:04d}_european_30_{sex}", description="x", sex=sex))
    app = create_app(container)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        first = (await client.get("/")).text
        assert len(_names(first)) == 24
        assert _link(first, "prev") is None
        second_url = _link(first, "next")
        assert second_url
        second = (await client.get(second_url)).text
        assert _names(second)[0] == "0025_european_30_female"
        third = (await client.get(_link(second, "next") or "")).text
        assert _names(third)[-1] == "0060_european_30_male"
        assert _link(third, "next") is None
        back = (await client.get(_link(third, "prev") or "")).text
        assert _names(back) == _names(second)
        back_again = (await client.get(_link(back, "prev") or "")).text
        assert _names(back_again) == _names(first)

        women = (await client.get("/?sex=female")).text
        assert all(name.endswith("female") for name in _names(women))
        assert "30 actors match" in women
        women2 = (await client.get(_link(women, "next") or "")).text
        assert "sex=female" in (_link(women2, "prev") or "")
        assert len(_names(women2)) == 6

        none = (await client.get("/?q=nobody")).text
        assert "No actors match" in none
    container.close()


async def test_empty_library_and_demo_cast(
    sqlite_database_url: str, local_settings: Settings
) -> None:
    settings = local_settings.model_copy(update={"database_url": sqlite_database_url})
    container = operator_container(settings)
    app = create_app(container)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert "Create demo cast" in (await client.get("/")).text
        made = (await client.post("/api/demo-cast")).json()
        assert len(made["created"]) == 4
        assert len(made["job_ids"]) == 8
        again = (await client.post("/api/demo-cast")).json()
        assert again["created"] == [] and len(again["skipped"]) == 4
        page = (await client.get("/")).text
        assert len(_names(page)) == 4
        for path in ("/jobs", "/personas", "/references", "/actors/1", "/jobs?view=all"):
            assert (await client.get(path)).status_code == 200, path
        assert (await client.get("/actors/999")).status_code == 404
    container.close()
