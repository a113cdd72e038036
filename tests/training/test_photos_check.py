"""`secondlook photos check`, the README's run command until the service lands, end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.cli import main


@pytest.mark.slow
def test_samples_are_recognised(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["photos", "check", "--samples"]) == 0
    printed = capsys.readouterr().out
    assert "espresso" in printed and "cat" in printed and "jpeg 451x300" in printed


def test_refused_and_missing_files_are_reported_with_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text_file = tmp_path / "photo.jpg"
    text_file.write_text("not a photo")
    assert main(["photos", "check", str(text_file), str(tmp_path / "absent.jpg")]) == 1
    printed = capsys.readouterr().out
    assert "unsupported_format" in printed and "no such file" in printed


def test_no_arguments_explains_what_to_give(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["photos", "check"]) == 2
    assert "--samples" in capsys.readouterr().out
