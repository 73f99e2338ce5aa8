"""The actor page's posters in a browser, at 1280 and 390 px: the current poster is the
one shown (also after going back to v1), a poster drawn with custom parameters without
being made current shows up in the compare view with its parameters, and the user
makes it current from there."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveApp, screenshot

pytestmark = pytest.mark.browser

WIDTHS = [pytest.param((1280, 900), id="1280"), pytest.param((390, 844), id="390")]


@pytest.fixture(params=WIDTHS)
def tab(request: pytest.FixtureRequest, browser: Any, live_app: LiveApp) -> Any:
    width, height = request.param
    context = browser.new_context(
        base_url=live_app.url, viewport={"width": width, "height": height}
    )
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()


def actor_with_posters(app: LiveApp, name: str, count: int) -> int:
    """A new actor with ``count`` poster versions (the newest current)."""
    actor = app.post("/api/actors", {"name": name, "description": "a sailor with a beard"})
    for seed in range(1, count + 1):
        app.post(f"/api/actors/{actor['id']}/regenerate-poster-frame?wait=30", {"seed": seed})
    return int(actor["id"])


def history(app: LiveApp, actor_id: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = app.client.get(f"/api/actors/{actor_id}/poster-frames").json()[
        "items"
    ]
    return items


def version_url(version: int) -> re.Pattern[str]:
    """A poster URL of ``version`` (its key holds ``/v{n}/``)."""
    return re.compile(rf"/v{version}/")


def no_sideways_scroll(page: Any) -> None:
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= page.viewport_size["width"], f"the page scrolls sideways ({wide} px)"
    for dialog in page.locator("dialog[open]").all():
        inner = dialog.evaluate("d => [d.scrollWidth, d.clientWidth]")
        assert inner[0] <= inner[1], f"an open dialog scrolls sideways: {inner}"


def test_a_draft_with_custom_parameters_is_compared_and_made_current(
    tab: Any, live_app: LiveApp
) -> None:
    width = tab.viewport_size["width"]
    actor_id = actor_with_posters(live_app, f"0801_compare_{width}", 2)
    tab.goto(f"/actors/{actor_id}")
    current = tab.locator("#poster-current")
    expect(current).to_contain_text("Current poster")
    expect(current).to_contain_text("v2")

    tab.get_by_role("button", name="Regenerate Poster").click()
    dialog = tab.get_by_role("dialog", name="Regenerate poster")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Style LoRA", exact=True)).to_have_value("SBai_style_101")
    dialog.get_by_label("Style strength").fill("0.55")
    dialog.get_by_label("Steps").fill("12")
    dialog.get_by_label("Guidance").fill("4.5")
    dialog.get_by_label("Size").select_option("832x1216")
    dialog.get_by_label("TeaCache").select_option("off")
    dialog.get_by_label("Keep seed").check()
    dialog.get_by_label("Seed to keep").fill("4242")
    dialog.get_by_label("Make it the current poster").uncheck()
    no_sideways_scroll(tab)
    dialog.get_by_role("button", name="Draw poster").click()

    expect(tab.locator("#toasts")).to_contain_text(
        "Version 3 is ready to compare; the current poster is unchanged", timeout=30_000
    )
    # The draft opens in the compare view beside the current poster, which stays v2.
    compare = tab.get_by_role("dialog", name="Compare poster versions")
    expect(compare).to_be_visible()
    expect(compare.get_by_label("Left", exact=True)).to_have_value("2")
    expect(compare.get_by_label("Right", exact=True)).to_have_value("3")
    draft = compare.locator('.compare-side[data-version="3"]')
    for shown in (
        "not current",
        "SBai_style_101 at 0.55",
        "12",
        "4.5",
        "4242",
        "832 \N{MULTIPLICATION SIGN} 1216",
    ):
        expect(draft).to_contain_text(shown)
    expect(draft.locator("dd").filter(has_text=re.compile(r"^off$"))).to_have_count(1)
    expect(compare.locator('.compare-side[data-version="2"]')).to_contain_text("Current poster")
    expect(current).to_contain_text("v2")
    no_sideways_scroll(tab)
    screenshot(tab, f"compare-sides-{width}")

    # Its parameters are in its provenance.
    v3 = history(live_app, actor_id)[0]
    assert v3["version"] == 3 and v3["is_current"] is False and v3["seed"] == 4242
    params = v3["params"]
    assert params["style_lora"]["strength_model"] == 0.55
    assert (params["steps"], params["guidance"], params["teacache"]) == (12, 4.5, "off")
    assert (params["width"], params["height"], params["seed"]) == (832, 1216, 4242)

    # The overlay wipes between the two with its slider.
    compare.get_by_label("Overlay").check()
    expect(tab.locator("#compare-wipe")).to_be_visible()
    expect(tab.locator("#wipe-tag-a")).to_have_text("v2 · current")
    expect(tab.locator("#wipe-tag-b")).to_have_text("v3")
    slider = compare.get_by_role("slider")
    slider.fill("20")
    expect(tab.locator("#wipe-b")).to_have_attribute("style", re.compile(r"inset\(.*\b20%\)"))
    slider.focus()
    tab.keyboard.press("ArrowRight")
    expect(tab.locator("#wipe-b")).to_have_attribute("style", re.compile(r"inset\(.*\b21%\)"))
    no_sideways_scroll(tab)
    screenshot(tab, f"compare-overlay-{width}")

    compare.get_by_role("button", name="Make v3 current").click()
    expect(tab.locator("#toasts")).to_contain_text("Version 3 is now the current poster")
    expect(draft).to_contain_text("Current poster")
    expect(compare.get_by_role("button", name="Make v2 current")).to_be_visible()
    compare.get_by_role("button", name="Close").click()
    expect(compare).to_be_hidden()
    expect(current).to_contain_text("v3")
    expect(current.locator("img.poster")).to_have_attribute("src", version_url(3))
    # The pair leaves the address on the dialog's ``close`` event, a task after it
    # hides: reloading before then reopens the comparison (the link still names it).
    expect(tab).not_to_have_url(re.compile("#compare"))

    tab.reload()
    expect(tab.locator("#poster-current")).to_contain_text("Current poster")
    expect(tab.locator("#poster-current")).to_contain_text("v3")
    # The dialog opens with what was used, remembered as the actor's defaults.
    tab.get_by_role("button", name="Regenerate Poster").click()
    dialog = tab.get_by_role("dialog", name="Regenerate poster")
    expect(dialog.get_by_label("Steps")).to_have_value("12")
    expect(dialog.get_by_label("Size")).to_have_value("832x1216")
    expect(dialog.get_by_label("TeaCache")).to_have_value("off")
    expect(dialog.get_by_label("Seed to keep")).to_have_value("4242")
    expect(dialog.get_by_label("Make it the current poster")).to_be_checked()
    tab.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_the_current_poster_is_shown_after_going_back_to_v1(tab: Any, live_app: LiveApp) -> None:
    width = tab.viewport_size["width"]
    actor_id = actor_with_posters(live_app, f"0802_revert_{width}", 3)
    tab.goto(f"/actors/{actor_id}")
    current = tab.locator("#poster-current")
    expect(current).to_contain_text("v3")
    tab.locator('#poster-history li[data-version="1"]').get_by_role(
        "button", name="Make current"
    ).click()
    expect(tab.locator("#toasts")).to_contain_text("Version 1 is now the current poster")
    expect(current).to_contain_text("Current poster")
    expect(current).to_contain_text("v1")
    expect(current.locator("img.poster")).to_have_attribute("src", version_url(1))
    expect(tab.locator('#poster-history li[data-version="1"] .badge-current')).to_have_text(
        "current"
    )
    expect(tab.locator('#poster-history li[data-version="3"] .badge-current')).to_have_count(0)

    tab.reload()
    current = tab.locator("#poster-current")
    expect(current).to_contain_text("Current poster")
    expect(current).to_contain_text("v1")
    expect(current.locator("img.poster")).to_have_attribute("src", version_url(1))
    expect(
        current.get_by_role("img", name=f"Current poster of 0802_revert_{width}")
    ).to_be_visible()
    no_sideways_scroll(tab)
    screenshot(tab, f"actor-after-revert-{width}")

    # Compare from the history: v3 beside the current v1.
    tab.locator('#poster-history li[data-version="3"]').get_by_role(
        "button", name="Compare"
    ).click()
    compare = tab.get_by_role("dialog", name="Compare poster versions")
    expect(compare.get_by_label("Left", exact=True)).to_have_value("1")
    expect(compare.get_by_label("Right", exact=True)).to_have_value("3")
    compare.get_by_label("Right", exact=True).select_option("2")
    expect(compare.locator('.compare-side[data-version="2"]')).to_contain_text("not current")
    no_sideways_scroll(tab)
    # The pair is in the address: opening it again shows the same comparison.
    expect(tab).to_have_url(re.compile(r"#compare=1,2$"))
    tab.goto(f"/actors/{actor_id}#compare=3,2")
    tab.reload()
    compare = tab.get_by_role("dialog", name="Compare poster versions")
    expect(compare.get_by_label("Left", exact=True)).to_have_value("3")
    expect(compare.get_by_label("Right", exact=True)).to_have_value("2")
    compare.get_by_role("button", name="Close").click()
    expect(tab).not_to_have_url(re.compile("#compare"))


def test_character_lora_strengths_are_drawn_and_remembered(page: Any, live_app: LiveApp) -> None:
    actor_id = actor_with_posters(live_app, "0803_lora_strengths", 1)
    lora = {"model_url": "s3://bucket/models/0803.safetensors", "strength_model": 0.8}
    assert live_app.client.patch(f"/api/actors/{actor_id}", json={"lora": lora}).status_code == 200
    page.goto(f"/actors/{actor_id}")
    page.get_by_role("button", name="Regenerate Poster").click()
    dialog = page.get_by_role("dialog", name="Regenerate poster")
    model = dialog.get_by_label("Character LoRA strength (model)")
    expect(model).to_have_value("0.8")
    expect(dialog.get_by_label("Character LoRA strength (CLIP)")).to_be_enabled()
    model.fill("0.6")
    dialog.get_by_role("button", name="Draw poster").click()
    expect(page.locator("#toasts")).to_contain_text("is ready", timeout=30_000)
    expect(page.locator("#poster-current")).to_contain_text("v2")

    drawn = history(live_app, actor_id)[0]["params"]["character_lora"]
    assert drawn == {"name": "0803.safetensors", "strength_model": 0.6, "strength_clip": 0.8}
    # Only what differs from the LoRA settings is remembered: those still reach posters.
    remembered = live_app.client.get(f"/api/actors/{actor_id}/poster-defaults").json()
    assert remembered["lora_strength_model"] == 0.6 and "lora_strength_clip" not in remembered
