"""Validate a manifest: every problem with its manifest line, item id, severity and the fix.

Checks, in order: lines that do not parse or break the schema (unknown labels included), duplicate item ids,
photo files that are missing, unreadable through intake (the service's own decoder), or whose sha256 or
declared size differs from the file; masks missing, empty (all zero), unreadable or of another size than
their photo; boxes and polygons outside the photo (more than `EDGE_TOLERANCE_PX` past an edge); one photo
(sha256) in two items; and split leakage: exact or near-duplicate photos, or one `Item.group`, in more than
one split.

Also: one photo file carrying different labels in two items (label conflict), and items without a split.

Severity: everything that makes training or evaluation wrong is an error, including the known issues of the
shared datasets (their cards list them; `secondlook data split` resolves the leakage); a photo repeated within
one split is a warning (it only weights that photo twice), and so is an item without a split (the split tool
assigns one).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from grading.manifest import Defect, Item, ManifestError, parse_line, resolve_photo_path
from grading.manifest import Photo as ManifestPhoto
from training.near_duplicates import DEFAULT_MAX_DISTANCE, find_duplicates, photo_refs
from training.photo_facts import PhotoFacts, PhotoTask, inspect_photos
from training.splits import LabelConflict, describe_conflict, label_conflicts

EDGE_TOLERANCE_PX = 1.0  # boxes converted from normalised coordinates land a hair past the edge


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Check(StrEnum):
    """What a finding is about; stable names, usable in scripts."""

    PARSE = "parse"
    DUPLICATE_ID = "duplicate_id"
    MISSING_PHOTO = "missing_photo"
    UNREADABLE_PHOTO = "unreadable_photo"
    SHA256_MISMATCH = "sha256_mismatch"
    SIZE_MISMATCH = "size_mismatch"
    MASK_MISSING = "mask_missing"
    MASK_UNREADABLE = "mask_unreadable"
    MASK_EMPTY = "mask_empty"
    MASK_SIZE = "mask_size"
    BOX_OUTSIDE = "box_outside"
    POLYGON_OUTSIDE = "polygon_outside"
    DUPLICATE_PHOTO = "duplicate_photo"
    LEAK_EXACT = "leak_exact_duplicate"
    LEAK_NEAR = "leak_near_duplicate"
    LEAK_GROUP = "leak_group"
    LABEL_CONFLICT = "label_conflict"
    NO_SPLIT = "no_split"


@dataclass(frozen=True)
class Finding:
    """One problem. `line` is the 1-based manifest line; `item_id` is None when the line has no readable id."""

    severity: Severity
    check: Check
    line: int
    item_id: str | None
    message: str
    fix: str


@dataclass(frozen=True)
class ValidationReport:
    manifest: Path
    items: int
    photos: int
    findings: tuple[Finding, ...]

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(finding for finding in self.findings if finding.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(finding for finding in self.findings if finding.severity is Severity.WARNING)

    @property
    def exit_code(self) -> int:
        """1 when there are errors, else 0 (warnings do not fail)."""
        return 1 if self.errors else 0


@dataclass(frozen=True)
class _Entry:
    line: int
    item: Item


def validate_manifest(
    path: Path, max_distance: int = DEFAULT_MAX_DISTANCE, workers: int = 2, progress: bool = True
) -> ValidationReport:
    """Run every check on the manifest at `path`; raises FileNotFoundError only when the manifest is missing."""
    path = Path(path)
    entries, findings = _parse(path)
    findings += _duplicate_ids(entries)
    facts = inspect_photos(_tasks(path, entries), workers, progress)
    findings += list(_photo_findings(path, entries, facts))
    findings += _leak_findings(path, entries, facts, max_distance)
    findings += _unsplit_findings(entries)
    photos = sum(len(entry.item.photos) for entry in entries)
    ordered = sorted(findings, key=lambda finding: (finding.line, finding.check))
    return ValidationReport(path, len(entries), photos, tuple(ordered))


def _parse(path: Path) -> tuple[list[_Entry], list[Finding]]:
    entries, findings = [], []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                entries.append(_Entry(number, parse_line(line, path, number)))
            except ManifestError as error:
                findings.append(_parse_finding(number, line, error))
    return entries, findings


def _parse_finding(number: int, line: str, error: ManifestError) -> Finding:
    try:
        item_id = json.loads(line).get("id")
    except (ValueError, AttributeError):
        item_id = None
    fix = "correct the field named above to match datasets/manifest.schema.json (labels: see grading/vocabulary.py)"
    return Finding(Severity.ERROR, Check.PARSE, number, item_id, str(error) + _given_values(error), fix)


def _given_values(error: ManifestError) -> str:
    """The offending values (pydantic's message lists the allowed ones but not what the line said)."""
    cause = error.__cause__
    if not isinstance(cause, ValidationError):
        return ""
    given = [
        repr(problem["input"]) for problem in cause.errors() if isinstance(problem.get("input"), str | int | float)
    ]
    return f" (given: {', '.join(given[:5])})" if given else ""


def _duplicate_ids(entries: Sequence[_Entry]) -> list[Finding]:
    first_line: dict[str, int] = {}
    findings = []
    for entry in entries:
        first = first_line.setdefault(entry.item.id, entry.line)
        if first != entry.line:
            message = f"item id '{entry.item.id}' is already used on line {first}"
            findings.append(_error(Check.DUPLICATE_ID, entry, message, "give every item a unique id"))
    return findings


def _error(check: Check, entry: _Entry, message: str, fix: str) -> Finding:
    return Finding(Severity.ERROR, check, entry.line, entry.item.id, message, fix)


def _tasks(path: Path, entries: Sequence[_Entry]) -> list[PhotoTask]:
    return [
        PhotoTask(resolve_photo_path(path, photo.path), tuple(resolve_photo_path(path, m) for m in _masks(photo)))
        for entry in entries
        for photo in entry.item.photos
    ]


def _masks(photo: ManifestPhoto) -> list[str]:
    return [defect.mask for defect in photo.defects or [] if defect.mask is not None]


def _photo_findings(path: Path, entries: Sequence[_Entry], facts: Sequence[PhotoFacts]) -> Iterator[Finding]:
    facts_iter = iter(facts)
    for entry in entries:
        for photo in entry.item.photos:
            yield from _one_photo(entry, photo, next(facts_iter))


def _one_photo(entry: _Entry, photo: ManifestPhoto, facts: PhotoFacts) -> Iterator[Finding]:
    if not facts.found:
        fix = "check the path (relative to the manifest's folder) or re-run the import"
        yield _error(Check.MISSING_PHOTO, entry, f"photo file not found: {facts.path}", fix)
    else:
        yield from _photo_content(entry, photo, facts)
    yield from _mask_findings(entry, photo, facts)
    size = facts.size or ((photo.width, photo.height) if photo.width and photo.height else None)
    if size is not None:
        yield from _geometry(entry, photo, size)


def _photo_content(entry: _Entry, photo: ManifestPhoto, facts: PhotoFacts) -> Iterator[Finding]:
    if facts.intake_error is not None:
        fix = "replace the file with a readable photo, or remove it from the item"
        yield _error(Check.UNREADABLE_PHOTO, entry, f"{photo.path}: {facts.intake_error}", fix)
    if facts.sha256 != photo.sha256:
        message = f"{photo.path}: file sha256 {facts.sha256[:12]}… differs from the manifest's {photo.sha256[:12]}…"
        yield _error(Check.SHA256_MISMATCH, entry, message, "the file changed since import: re-import or fix it")
    declared = (photo.width, photo.height)
    if facts.size is not None and None not in declared and declared != facts.size:
        message = f"{photo.path}: manifest says {declared[0]}x{declared[1]}, file is {facts.size[0]}x{facts.size[1]}"
        yield _error(Check.SIZE_MISMATCH, entry, message, "re-import so width/height match the file")


def _mask_findings(entry: _Entry, photo: ManifestPhoto, facts: PhotoFacts) -> Iterator[Finding]:
    for mask in facts.masks:
        if not mask.found:
            yield _error(
                Check.MASK_MISSING, entry, f"mask file not found: {mask.path}", "restore the mask or re-import"
            )
        elif mask.error is not None:
            yield _error(Check.MASK_UNREADABLE, entry, f"mask {mask.path}: {mask.error}", "re-save it as a PNG")
        elif facts.size is not None and mask.size != facts.size:
            message = (
                f"mask {mask.path.name} is {mask.size[0]}x{mask.size[1]}, photo is {facts.size[0]}x{facts.size[1]}"
            )
            yield _error(Check.MASK_SIZE, entry, message, "resize the mask to the photo (nearest) or drop the defect")
        elif mask.empty:
            message = f"mask {mask.path.name} is all zero: it marks no defect"
            yield _error(Check.MASK_EMPTY, entry, message, "redraw the mask or drop the defect")


def _geometry(entry: _Entry, photo: ManifestPhoto, size: tuple[int, int]) -> Iterator[Finding]:
    for number, defect in enumerate(photo.defects or []):
        if defect.box is not None and _box_outside(defect, size):
            box = defect.box
            message = f"{photo.path} defect {number}: box ({box.x0:g}, {box.y0:g}, {box.x1:g}, {box.y1:g}) " + (
                f"extends past the {size[0]}x{size[1]} photo"
            )
            yield _error(Check.BOX_OUTSIDE, entry, message, "clip the box to the photo or fix its coordinates")
        if defect.polygon is not None and _polygon_outside(defect, size):
            message = f"{photo.path} defect {number}: polygon has points outside the {size[0]}x{size[1]} photo"
            yield _error(Check.POLYGON_OUTSIDE, entry, message, "clip the polygon to the photo or fix its points")


def _box_outside(defect: Defect, size: tuple[int, int]) -> bool:
    return defect.box.x1 > size[0] + EDGE_TOLERANCE_PX or defect.box.y1 > size[1] + EDGE_TOLERANCE_PX


def _polygon_outside(defect: Defect, size: tuple[int, int]) -> bool:
    points = np.asarray(defect.polygon, dtype=float)
    low, high = -EDGE_TOLERANCE_PX, np.array(size, dtype=float) + EDGE_TOLERANCE_PX
    return bool((points < low).any() or (points > high).any())


def _leak_findings(
    path: Path, entries: Sequence[_Entry], facts: Sequence[PhotoFacts], max_distance: int
) -> list[Finding]:
    """Duplicate photos across items, and exact, near-duplicate or group leakage across splits."""
    refs = photo_refs([entry.item for entry in entries], path)
    hashed = np.array([fact.phash is not None for fact in facts], dtype=bool)
    hashes = np.array([fact.phash or 0 for fact in facts], dtype=np.uint64)
    duplicates = find_duplicates(refs, max_distance, (hashes, hashed), progress=False)
    exact = [sorted({refs[photo].item for photo in group}) for group in duplicates.exact]
    near = [sorted({refs[photo].item for photo in group}) for group in duplicates.near if not _one_hash(refs, group)]
    by_group: dict[str, list[int]] = {}
    for index, entry in enumerate(entries):
        if entry.item.group is not None:
            by_group.setdefault(entry.item.group, []).append(index)
    findings = [_exact_finding(entries, members) for members in exact if len(members) > 1]
    findings += [
        _leak(Check.LEAK_NEAR, entries, members, f"near-duplicate photos (<= {max_distance} bits)")
        for members in near
        if _spans(entries, members)
    ]
    findings += [
        _leak(Check.LEAK_GROUP, entries, members, f"items of group '{name}'")
        for name, members in by_group.items()
        if _spans(entries, members)
    ]
    return findings + _conflict_findings(entries, label_conflicts([e.item for e in entries], refs, duplicates.exact))


def _one_hash(refs: Sequence, group: Sequence[int]) -> bool:
    return len({refs[photo].sha256 for photo in group}) == 1


def _spans(entries: Sequence[_Entry], members: Sequence[int]) -> bool:
    return len({entries[index].item.split for index in members}) > 1


def _exact_finding(entries: Sequence[_Entry], members: Sequence[int]) -> Finding:
    if _spans(entries, members):
        return _leak(Check.LEAK_EXACT, entries, members, "the same photo file (sha256)")
    first = entries[members[0]]
    message = f"the same photo file (sha256) is also in {_describe(entries, members[1:])}"
    fix = "keep the photo in one item, or merge the items if they are one piece"
    return Finding(Severity.WARNING, Check.DUPLICATE_PHOTO, first.line, first.item.id, message, fix)


def _leak(check: Check, entries: Sequence[_Entry], members: Sequence[int], what: str) -> Finding:
    """One finding per leaking set, on its first item's line, naming the others with their lines and splits."""
    first = entries[members[0]]
    others = sorted(members[1:], key=lambda index: entries[index].item.split == first.item.split)  # other splits first
    message = f"{what} in several splits: this item ({first.item.split}) and {_describe(entries, others)}"
    fix = "run `secondlook data split` (keep-source, --on-leak move|drop) to put them in one split"
    return Finding(Severity.ERROR, check, first.line, first.item.id, message, fix)


def _conflict_findings(entries: Sequence[_Entry], conflicts: Sequence[LabelConflict]) -> list[Finding]:
    """One error per conflicting exact-duplicate group, on the line of its first item."""
    line_of = {entry.item.id: index for index, entry in enumerate(entries)}
    findings = []
    for conflict in conflicts:
        members = [line_of[item_id] for item_id in conflict.item_ids]
        first = entries[members[0]]
        labels = describe_conflict(conflict)
        message = f"one photo file (sha256 {conflict.sha256[:12]}…) carries different labels: {labels}"
        fix = "correct the wrong label, or drop both (`secondlook data split --on-conflict drop`)"
        findings.append(Finding(Severity.ERROR, Check.LABEL_CONFLICT, first.line, first.item.id, message, fix))
    return findings


def _unsplit_findings(entries: Sequence[_Entry]) -> list[Finding]:
    message = "item has no split"
    fix = "assign one with `secondlook data split` (items without a split are used by no trainer)"
    return [
        Finding(Severity.WARNING, Check.NO_SPLIT, entry.line, entry.item.id, message, fix)
        for entry in entries
        if entry.item.split is None
    ]


def _describe(entries: Sequence[_Entry], members: Sequence[int], limit: int = 3) -> str:
    named = [f"line {entries[i].line} '{entries[i].item.id}' ({entries[i].item.split})" for i in members[:limit]]
    more = f" and {len(members) - limit} more" if len(members) > limit else ""
    return ", ".join(named) + more


def format_report(report: ValidationReport, limit: int = 50) -> str:
    """A summary per check, then a table of the first `limit` findings (each with its fix on the next line)."""
    counts: dict[tuple[Severity, Check], int] = {}
    for finding in report.findings:
        counts[finding.severity, finding.check] = counts.get((finding.severity, finding.check), 0) + 1
    lines = [
        f"{report.manifest}: {report.items} items, {report.photos} photos, "
        f"{len(report.errors)} errors, {len(report.warnings)} warnings"
    ]
    lines += [f"  {severity:<8} {check:<22} {count:>6}" for (severity, check), count in sorted(counts.items())]
    if report.findings:
        lines += ["", f"{'line':>6}  {'severity':<8} {'check':<22} {'item':<40} problem"]
    for finding in report.findings[:limit]:
        lines.append(
            f"{finding.line:>6}  {finding.severity:<8} {finding.check:<22} {finding.item_id or '?':<40} "
            f"{finding.message}"
        )
        lines.append(f"{'':>6}  {'':<8} {'':<22} {'':<40} fix: {finding.fix}")
    if len(report.findings) > limit:
        lines.append(f"... {len(report.findings) - limit} more findings (raise --limit to see them)")
    return "\n".join(lines)
