"""When a station item may be graded: no photo that failed a check is left without a retake, and every view the
policy requires for the declared category is there.

A retake is a later photo of the same view that passed every check: it replaces the failed photo in grading, and
the failed photo stays stored (shown as `replaced_by`). Without a declared category the required views cannot be
known before inference, so only the checks hold the item back; the grading's own `missing_views` review reason
still applies, with the category the model sees.
"""

from __future__ import annotations

from grading.policy import GradePolicy
from serving.photo_checks import PhotoCheckRecord, photo_is_usable, stored_record
from serving.schemas import ItemNeeds, PhotoToRetake
from serving.tables import Photo

WHAT_NEXT = (
    "Add the photos to this item (a retake with the same view replaces the failed photo in grading), or submit with"
    " force=true to grade it as it is: it then goes to review."
)


def replacements(rows: list[Photo]) -> dict[str, str]:
    """Failed photo id → the id of its retake (the first later usable photo of the same view), where there is one."""
    replaced = {}
    for index, row in enumerate(rows):
        retake = None if photo_is_usable(row) else next((p for p in rows[index + 1 :] if _retakes(p, row)), None)
        if retake is not None:
            replaced[row.id] = retake.id
    return replaced


def _retakes(later: Photo, failed: Photo) -> bool:
    return later.view == failed.view and photo_is_usable(later)


def graded_photos(rows: list[Photo]) -> list[Photo]:
    """The photos grading reads: all but those a retake replaced."""
    replaced = replacements(rows)
    return [row for row in rows if row.id not in replaced]


def item_needs(rows: list[Photo], category: str | None, policy: GradePolicy) -> ItemNeeds | None:
    """What must come before the item is graded; None when it may be graded now."""
    kept = graded_photos(rows)
    failed = [(row, record) for row in kept if (record := stored_record(row)) and not record.usable]
    missing = missing_views(kept, category, policy)
    if not failed and not missing:
        return None
    retake = [
        PhotoToRetake(photo_id=row.id, number=row.position + 1, view=row.view, failed=record.failed)
        for row, record in failed
    ]
    return ItemNeeds(message=_message(failed, missing, category), retake=retake, missing_views=missing)


def missing_views(rows: list[Photo], category: str | None, policy: GradePolicy) -> list[str]:
    """Required views of the declared category no photo shows; none without a declared category."""
    if not (category or "").strip():
        return []
    shown = {row.view for row in rows}
    return [view.value for view in policy.required_views.for_category(category.strip()) if view.value not in shown]


def _message(failed: list[tuple[Photo, PhotoCheckRecord]], missing: list[str], category: str | None) -> str:
    parts = [f"Retake photo {row.position + 1} ({row.view}): {record.first_fix.message}" for row, record in failed]
    if missing:
        parts.append(f"Add a photo of each view {category.strip()} needs: {', '.join(missing)}.")
    return f"Not graded yet. {' '.join(parts)} {WHAT_NEXT}"
