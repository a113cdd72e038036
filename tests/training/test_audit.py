"""Audit files: the shipped audit reads, and every malformed line is refused naming the line and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.audit import AuditError, AuditLabel, default_audit_paths, load_audit, load_audits

HEADER = "sha256,split,category,file,label,damage,reason\n"
SHA = "ab" * 32


def _write(folder: Path, *rows: str, name: str = "audit.csv") -> Path:
    path = folder / name
    path.write_text(HEADER + "".join(row + "\n" for row in rows))
    return path


# clothing-small: test and validation (713) and the train split's shoes (198); sneakers-auth: 480 validation,
# 600 test and every train photo (1,810).
@pytest.mark.parametrize(("name", "photos"), [("clothing-small.csv", 911), ("sneakers-auth.csv", 2890)])
def test_a_shipped_audit_reads_with_every_label(name: str, photos: int) -> None:
    paths = {path.name: path for path in default_audit_paths()}
    assert sorted(paths) == ["clothing-small.csv", "sneakers-auth.csv"]
    entries = load_audit(paths[name])
    assert len(entries) == photos and len({entry.sha256 for entry in entries}) == photos
    assert {entry.label for entry in entries} == set(AuditLabel)
    assert all(entry.damage for entry in entries if entry.label is AuditLabel.DAMAGED)
    assert all(entry.reason for entry in entries)
    assert len(load_audits(default_audit_paths())) == 911 + 2890  # no photo in two audits


def test_rows_read_with_their_damage_list(tmp_path) -> None:
    path = _write(
        tmp_path, f"{SHA},test,shoes,a.jpg,damaged,scuff; dirt,scuffed toes", f"{'cd' * 32},test,hat,b,design,,print"
    )
    first, second = load_audit(path)
    assert (first.label, first.damage, first.reason) == (AuditLabel.DAMAGED, ("scuff", "dirt"), "scuffed toes")
    assert second.label.is_clean and not first.label.is_clean


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("abc,test,hat,a,clean,,x", ":2: sha256 must be 64 hex digits"),
        (f"{SHA},test,hat,a,dirty,,x", ":2: label 'dirty' is not one of clean, design, damaged, unclear"),
        (f"{SHA},test,hat,a,damaged,,x", ":2: a damaged photo names its damage"),
    ],
)
def test_a_bad_row_is_refused_naming_the_line(tmp_path, row: str, message: str) -> None:
    with pytest.raises(AuditError, match=message):
        load_audit(_write(tmp_path, row))


def test_a_file_without_the_header_is_refused(tmp_path) -> None:
    path = tmp_path / "audit.csv"
    path.write_text("hash,label\n")
    with pytest.raises(AuditError, match="header lacks sha256, split"):
        load_audit(path)


def test_one_photo_audited_two_ways_is_refused(tmp_path) -> None:
    first = _write(tmp_path, f"{SHA},test,hat,a,clean,,x", name="one.csv")
    second = _write(tmp_path, f"{SHA},test,hat,a,damaged,stain,y", name="two.csv")
    with pytest.raises(AuditError, match="audited twice, as clean and damaged"):
        load_audits([first, second])
