"""Enrolled authentic reference photos per product line, and the gallery an item is compared with."""

from __future__ import annotations

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from grading.authenticity import ReferenceGallery
from grading.inference import GradingModel
from grading.intake import load_photo
from serving.storage import PhotoStore
from serving.tables import ReferencePhoto


def gallery_for(session: Session, product_line: str | None, model_version: str) -> ReferenceGallery | None:
    """The references of one product line embedded by the running model, by their ids; None when there are none."""
    if not product_line:
        return None
    query = select(ReferencePhoto).where(
        ReferencePhoto.product_line == product_line, ReferencePhoto.model_version == model_version
    )
    rows = session.scalars(query.order_by(ReferencePhoto.created_at, ReferencePhoto.id)).all()
    if not rows:
        return None
    embeddings = np.stack([np.frombuffer(row.embedding, np.float32) for row in rows])
    return ReferenceGallery({product_line: embeddings}, {product_line: [row.id for row in rows]})


def enroll(
    session: Session, product_line: str, sha256s: list[str], embeddings: np.ndarray, model_version: str, key_id: str
) -> list[ReferencePhoto]:
    """Add references (a photo already enrolled for this line and model is kept once)."""
    rows = []
    for sha256, embedding in zip(sha256s, embeddings, strict=True):
        row = session.scalar(
            select(ReferencePhoto).where(
                ReferencePhoto.product_line == product_line,
                ReferencePhoto.sha256 == sha256,
                ReferencePhoto.model_version == model_version,
            )
        )
        if row is None:
            row = ReferencePhoto(
                product_line=product_line,
                sha256=sha256,
                model_version=model_version,
                embedding=np.asarray(embedding, np.float32).tobytes(),
                created_by=key_id,
            )
            session.add(row)
        rows.append(row)
    session.flush()
    return rows


def reference_photos(session: Session, product_line: str) -> list[ReferencePhoto]:
    query = select(ReferencePhoto).where(ReferencePhoto.product_line == product_line)
    return list(session.scalars(query.order_by(ReferencePhoto.created_at)))


def reference_counts(session: Session) -> dict[str, int]:
    query = select(ReferencePhoto.product_line, func.count()).group_by(ReferencePhoto.product_line)
    return {line: count for line, count in session.execute(query).all()}


def reembed_for(session: Session, store: PhotoStore, model: GradingModel, key_id: str) -> int:
    """Embed every enrolled reference photo with `model` (a newly loaded bundle), so authenticity keeps working."""
    version = model.metadata.version
    pending: dict[str, set[str]] = {}
    for row in session.scalars(select(ReferencePhoto)):
        pending.setdefault(row.product_line, set()).add(row.sha256)
    done = {
        (row.product_line, row.sha256)
        for row in session.scalars(select(ReferencePhoto).where(ReferencePhoto.model_version == version))
    }
    count = 0
    for product_line, sha256s in pending.items():
        todo = sorted(sha for sha in sha256s if (product_line, sha) not in done)
        if todo:
            preprocessing = model.metadata.input.preprocessing()
            pixels = np.stack([load_photo(store.get(sha), preprocessing=preprocessing).pixels for sha in todo])
            enroll(session, product_line, todo, model.run(pixels).embedding, version, key_id)
            count += len(todo)
    return count
