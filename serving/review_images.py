"""The images a reviewer looks at: a stored photo's row and its overlay, for the API and the pages alike."""

from __future__ import annotations

from sqlalchemy import select

from serving.errors import ApiError
from serving.item_grader import decode_maps
from serving.item_records import latest_result
from serving.overlays import OverlayKind, render_overlay
from serving.runtime import Runtime
from serving.tables import Photo, PhotoMaps


def photo_row(runtime: Runtime, item_id: str, photo_id: str) -> Photo:
    with runtime.sessions() as session:
        row = session.get(Photo, photo_id)
        if row is None or row.item_id != item_id:
            raise ApiError(404, "unknown_photo", f"Item {item_id} has no photo '{photo_id}'.")
        return row


def overlay_png(runtime: Runtime, item_id: str, photo_id: str, kind: OverlayKind) -> bytes:
    row = photo_row(runtime, item_id, photo_id)
    with runtime.sessions() as session:
        result = latest_result(session, item_id)
        maps = session.scalar(
            select(PhotoMaps).where(
                PhotoMaps.photo_id == photo_id, PhotoMaps.result_id == (result.id if result else "")
            )
        )
    if result is None:
        raise ApiError(404, "not_graded", f"Item {item_id} has no grading yet, so there is no overlay.")
    if maps is None:
        message = f"Photo {photo_id} was not graded (a retake replaced it), so it has no overlay; view the photo."
        raise ApiError(404, "photo_not_graded", message)
    defect_probs, anomaly_map = decode_maps(maps.maps)
    boxes = [(d["type"], tuple(d["box"])) for d in result.body["defects"] if d["photo_id"] == photo_id]
    types = runtime.scheduler.model.metadata.labels.defect_types
    return render_overlay(
        runtime.store.get(row.sha256), tuple(row.crop_box), defect_probs, anomaly_map, kind, types, defect_boxes=boxes
    )
