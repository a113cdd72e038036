"""Browser test fixtures: the real service as a subprocess on loopback, flagged items, and Debian's chromium.

The server is started with `python -m serving.cli run` on a free port of 127.0.0.1, keys are made with the
CLI beforehand, and a stricter policy (loaded through the admin API) sends every item to review. The browser is
Debian's `/usr/bin/chromium` driven by Playwright; tests are skipped when it is missing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from grading.policy import default_policy_path
from tests.conftest import REPO_ROOT
from tests.fixtures.service_process import cli, start_server
from tests.serving.conftest import darkened, jpeg, retouched

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
PRODUCT_LINE = "atelier-tote"
HANG_GUARD_MS = 60_000  # Playwright waits end as soon as the page is ready; this only stops a hung run


@dataclass
class Server:
    """The running service: its base URL, a key per role, and the flagged items made for the tests."""

    url: str
    keys: dict[str, str]
    data_dir: Path
    items: dict[str, list[str]] = field(default_factory=dict)  # "shoes", "t-shirt", "authenticity" → item ids

    def api(self, role: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"X-API-Key": self.keys[role]}, timeout=120)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing: run scripts/install-browser.sh (installs Debian's chromium)")
    pytest.importorskip("playwright", reason="playwright is not installed (pip install -e '.[dev]')")
    return CHROMIUM


@pytest.fixture(scope="session")
def server(chromium_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The real service on loopback with a reviewer, admin, station and kiosk key and flagged items."""
    data_dir = tmp_path_factory.mktemp("web-service")
    keys = {role: cli(data_dir, "keys", "create", "--role", role, "--name", f"web-{role}") for role in ROLES}
    process = start_server(data_dir)
    try:
        running = Server(process.url, keys, data_dir)
        seed(running)
        yield running
    finally:
        process.stop()


ROLES = ("reviewer", "admin", "station", "kiosk")


def seed(server: Server) -> None:
    """A strict policy (every item to review; kiosk photos that fail a check are graded with a warning), references
    for one product line, and kiosk items, one with a photo too dark."""
    strict = server.data_dir / "strict-policy.yaml"
    text = default_policy_path().read_text()
    text = text.replace("min_grade_confidence: 0.5", "min_grade_confidence: 0.999")
    text = text.replace("on_failure: retake", "on_failure: grade_with_warning")
    strict.write_text(re.sub(r'^version: "([^"]+)"', r'version: "\1-web-tests"', text, count=1, flags=re.M))
    with server.api("admin") as admin:
        assert admin.post("/v1/admin/rules", json={"policy": str(strict)}).status_code == 200
        photos = [("photos", (f"{name}.jpg", jpeg(name), "image/jpeg")) for name in ("sneakers", "shorts")]
        assert admin.post(f"/v1/admin/references/{PRODUCT_LINE}", files=photos).status_code == 201
    pair = [("front.jpg", jpeg("sneakers")), ("back.jpg", retouched("sweater", darkened))]  # the back is too dark
    server.items = {
        "shoes": [grade(server, "sweater", category="shoes"), grade(server, "jeans", category="shoes")],
        "t-shirt": [grade(server, "tshirt", category="t-shirt"), grade(server, "dress", category="t-shirt")],
        "authenticity": [grade(server, "retina", category="bag", product_line=PRODUCT_LINE, authenticate="true")],
        "photo_quality": [grade_photos(server, pair, category="hat", views="front,back")],
    }


def grade(server: Server, photo: str, **facts: str) -> str:
    return grade_photos(server, [(f"{photo}.jpg", jpeg(photo))], **facts)


def grade_photos(server: Server, photos: list[tuple[str, bytes]], **form: str) -> str:
    """A kiosk grade of the photos; `form` holds the facts and views."""
    files = [("photos", (name, data, "image/jpeg")) for name, data in photos]
    with server.api("kiosk") as kiosk:
        response = kiosk.post("/v1/kiosk/grade", files=files, data=form)
    assert response.status_code == 200, response.text
    offer = response.json()
    assert offer["decision"] == "review", f"{photos[0][0]} was not flagged: {offer['result']['reasons']}"
    return offer["item_id"]


@pytest.fixture(scope="session")
def browser(chromium_path: Path) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, server: Server) -> Iterator[object]:
    """A fresh browser context (no cookies) at laptop size."""
    context = browser.new_context(viewport={"width": 1366, "height": 900}, base_url=server.url)
    context.set_default_timeout(HANG_GUARD_MS)
    tab = context.new_page()
    yield tab
    context.close()


def csrf(html: str) -> str:
    """The CSRF token of a page's forms."""
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in_client(running) -> None:
    """Sign an in-process service's test client in to the reviewer pages with its reviewer key."""
    form = running.client.get("/review/sign-in")
    data = {"key": running.keys["reviewer"], "csrf_token": csrf(form.text), "next": "/review/queue"}
    assert "Review queue" in running.client.post("/review/sign-in", data=data).text


def sign_in(page, key: str) -> None:
    page.goto("/review/sign-in")
    page.get_by_label("Reviewer API key").fill(key)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


@pytest.fixture
def reviewer_page(page, server: Server):
    sign_in(page, server.keys["reviewer"])
    page.wait_for_url("**/review/queue")
    return page


def screenshot(page, name: str) -> Path:
    """Into docs/screenshots when SECONDLOOK_UPDATE_SCREENSHOTS=1 (the README links them), else var/screenshots."""
    folder = (
        SCREENSHOTS if os.environ.get("SECONDLOOK_UPDATE_SCREENSHOTS") == "1" else REPO_ROOT / "var" / "screenshots"
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    page.screenshot(path=str(path), **({"full_page": True} if hasattr(page, "goto") else {}))  # a page or a locator
    return path
