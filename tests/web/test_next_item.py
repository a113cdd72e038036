"""After a decision the next item in queue order opens, so items left inconclusive don't trap the reviewer."""

from __future__ import annotations

from pathlib import Path

from serving.database import make_engine, migrate, session_factory
from serving.tables import ApiKey, Item, ReviewState
from serving.web.queue_view import QueueFilters, next_item_id


def test_next_item_goes_on_from_the_current_place_and_wraps(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'q.db'}")
    migrate(engine)
    sessions = session_factory(engine)
    with sessions.begin() as db:
        db.add(ApiKey(id="k", name="k", role="kiosk", prefix="p", key_hash="h"))
        for item_id, score in (("a", 0.9), ("b", 0.8), ("c", 0.7)):  # sorted most doubtful first: a, b, c
            db.add(
                Item(id=item_id, channel="kiosk", created_by="k", review_state=ReviewState.PENDING, review_score=score)
            )
    with sessions() as db:
        filters = QueueFilters()
        assert [next_item_id(db, filters, current) for current in ("a", "b", "c", "gone")] == ["b", "c", "a", "a"]
    engine.dispose()
