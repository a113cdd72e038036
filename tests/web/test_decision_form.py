"""The reviewer page's decision form read as the API's decision: ticked model defects become reviewed defects."""

from __future__ import annotations

from serving.tables import Result
from serving.web.pages import decision_from

FOUND = [
    {"photo_id": "p1", "type": "stain", "box": [1.0, 2.0, 30.0, 40.0], "peak": 0.9, "certain": True},
    {"photo_id": "p2", "type": "hole", "box": [5.0, 5.0, 9.0, 9.0], "peak": 0.4, "certain": False},
]
FORM = {"action": "approve", "reason_code": "model_correct"}


def _result() -> Result:
    return Result(body={"defects": FOUND})


def test_without_record_ticked_the_decision_says_nothing_about_defects() -> None:
    assert decision_from(FORM | {"defect_0": "on"}, _result()).defects is None


def test_the_ticked_defects_are_the_real_ones_with_the_model_boxes() -> None:
    decision = decision_from(FORM | {"defects_checked": "on", "defect_1": "on"}, _result())
    assert [d.model_dump(mode="json") for d in decision.defects] == [
        {"photo_id": "p2", "type": "hole", "box": [5.0, 5.0, 9.0, 9.0]}
    ]


def test_record_with_nothing_ticked_says_the_photos_are_clean() -> None:
    assert decision_from(FORM | {"defects_checked": "on"}, _result()).defects == []
    assert decision_from(FORM | {"defects_checked": "on"}, None).defects == []
