"""The item page of a station item whose failed photo was retaken: the failed photo is shown, said to be replaced by
its retake, and offers no overlays (it was not graded); the retake shows as passing every check."""

from __future__ import annotations

import json
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest

from tests.serving.conftest import Service, blurred, jpeg, retouched, start_service, wait_for_status
from tests.web.conftest import sign_in_client

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A service whose client is signed in to the reviewer pages."""
    for running in start_service(tmp_path_factory.mktemp("retake-view")):
        sign_in_client(running)
        yield running


class Figures(HTMLParser):
    """Per item photo: its img attributes and the text of its caption."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.photos: list[tuple[dict, str]] = []
        self._in_caption = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "img" and named.get("class") == "item-photo":
            self.photos.append((named, ""))
        self._in_caption = self._in_caption or (tag == "figcaption" and bool(self.photos))

    def handle_endtag(self, tag: str) -> None:
        self._in_caption = self._in_caption and tag != "figcaption"

    def handle_data(self, data: str) -> None:
        if self._in_caption:
            attrs, text = self.photos[-1]
            self.photos[-1] = (attrs, " ".join(f"{text} {data}".split()))


def retaken_item(service: Service) -> str:
    """A graded station t-shirt whose blurred back was retaken (the page opens for any item, reviewed or not)."""
    photos = {"front.jpg": jpeg("tshirt"), "back.jpg": retouched("jeans", blurred)}
    files = [("photos", (name, data, "image/jpeg")) for name, data in photos.items()]
    data = {"metadata": json.dumps({"sku": "R-1", "category": "t-shirt"}), "views": "front,back", "complete": "false"}
    item = service.client.post("/v1/station/items", files=files, data=data, headers=service.headers("station")).json()
    retake = [("photos", ("back-again.jpg", jpeg("jeans"), "image/jpeg"))]
    url = f"/v1/station/items/{item['item_id']}/photos"
    form = {"views": "back", "complete": "true"}
    assert service.client.post(url, files=retake, data=form, headers=service.headers("station")).status_code == 200
    assert wait_for_status(service, item["item_id"], {"graded", "failed"})["status"] == "graded"
    return item["item_id"]


def test_a_replaced_photo_is_shown_without_overlays_and_names_its_retake(service: Service) -> None:
    item_id = retaken_item(service)
    response = service.client.get(f"/review/items/{item_id}")
    assert response.status_code == 200, response.text
    (_, front), (failed, failed_caption), (retake, retake_caption) = Figures(response.text).photos
    assert "Passed every photo check." in front and "Passed every photo check." in retake_caption
    assert "Not graded: photo 3 is its retake." in failed_caption and "sharpness" in failed_caption
    assert failed["data-defects"] == failed["data-anomaly"] == failed["data-photo"]  # no overlay of an ungraded photo
    assert retake["data-defects"].endswith("/overlay?kind=defects")
