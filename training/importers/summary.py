"""What an import produced, counted the way a dataset card reports it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from grading.manifest import Item


@dataclass(frozen=True)
class ImportSummary:
    """Counts over the imported items. `annotated`: photos by defect annotation (clean, defective, none)."""

    items: int
    photos: int
    per_split: Counter[str]
    per_category: Counter[str]
    per_authenticity: Counter[str]
    defects_per_type: Counter[str]
    annotated: Counter[str]
    notes: tuple[str, ...]

    @property
    def defects(self) -> int:
        return sum(self.defects_per_type.values())


def summarise(items: list[Item], notes: list[str]) -> ImportSummary:
    photos = [photo for item in items for photo in item.photos]
    return ImportSummary(
        items=len(items),
        photos=len(photos),
        per_split=Counter(str(item.split or "none") for item in items),
        per_category=Counter(item.category for item in items if item.category),
        per_authenticity=Counter(str(item.authenticity) for item in items),
        defects_per_type=Counter(str(d.type) for photo in photos for d in photo.defects or []),
        annotated=Counter(_annotation_state(photo.defects) for photo in photos),
        notes=tuple(notes),
    )


def _annotation_state(defects: list | None) -> str:
    if defects is None:
        return "not annotated"
    return "with defects" if defects else "clean"


def format_summary(summary: ImportSummary, max_notes: int = 20) -> str:
    """A few readable lines for the terminal; long note lists are cut with a count of the rest."""
    lines = [f"items: {summary.items}   photos: {summary.photos}   defects: {summary.defects}"]
    lines.append(f"per split: {_counts(summary.per_split)}")
    if summary.per_category:
        lines.append(f"per category: {_counts(summary.per_category)}")
    if set(summary.per_authenticity) != {"unknown"}:
        lines.append(f"per authenticity: {_counts(summary.per_authenticity)}")
    if summary.defects_per_type:
        lines.append(f"defects per type: {_counts(summary.defects_per_type)}")
    lines.append(f"photos: {_counts(summary.annotated)}")
    if summary.notes:
        lines.append(f"notes ({len(summary.notes)}):")
        lines.extend(f"  - {note}" for note in summary.notes[:max_notes])
        if len(summary.notes) > max_notes:
            lines.append(f"  ... and {len(summary.notes) - max_notes} more")
    return "\n".join(lines)


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(counter.items()))
