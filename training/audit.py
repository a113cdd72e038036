"""Human audits of real photos: what a careful grader saw on each photo, keyed by the photo's sha256.

An audit is a CSV with the header `sha256,split,category,file,label,damage,reason` (see
`datasets/audits/README.md`); `label` is one of `AuditLabel`. The evaluation matches audited photos to a
manifest's photos by content hash, so an audit made on one import of a dataset serves every later import.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

AUDITS_FOLDER = Path(__file__).resolve().parents[1] / "datasets" / "audits"
AUDIT_COLUMNS = ("sha256", "split", "category", "file", "label", "damage", "reason")


class AuditLabel(StrEnum):
    CLEAN = "clean"  # no visible wear or damage
    DESIGN = "design"  # clean, with a design feature a machine could take for damage (print, applique, rips)
    DAMAGED = "damaged"  # visibly worn or damaged; `damage` names it
    UNCLEAR = "unclear"  # cannot be judged from the photo

    @property
    def is_clean(self) -> bool:
        return self in (AuditLabel.CLEAN, AuditLabel.DESIGN)


class AuditError(ValueError):
    """An audit file that cannot be read; the message names the file, the line and the fix."""


@dataclass(frozen=True)
class AuditEntry:
    sha256: str
    label: AuditLabel
    damage: tuple[str, ...]
    reason: str


def default_audit_paths() -> list[Path]:
    """Every audit the project keeps (`datasets/audits/*.csv`)."""
    return sorted(AUDITS_FOLDER.glob("*.csv"))


def load_audits(paths: list[Path]) -> dict[str, AuditEntry]:
    """Entries of every file by sha256; a photo audited twice with different labels is an error."""
    entries: dict[str, AuditEntry] = {}
    for path in paths:
        for entry in load_audit(path):
            known = entries.get(entry.sha256)
            if known is not None and known.label is not entry.label:
                raise AuditError(
                    f"{path}: photo {entry.sha256[:12]} is audited twice, as {known.label} and {entry.label}"
                )
            entries[entry.sha256] = entry
    return entries


def load_audit(path: Path) -> list[AuditEntry]:
    with Path(path).open(encoding="utf-8", newline="") as lines:
        reader = csv.DictReader(lines)
        missing = [name for name in AUDIT_COLUMNS if name not in (reader.fieldnames or [])]
        if missing:
            raise AuditError(f"{path}: header lacks {', '.join(missing)}; the header is {','.join(AUDIT_COLUMNS)}")
        return [_entry(row, path, number) for number, row in enumerate(reader, start=2)]


def _entry(row: dict[str, str], path: Path, number: int) -> AuditEntry:
    sha = (row["sha256"] or "").strip().lower()
    if len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha):
        raise AuditError(f"{path}:{number}: sha256 must be 64 hex digits (sha256sum of the photo file), got {sha!r}")
    try:
        label = AuditLabel((row["label"] or "").strip())
    except ValueError:
        known = ", ".join(label.value for label in AuditLabel)
        raise AuditError(f"{path}:{number}: label {row['label']!r} is not one of {known}") from None
    damage = tuple(part.strip() for part in (row["damage"] or "").split(";") if part.strip())
    if label is AuditLabel.DAMAGED and not damage:
        raise AuditError(f"{path}:{number}: a damaged photo names its damage (e.g. stain;hole) in the damage column")
    return AuditEntry(sha, label, damage, (row["reason"] or "").strip())
