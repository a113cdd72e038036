"""The reviewer form's "Defects, for retraining": the model's defects ticked as real, and defects the model missed.

A missed defect is a row of three fields, `missed_photo_<k>` (a photo id), `missed_type_<k>` (a defect type) and
`missed_box_<k>` ("x0, y0, x1, y1" in pixels of the photo as shown). The page's script fills a row when the reviewer
drags a box on a photo; without the script the reviewer types the box. A row with neither type nor box is blank.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from grading.vocabulary import DefectType
from serving.errors import ApiError
from serving.tables import Result

MISSED_ROWS_MAX = 50
BOX_EXAMPLE = "120, 80, 260, 190"
_NUMBER = r"\s*(-?\d+(?:\.\d+)?)\s*"
_BOX = re.compile(rf"^{_NUMBER},{_NUMBER},{_NUMBER},{_NUMBER}$")
_ROW_KEY = re.compile(r"^missed_(?:photo|type|box)_(\d+)$")


@dataclass(frozen=True)
class MissedRow:
    """One missed-defect row of the form as the reviewer left it (strings, for showing the form again)."""

    index: int
    photo_id: str
    type: str
    box: str

    @property
    def blank(self) -> bool:
        return not self.type and not self.box


def reviewed_defects(form: dict[str, str], result: Result | None) -> list[dict] | None:
    """With "record the defects" ticked: the model's defects the reviewer ticked as real (`defect_<n>`, n its index in
    the result) with the model's boxes, then the missed defects the reviewer boxed. Unticked: None (the decision says
    nothing about defects), and missed rows filled in are refused, not dropped."""
    missed = missed_defects(form)
    if form.get("defects_checked") != "on":
        if missed:
            raise ApiError(
                422,
                "defects_not_recorded",
                "You boxed a missed defect but did not tick 'Record the defects I see': tick it (the ticked model "
                "defects are then recorded as real, the others as not) or clear the missed defect.",
            )
        return None
    found = (result.body or {}).get("defects", []) if result is not None else []
    ticked = [found[n] for n in range(len(found)) if form.get(f"defect_{n}") == "on"]
    return [{"photo_id": d["photo_id"], "type": d["type"], "box": d["box"]} for d in ticked] + missed


def missed_rows(form: dict[str, str]) -> list[MissedRow]:
    """The missed-defect rows of a submitted form in index order, blank ones included."""
    indexes = sorted({int(match.group(1)) for key in form if (match := _ROW_KEY.match(key))})
    if len(indexes) > MISSED_ROWS_MAX:
        raise ApiError(422, "too_many_missed_defects", f"At most {MISSED_ROWS_MAX} missed defects per decision.")
    return [MissedRow(k, *(form.get(f"missed_{kind}_{k}", "") for kind in ("photo", "type", "box"))) for k in indexes]


def missed_defects(form: dict[str, str]) -> list[dict]:
    """The filled missed-defect rows as reviewed defects; a half-filled row is refused saying what it lacks."""
    filled = [row for row in missed_rows(form) if not row.blank]
    return [_reviewed(number, row) for number, row in enumerate(filled, start=1)]


def _reviewed(number: int, row: MissedRow) -> dict:
    if not row.photo_id:
        raise ApiError(422, "invalid_missed_defect", f"Missed defect {number}: choose the photo it is on.")
    if row.type not in {t.value for t in DefectType}:
        raise ApiError(422, "invalid_missed_defect", f"Missed defect {number}: choose its type.")
    match = _BOX.match(row.box)
    if match is None:
        raise ApiError(
            422,
            "invalid_missed_defect",
            f"Missed defect {number}: its box '{row.box}' is not four numbers x0, y0, x1, y1 in pixels of the "
            f"photo (e.g. {BOX_EXAMPLE}); drag on the photo to draw it.",
        )
    return {"photo_id": row.photo_id, "type": row.type, "box": [float(value) for value in match.groups()]}
