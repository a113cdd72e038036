"""The printable certificate and the public verification page in a real headless chromium against the real server:
the QR code on the page decodes to the verification URL, the page prints on one A4 sheet, and after a reviewer
override the old certificate's page says revoked."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tests.serving.conftest import jpeg
from tests.web.conftest import Server, screenshot

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')")
expect = sync_api.expect

pytestmark = pytest.mark.browser


def approved_item(server: Server, photo: str) -> str:
    """A kiosk item (flagged by the strict test policy) approved by a reviewer at once, so the queue the other page
    tests count is unchanged."""
    files = [("photos", (f"{photo}.jpg", jpeg(photo), "image/jpeg"))]
    with server.api("kiosk") as kiosk:
        offer = kiosk.post("/v1/kiosk/grade", files=files, data={"category": "t-shirt", "brand": "Acme"}).json()
    with server.api("reviewer") as reviewer:
        decision = {"action": "approve", "reason_code": "model_correct"}
        assert reviewer.post(f"/v1/review/items/{offer['item_id']}/decision", json=decision).status_code == 200
    return offer["item_id"]


@pytest.fixture(scope="module")
def certified(server: Server) -> dict:
    """An approved item with holes, certified through the API."""
    item_id = approved_item(server, "gravel_on_floor")
    with server.api("reviewer") as reviewer:
        issued = reviewer.post(f"/v1/review/items/{item_id}/certificate")
    assert issued.status_code == 201, issued.text
    return issued.json()


def decoded_qr(png: bytes) -> str:
    cv2 = pytest.importorskip("cv2", reason="opencv is needed to decode the QR code (pip install -e '.[train]')")
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    black_and_white = cv2.threshold(image, 128, 255, cv2.THRESH_BINARY)[1]
    for detector in (cv2.QRCodeDetectorAruco(), cv2.QRCodeDetector()):  # each misses codes the other reads
        text = detector.detectAndDecode(black_and_white)[0]
        if text:
            return text
    return ""


def test_the_printable_certificate_shows_the_grade_and_a_qr_code_of_the_verification_url(
    browser, server: Server, certified: dict
) -> None:
    context = browser.new_context(viewport={"width": 1000, "height": 900}, device_scale_factor=2, base_url=server.url)
    page = context.new_page()
    try:
        page.goto(certified["links"]["print"])
        payload = certified["document"]["payload"]
        expect(page.get_by_role("heading", name="Condition certificate")).to_be_visible()
        expect(page.locator("#certificate-grade")).to_have_text(payload["grade"].replace("_", " ").capitalize())
        expect(page.get_by_text(certified["certificate_id"]).first).to_be_visible()
        assert decoded_qr(page.locator("svg.qr-code").screenshot()) == certified["links"]["verify"]
        assert certified["links"]["verify"] == f"{server.url}/verify/{certified['certificate_id']}"
        screenshot(page, "certificate.png")
        pdf = page.pdf(format="A4", print_background=True)
        assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1  # one printed sheet
    finally:
        context.close()


def test_the_verification_page_says_valid_then_revoked_after_an_override(page, server: Server, certified: dict) -> None:
    old = certified["certificate_id"]
    page.goto(f"/verify/{old}")
    expect(page.locator("#standing")).to_contain_text("Valid")
    with server.api("reviewer") as reviewer:
        decision = {"action": "override", "grade": "good", "reason_code": "severity_wrong", "comment": "small holes"}
        decided = reviewer.post(f"/v1/review/items/{certified['item_id']}/decision", json=decision).json()
    new = decided["certificate_id"]
    page.goto(f"/verify/{old}")
    expect(page.locator("#standing")).to_contain_text("Revoked")
    page.get_by_role("link", name=new).click()
    expect(page).to_have_url(re.compile(f"/verify/{new}$"))
    expect(page.locator("#standing")).to_contain_text("Valid")
    expect(page.locator("#certificate-grade")).to_have_text("Good")
    screenshot(page, "certificate-verify.png")


def test_a_reviewer_issues_a_certificate_from_the_item_page(reviewer_page, server: Server) -> None:
    page = reviewer_page
    item_id = approved_item(server, "sneakers")
    page.goto(f"/review/items/{item_id}")
    page.get_by_role("button", name="Issue certificate").click()
    expect(page).to_have_url(re.compile(r"/certificates/\w{32}$"))
    expect(page.get_by_role("heading", name="Condition certificate")).to_be_visible()
    certificate_id = page.url.rsplit("/", 1)[1]
    page.goto(f"/review/items/{item_id}")
    expect(page.locator("#certificate")).to_contain_text(certificate_id)
    page.locator("#certificate").get_by_role("link", name="verification page").click()
    expect(page.locator("#standing")).to_contain_text("Valid")
