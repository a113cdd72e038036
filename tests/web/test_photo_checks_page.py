"""The item page shows each photo's failed checks under the photo (what failed, the value against the threshold
and what to do), in a real headless chromium against the real server."""

from __future__ import annotations

import re

import pytest

from grading.policy import default_policy_path, load_policy
from tests.web.conftest import Server, screenshot

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")
expect = sync_api.expect

pytestmark = pytest.mark.browser
POLICY = load_policy(default_policy_path()).photo_quality  # the web tests' strict policy keeps these thresholds


def test_failed_checks_are_listed_under_their_photo(reviewer_page, server: Server) -> None:
    page = reviewer_page
    [item_id] = server.items["photo_quality"]
    page.goto(f"/review/items/{item_id}")
    good, dark = page.locator("figure.photo:has(img.item-photo)").all()
    expect(good.locator(".photo-checks-passed")).to_have_text("Passed every photo check.")
    expect(good.locator("ul.photo-checks")).to_have_count(0)
    checks = dark.get_by_role("list", name="Photo checks photo 2 failed")
    too_dark = checks.get_by_role("listitem").filter(has_text="too dark")
    limit = f"needs at least {POLICY.highlight_level_at_least:g}"
    expect(too_dark).to_have_text(re.compile(rf"too dark \d+(\.\d+)? \({limit}\): The photo is too dark: "))
    with server.api("reviewer") as reviewer:
        failed = reviewer.get(f"/v1/review/items/{item_id}").json()["photos"][1]["failed_checks"]
    expect(checks.get_by_role("listitem")).to_have_count(len(failed))  # every failed check, not only the first
    expect(page.locator(".reasons")).to_contain_text("photo quality")
    screenshot(page, "review-photo-checks.png")
