"""The reviewer page's decision form read as the API's decision: ticked model defects and boxed missed ones become
reviewed defects."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from serving.errors import ApiError
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


def _missed(k: int, photo: str, kind: str, box: str) -> dict[str, str]:
    return {f"missed_photo_{k}": photo, f"missed_type_{k}": kind, f"missed_box_{k}": box}


def test_a_boxed_missed_defect_follows_the_ticked_ones() -> None:
    form = FORM | {"defects_checked": "on", "defect_0": "on"} | _missed(3, "p2", "tear", " 10, 20.5,40 ,60 ")
    decision = decision_from(form | _missed(4, "p1", "", ""), _result())  # the blank row left for the next box
    assert [d.model_dump(mode="json") for d in decision.defects] == [
        {"photo_id": "p1", "type": "stain", "box": [1.0, 2.0, 30.0, 40.0]},
        {"photo_id": "p2", "type": "tear", "box": [10.0, 20.5, 40.0, 60.0]},
    ]


@pytest.mark.parametrize(
    ("row", "says"),
    [
        (_missed(0, "p1", "", "1, 2, 3, 4"), "Missed defect 1: choose its type."),
        (_missed(0, "p1", "blotch", "1, 2, 3, 4"), "Missed defect 1: choose its type."),
        (_missed(0, "", "hole", "1, 2, 3, 4"), "Missed defect 1: choose the photo it is on."),
        (_missed(0, "p1", "hole", ""), "Missed defect 1: its box '' is not four numbers x0, y0, x1, y1"),
        (_missed(0, "p1", "hole", "1 2 3 4"), "Missed defect 1: its box '1 2 3 4' is not four numbers"),
    ],
)
def test_a_half_filled_missed_defect_is_refused_saying_what_it_lacks(row: dict[str, str], says: str) -> None:
    with pytest.raises(ApiError) as refused:
        decision_from(FORM | {"defects_checked": "on"} | row, _result())
    assert refused.value.status == 422 and refused.value.message.startswith(says)


def test_a_missed_defect_without_record_ticked_is_refused_not_dropped() -> None:
    with pytest.raises(ApiError) as refused:
        decision_from(FORM | _missed(0, "p1", "hole", "1, 2, 3, 4"), _result())
    assert refused.value.code == "defects_not_recorded" and "Record the defects I see" in refused.value.message


def test_a_reversed_box_is_refused_by_the_decision_itself() -> None:
    with pytest.raises(ValidationError, match="x0 < x1"):
        decision_from(FORM | {"defects_checked": "on"} | _missed(0, "p1", "hole", "30, 2, 3, 4"), _result())
