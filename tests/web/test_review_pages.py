"""Reviewer pages in a real headless chromium against the real server: sign in, queue, item, decide, audit."""

from __future__ import annotations

import re

import pytest

from grading.policy import default_policy_path, load_policy
from tests.serving.conftest import SHIPPED_VERSION
from tests.web.conftest import Server, screenshot, sign_in

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")
expect = sync_api.expect

pytestmark = pytest.mark.browser

ITEM_LINKS = "a.item-link"


def item_ids_on(page) -> list[str]:
    hrefs = page.locator(ITEM_LINKS).evaluate_all("links => links.map(link => link.getAttribute('href'))")
    return [re.match(r"/review/items/(\w+)", href).group(1) for href in hrefs]


def api_item(server: Server, item_id: str) -> dict:
    with server.api("reviewer") as reviewer:
        response = reviewer.get(f"/v1/review/items/{item_id}")
    assert response.status_code == 200, response.text
    return response.json()


def loaded(page, selector: str) -> None:
    """Wait until every image matching `selector` has loaded a real picture."""
    page.wait_for_function(
        "s => [...document.querySelectorAll(s)].every(i => i.complete && i.naturalWidth > 0)", arg=selector
    )


def test_a_station_key_cannot_sign_in(page, server: Server) -> None:
    page.goto("/review/sign-in")
    expect(page.get_by_label("Reviewer API key")).to_be_focused()
    page.keyboard.type(server.keys["station"])
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("This is a station key")
    expect(page.get_by_label("Reviewer API key")).to_have_attribute("aria-invalid", "true")
    page.goto("/review/queue")
    expect(page).to_have_url(re.compile(r"/review/sign-in\?next=%2Freview%2Fqueue$"))


def test_an_unknown_key_is_refused_on_the_form(page, server: Server) -> None:
    sign_in(page, server.keys["reviewer"] + "x")
    expect(page.get_by_role("alert")).to_contain_text("unknown or revoked")


def test_a_reviewer_signs_in_and_sees_every_flagged_item(reviewer_page, server: Server) -> None:
    page = reviewer_page
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
    expect(page.get_by_text("Signed in as")).to_contain_text("web-reviewer")
    expected = {item_id for ids in server.items.values() for item_id in ids}
    expect(page.locator(ITEM_LINKS)).to_have_count(len(expected))
    assert set(item_ids_on(page)) == expected
    screenshot(page, "review-queue.png")


def test_the_queue_filters_by_category_reason_and_age_and_sorts_by_age(reviewer_page, server: Server) -> None:
    page = reviewer_page
    page.get_by_label("Category").select_option("shoes")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"category=shoes"))
    expect(page.locator(ITEM_LINKS)).to_have_count(2)
    assert set(item_ids_on(page)) == set(server.items["shoes"])

    reasons = {item_id: _reason_codes(server, item_id) for ids in server.items.values() for item_id in ids}
    code = next(iter(reasons[server.items["authenticity"][0]] & {"authenticity_inconclusive", "suspected_counterfeit"}))
    page.goto(f"/review/queue?reason={code}")
    assert set(item_ids_on(page)) == {item_id for item_id, codes in reasons.items() if code in codes}

    page.goto("/review/queue?age=gt1d")
    expect(page.get_by_text("Nothing to review under these filters")).to_be_visible()
    page.goto("/review/queue?age=lt1h&sort=age")
    assert item_ids_on(page) == [item_id for ids in server.items.values() for item_id in ids]  # creation order


def _reason_codes(server: Server, item_id: str) -> set[str]:
    return {reason["code"] for reason in api_item(server, item_id)["result"]["reasons"]}


def test_an_item_shows_its_evidence_references_and_toggles_overlays(reviewer_page, server: Server) -> None:
    page = reviewer_page
    item_id = server.items["authenticity"][0]
    page.get_by_role("link", name=re.compile(item_id[:8])).click()
    expect(page).to_have_url(re.compile(f"/review/items/{item_id}"))
    panel = page.locator("#model-heading + *").locator("..")
    policy = f"policy {load_policy(default_policy_path()).version}-web-tests"
    for text in (f"model default {SHIPPED_VERSION}", policy, "Suggested price", "Authenticity"):
        expect(panel).to_contain_text(text)
    expect(page.locator("img.reference-photo")).to_have_count(2)
    expect(page.locator("#references-note")).to_contain_text("Nearest first")
    expect(page.locator("img.reference-photo + figcaption").first).to_have_text(re.compile(r"^similarity -?\d\.\d\d$"))
    loaded(page, "img.reference-photo")

    photo = page.locator("img.item-photo").first
    expect(photo).to_have_attribute("src", re.compile(r"/photos/\w+$"))
    defects = page.get_by_role("button", name=re.compile("Defect overlay"))
    defects.click()
    expect(photo).to_have_attribute("src", re.compile(r"/overlay\?kind=defects$"))
    expect(defects).to_have_attribute("aria-pressed", "true")
    loaded(page, "img.item-photo")
    page.keyboard.press("3")
    expect(photo).to_have_attribute("src", re.compile(r"/overlay\?kind=anomaly$"))
    expect(defects).to_have_attribute("aria-pressed", "false")
    loaded(page, "img.item-photo")
    page.keyboard.press("2")
    loaded(page, "img.item-photo")
    screenshot(page, "review-item.png")


def test_a_decision_without_a_reason_is_refused_on_the_page(reviewer_page, server: Server) -> None:
    page = reviewer_page
    item_id = server.items["shoes"][0]
    page.goto(f"/review/items/{item_id}")
    page.keyboard.press("a")
    expect(page.locator("#reason_code")).to_be_focused()
    page.keyboard.press("Control+Enter")
    expect(page.get_by_role("alert")).to_contain_text("Choose a reason code")
    expect(page.locator("input[name=action][value=approve]")).to_be_checked()
    assert api_item(server, item_id)["review_state"] == "pending"


def test_an_override_by_keyboard_is_audited_and_the_next_item_opens(reviewer_page, server: Server) -> None:
    page = reviewer_page
    first, second = server.items["t-shirt"]
    page.goto("/review/queue?category=t-shirt&sort=age")
    page.locator(ITEM_LINKS).first.focus()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(f"/review/items/{first}"))
    new_grade = "fair" if api_item(server, first)["grade"] != "fair" else "poor"

    page.keyboard.press("o")
    expect(page.locator("#grade")).to_be_focused()
    page.keyboard.type(new_grade)
    expect(page.locator("#grade")).to_have_value(new_grade)
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.locator("#reason_code")).to_be_focused()
    page.keyboard.type("Defect severity")
    expect(page.locator("#reason_code")).to_have_value("severity_wrong")
    page.keyboard.press("Tab")
    page.keyboard.type("The stain on the sleeve is larger than it looks.")
    page.keyboard.press("Control+Enter")

    expect(page).to_have_url(re.compile(f"/review/items/{second}\\?"))
    expect(page.locator("#done-notice")).to_contain_text(first[:8])
    page.goto(f"/review/items/{first}")
    decided = page.locator("#audit-log tbody tr", has_text="review.decided")
    for text in ("web-reviewer", "override", "severity_wrong", new_grade, "larger than it looks"):
        expect(decided).to_contain_text(text)
    body = api_item(server, first)
    assert body["review_state"] == "decided" and body["grade"] == new_grade
    expected = {"action": "override", "grade": new_grade, "reason_code": "severity_wrong"}
    expected |= {"comment": "The stain on the sleeve is larger than it looks."}
    last = body["decisions"][-1]
    assert {name: last[name] for name in expected} == expected


def test_a_post_without_the_csrf_token_is_refused(reviewer_page, server: Server) -> None:
    page = reviewer_page
    item_id = server.items["shoes"][1]
    form = {"action": "approve", "reason_code": "model_correct"}
    for token in ({}, {"csrf_token": "not-the-token"}):
        response = page.request.post(f"/review/items/{item_id}/decision", form=form | token, max_redirects=0)
        assert response.status == 403 and "Form refused" in response.text()
    assert api_item(server, item_id)["review_state"] == "pending"


def test_an_unknown_item_is_an_html_page_not_a_stack_trace(reviewer_page) -> None:
    response = reviewer_page.goto("/review/items/no-such-item")
    assert response.status == 404 and response.headers["content-type"].startswith("text/html")
    expect(reviewer_page.get_by_role("alert")).to_contain_text("No item with id 'no-such-item'")
    expect(reviewer_page.get_by_role("link", name="Back to the review queue")).to_be_visible()


def test_pages_fit_a_tablet_screen(browser, server: Server) -> None:
    context = browser.new_context(viewport={"width": 820, "height": 1180}, base_url=server.url, has_touch=True)
    tablet = context.new_page()
    try:
        sign_in(tablet, server.keys["reviewer"])
        for path in ("/review/queue", f"/review/items/{server.items['authenticity'][0]}"):
            tablet.goto(path)
            overflow = tablet.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a tablet"
            expect(tablet.get_by_role("button", name="Sign out")).to_be_visible()
    finally:
        context.close()


def test_signing_out_ends_the_session(reviewer_page) -> None:
    page = reviewer_page
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("status")).to_contain_text("You are signed out")
    page.goto("/review/queue")
    expect(page).to_have_url(re.compile(r"/review/sign-in"))


def test_ticked_defects_are_recorded_with_the_decision_for_retraining(reviewer_page, server: Server) -> None:
    page = reviewer_page
    item_id = server.items["photo_quality"][0]
    found = api_item(server, item_id)["result"]["defects"]
    page.goto(f"/review/items/{item_id}")
    page.get_by_label("Record the defects I see").check()
    if found:
        page.locator("input[name=defect_0]").check()
    page.locator("input[name=action][value=approve]").check()
    page.locator("#reason_code").select_option("model_correct")
    screenshot(page.locator("#decision-form"), "review-decision-defects.png")
    page.locator("#save-decision").click()
    expect(page).not_to_have_url(re.compile(f"/review/items/{item_id}$"))
    recorded = api_item(server, item_id)["decisions"][-1]["defects"]
    expected = [{"photo_id": d["photo_id"], "type": d["type"], "box": d["box"]} for d in found[:1]]
    assert recorded == expected  # the first model defect confirmed, any others not; none found: the photos are clean


def test_a_missed_defect_boxed_on_the_photo_is_recorded_in_photo_pixels(reviewer_page, server: Server) -> None:
    page = reviewer_page
    item_id = server.items["t-shirt"][0]
    page.goto(f"/review/items/{item_id}")
    loaded(page, "img.item-photo")
    photo = page.locator('img.item-photo[data-graded="true"]').first
    photo_id, width = photo.get_attribute("data-photo-id"), int(photo.get_attribute("width"))
    shown = photo.bounding_box()
    page.mouse.move(shown["x"] + shown["width"] * 0.25, shown["y"] + shown["height"] * 0.25)
    page.mouse.down()
    page.mouse.move(shown["x"] + shown["width"] * 0.5, shown["y"] + shown["height"] * 0.5, steps=5)
    page.mouse.up()
    expect(page.get_by_label("Record the defects I see")).to_be_checked()  # ticked by drawing
    expect(page.locator(".missed-box")).to_have_count(1)
    page.get_by_label("Type of missed defect 1").select_option("stain")  # focused after drawing
    expect(page.locator(".missed-row")).to_have_count(2)  # a blank row for the next box
    page.locator("input[name=action][value=approve]").check()
    page.locator("#reason_code").select_option("missed_defect")
    screenshot(page, "review-missed-defect.png")
    page.locator("#save-decision").click()
    expect(page).not_to_have_url(re.compile(f"/review/items/{item_id}$"))
    recorded = api_item(server, item_id)["decisions"][-1]["defects"]
    missed = [d for d in recorded if d["type"] == "stain" and d["photo_id"] == photo_id][-1]
    scale = width / shown["width"]
    expected = [shown["width"] * 0.25 * scale, shown["height"] * 0.25 * scale] * 2
    expected[2:] = [shown["width"] * 0.5 * scale, shown["height"] * 0.5 * scale]
    assert missed["box"] == pytest.approx(expected, abs=2.5)  # the dragged quarter, in the photo's own pixels


def test_a_half_filled_missed_defect_comes_back_with_what_to_fix(reviewer_page, server: Server) -> None:
    page = reviewer_page
    item_id = server.items["t-shirt"][0]
    page.goto(f"/review/items/{item_id}")
    page.get_by_label("Record the defects I see").check()
    page.get_by_label("Box of missed defect 1").fill("10, 10, 50")
    page.get_by_label("Type of missed defect 1").select_option("hole")
    page.locator("input[name=action][value=approve]").check()
    page.locator("#reason_code").select_option("model_correct")
    page.locator("#save-decision").click()
    expect(page.locator("#form-errors")).to_contain_text("Missed defect 1: its box '10, 10, 50' is not four numbers")
    expect(page.get_by_label("Box of missed defect 1")).to_have_value("10, 10, 50")  # nothing typed is lost
