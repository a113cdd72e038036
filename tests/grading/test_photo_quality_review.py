"""A photo graded although it failed a check: recorded in the result and sent to review (photo_quality); the policy's
`on_failure` says what a kiosk does with such a photo."""

from __future__ import annotations

from pathlib import Path

import pytest

from grading.item_grading import Channel, Decision, ItemFacts, grade_item
from grading.item_result import FailedCheck, PhotoQualityResult
from grading.photo_quality import PhotoQualityPolicy, QualityCheck
from grading.policy import PolicyError, ReviewReason, default_policy_path, load_policy
from grading.vocabulary import View
from tests.grading import fake_outputs as fake

DARK = FailedCheck(check=QualityCheck.TOO_DARK, value=13.0, threshold=60.0, message="The photo is too dark: ...")


def quality(*failed: FailedCheck) -> PhotoQualityResult:
    measures = {"brightness": 9.2 if failed else 120.0, "sharpness": 400.0}
    return PhotoQualityResult(usable=not failed, failed=list(failed), measures=measures, policy_version="2026.12.4")


def graded(*qualities: PhotoQualityResult | None):
    evidence = [
        fake.evidence(f"p{i}", view)._replace(quality=q)
        for i, (view, q) in enumerate(zip((View.FRONT, View.BACK), qualities, strict=False))
    ]
    facts = ItemFacts(channel=Channel.KIOSK, category="shirt")
    return grade_item(facts, evidence, fake.metadata(), fake.policy(), fake.pricing())


def test_a_clean_item_with_usable_photos_is_listed_and_records_their_checks() -> None:
    result = graded(quality(), quality())
    assert result.decision is Decision.LIST
    assert [photo.quality for photo in result.photos] == [quality(), quality()]


def test_a_photo_that_failed_a_check_sends_the_item_to_review() -> None:
    result = graded(quality(), quality(DARK))
    assert result.decision is Decision.REVIEW
    [reason] = [reason for reason in result.reasons if reason.code is ReviewReason.PHOTO_QUALITY]
    assert reason.detail.startswith("photo p1 failed too_dark")
    assert result.photos[1].quality.failed == [DARK]
    assert result.model_dump(mode="json")["photos"][1]["quality"]["failed"][0]["check"] == "too_dark"


def test_photos_without_checks_count_as_usable() -> None:
    result = graded(None, None)
    assert result.decision is Decision.LIST and [photo.quality for photo in result.photos] == [None, None]


def test_on_failure_is_retake_unless_the_policy_says_grade_with_warning(tmp_path: Path) -> None:
    assert load_policy(default_policy_path()).photo_quality.on_failure == "retake"
    assert PhotoQualityPolicy(on_failure="grade_with_warning").on_failure == "grade_with_warning"
    text = default_policy_path().read_text(encoding="utf-8").replace("on_failure: retake", "on_failure: warn")
    path = tmp_path / "policy.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError, match="on_failure"):
        load_policy(path)
