"""At 390 px wide: no page scrolls sideways, a long actor name wraps, and card titles
break between the parts of a name, never inside one; screenshots at both widths."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import LiveApp, screenshot

pytestmark = pytest.mark.browser

LONG = "0701_extraordinarily_longwinded_character_name_for_narrow_screens"

# For every text node of every card title: on how many lines it is drawn.
LINES_PER_PART = """
() => Array.from(document.querySelectorAll('.card-title a')).flatMap((link) =>
  Array.from(link.childNodes).filter((n) => n.nodeType === Node.TEXT_NODE && n.textContent)
    .map((node) => {
      const range = document.createRange();
      range.selectNodeContents(node);
      const tops = new Set(Array.from(range.getClientRects()).map((r) => Math.round(r.top)));
      return [node.textContent, tops.size];
    }))
"""


# What sticks out on the right, to name it when a page scrolls sideways.
WIDER = """
() => Array.from(document.querySelectorAll('body *'))
  .filter((e) => e.getBoundingClientRect().right > 391)
  .slice(0, 5).map((e) => e.tagName + '#' + e.id + '.' + e.className)
"""


@pytest.fixture
def phone(browser: Any, live_app: LiveApp) -> Any:
    context = browser.new_context(base_url=live_app.url, viewport={"width": 390, "height": 844})
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()


def test_long_names_wrap_without_sideways_scroll(phone: Any, live_app: LiveApp) -> None:
    actor = live_app.post("/api/actors", {"name": LONG, "description": "a very long name"})
    for other in ("0702_european_30_female", "0703_african_45_male"):
        live_app.post("/api/actors", {"name": other, "description": "a short name"})
    for path in ("/", f"/actors/{actor['id']}", "/jobs", "/references", "/personas"):
        phone.goto(path)
        wide = phone.evaluate("document.documentElement.scrollWidth")
        offenders = phone.evaluate(WIDER)
        assert wide <= 390, f"{path} scrolls sideways ({wide} px): {offenders}"
    phone.goto(f"/actors/{actor['id']}")
    heading = phone.get_by_role("heading", level=1)
    assert heading.inner_text().replace("\n", "") == LONG
    box = heading.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert box["height"] > 40  # it wrapped onto more than one line

    phone.goto("/")
    parts = phone.evaluate(LINES_PER_PART)
    assert parts, "no card titles"
    broken = [text for text, lines in parts if lines > 1]
    assert broken == [], f"card titles broken inside a part: {broken}"
    screenshot(phone, "library-390")
    phone.goto(f"/actors/{actor['id']}")
    screenshot(phone, "actor-390")


def test_screenshots_at_1280(page: Any, live_app: LiveApp) -> None:
    page.goto("/")
    screenshot(page, "library-1280")
    page.goto("/jobs?view=all")
    screenshot(page, "jobs-1280")
