"""The item page's authentic references, read from the HTML: nearest first with their similarity, or in enrolment
order for a result graded before similarities were recorded."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

from grading.policy import default_policy_path, load_policy
from serving.item_records import latest_result
from serving.references import reference_photos
from serving.web.item_view import ENROLMENT_ORDER_NOTE, reference_caption
from tests.serving.conftest import Service, jpeg, start_service
from tests.web.conftest import sign_in_client

LINE = "acme-tote"
REFERENCES = ("sweater", "jeans", "sneakers")
SHIPPED_POLICY = load_policy(default_policy_path()).version


def test_a_caption_says_whether_the_similarity_reaches_the_authentic_threshold() -> None:
    assert reference_caption(0.9312, 0.85) == "similarity 0.93 · reaches the authentic threshold 0.85"
    assert reference_caption(0.85, 0.85) == "similarity 0.85 · reaches the authentic threshold 0.85"
    assert reference_caption(0.4, 0.85) == "similarity 0.40 · is below the authentic threshold 0.85"
    assert reference_caption(0.8499, 0.85) == "similarity 0.8499 · is below the authentic threshold 0.85"
    assert reference_caption(0.9951, 0.995) == "similarity 1.00 · reaches the authentic threshold 0.995"
    assert reference_caption(-0.1234, None) == "similarity -0.12"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A service with references for LINE and a signed-in reviewer page session."""
    for running in start_service(tmp_path_factory.mktemp("item-view")):
        photos = [("photos", (f"{name}.jpg", jpeg(name), "image/jpeg")) for name in REFERENCES]
        enrolled = running.client.post(f"/v1/admin/references/{LINE}", files=photos, headers=running.headers("admin"))
        assert enrolled.status_code == 201
        sign_in_client(running)
        yield running


class References(HTMLParser):
    """The reference figures of an item page: (src, alt, caption) each, and the note above them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.figures: list[tuple[str, str, str]] = []
        self.note = ""
        self._reading: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "img" and named.get("class") == "reference-photo":
            self.figures.append((named["src"] or "", named["alt"] or "", ""))
        elif tag == "figcaption" and self.figures and not self.figures[-1][2]:
            self._reading = "caption"
        elif named.get("id") == "references-note":
            self._reading = "note"

    def handle_endtag(self, tag: str) -> None:
        self._reading = None

    def handle_data(self, data: str) -> None:
        if self._reading == "caption" and self.figures:
            self.figures[-1] = (*self.figures[-1][:2], self.figures[-1][2] + " ".join(data.split()))
        elif self._reading == "note":
            self.note += " ".join(data.split())


def graded(service: Service, photo: str) -> dict:
    files = [("photos", (f"{photo}.jpg", jpeg(photo), "image/jpeg"))]
    form = {"product_line": LINE, "authenticate": "true"}
    offer = service.client.post("/v1/kiosk/grade", files=files, data=form, headers=service.headers("kiosk")).json()
    assert offer["result"]["authenticity"]["verdict"] in ("inconclusive", "suspected_counterfeit"), offer["result"]
    return offer


def item_page(service: Service, item_id: str) -> References:
    response = service.client.get(f"/review/items/{item_id}")
    assert response.status_code == 200, response.text
    return References(response.text)


@pytest.mark.slow
def test_the_nearest_references_are_shown_nearest_first_with_their_similarity(service: Service) -> None:
    offer = graded(service, "tshirt")  # no reference is this photo, and the shipped policy sends it to review
    nearest = offer["result"]["authenticity"]["nearest_references"]
    assert [near["similarity"] for near in nearest] == sorted((near["similarity"] for near in nearest), reverse=True)
    page = item_page(service, offer["item_id"])
    assert [src for src, _, _ in page.figures] == [f"/review/references/{near['reference_id']}" for near in nearest]
    assert [caption for _, _, caption in page.figures] == [f"similarity {near['similarity']:.2f}" for near in nearest]
    assert len(page.figures) == len(REFERENCES)
    assert (
        page.figures[0][1]
        == f"Nearest authentic reference 1 of {LINE}, similarity {nearest[0]['similarity']:.2f} to the item"
    )
    assert page.note.endswith(f"under policy {SHIPPED_POLICY} references never vouch for an item on their own.")


@pytest.mark.slow
def test_captions_say_whether_a_reference_reaches_the_authentic_threshold(service: Service, tmp_path: Path) -> None:
    earlier = graded(service, "dress")
    text = default_policy_path().read_text()
    text = text.replace("authentic_similarity_at_least: null", "authentic_similarity_at_least: 0.995")
    policy = tmp_path / "policy.yaml"
    policy.write_text(text.replace(f'version: "{SHIPPED_POLICY}"', 'version: "item-view-tests"'))
    loaded = service.client.post("/v1/admin/rules", json={"policy": str(policy)}, headers=service.headers("admin"))
    assert loaded.status_code == 200, loaded.text
    try:
        offer = graded(service, "tshirt")  # no reference is this photo: every one is below 0.995
        page, nearest = item_page(service, offer["item_id"]), offer["result"]["authenticity"]["nearest_references"]
        assert [caption for _, _, caption in page.figures] == [
            f"similarity {near['similarity']:.2f} · is below the authentic threshold 0.995" for near in nearest
        ]
        assert page.note == "Nearest first, each with its similarity to the item (the best over the item's photos)."
        before = item_page(service, earlier["item_id"])  # graded under another policy: no threshold to read against
        assert all(" · " not in caption for _, _, caption in before.figures)
        assert before.note.endswith(f"graded under policy {SHIPPED_POLICY}, not active.")
    finally:
        shipped = {"policy": str(default_policy_path())}
        service.client.post("/v1/admin/rules", json=shipped, headers=service.headers("admin"))


@pytest.mark.slow
def test_a_result_from_before_nearest_references_shows_them_in_enrolment_order(service: Service) -> None:
    item_id = graded(service, "retina")["item_id"]
    with service.client.app.state.runtime.sessions.begin() as session:
        row = latest_result(session, item_id)
        authenticity = {k: v for k, v in row.body["authenticity"].items() if k != "nearest_references"}
        row.body = row.body | {"authenticity": authenticity}
        enrolled = [reference.id for reference in reference_photos(session, LINE)]
    page = item_page(service, item_id)
    assert [src for src, _, _ in page.figures] == [f"/review/references/{reference}" for reference in enrolled]
    assert [caption for _, _, caption in page.figures] == ["reference 1", "reference 2", "reference 3"]
    assert page.figures[0][1] == f"Enrolled authentic reference 1 of {LINE}" and page.note == ENROLMENT_ORDER_NOTE
