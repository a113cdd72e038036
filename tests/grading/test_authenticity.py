"""Authenticity verdicts from reference similarity and the supervised score; never a bare "fake"."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grading.authenticity import AuthenticityVerdict, ReferenceGallery, assess, item_counterfeit_probability
from grading.policy import AuthenticityPolicy

POLICY = AuthenticityPolicy(authentic_similarity_at_least=0.9, suspect_similarity_below=0.5)
REFERENCE = np.array([1.0, 0.0, 0.0])


def verdict(embedding, probability=0.5, requested=True, gallery=None, above=1.0, below=0.0) -> AuthenticityVerdict:
    result = assess(np.atleast_2d(embedding), np.array([probability]), "line", requested, gallery, above, below, POLICY)
    return result.verdict


def gallery() -> ReferenceGallery:
    return ReferenceGallery({"line": np.stack([REFERENCE * 3, np.array([0.0, 1.0, 0.0])])})


def test_not_checked_when_nobody_asks_and_no_references_exist() -> None:
    assert verdict([1, 0, 0], requested=False) is AuthenticityVerdict.NOT_CHECKED


def test_close_to_a_reference_is_authentic() -> None:
    assert verdict([0.95, 0.1, 0.0], requested=False, gallery=gallery()) is AuthenticityVerdict.AUTHENTIC


def test_far_from_every_reference_is_suspected_not_fake() -> None:
    assert verdict([0.0, 0.0, 1.0], gallery=gallery()) is AuthenticityVerdict.SUSPECTED_COUNTERFEIT


def test_between_the_thresholds_is_inconclusive() -> None:
    assert verdict([0.7, 0.0, 0.7], gallery=gallery()) is AuthenticityVerdict.INCONCLUSIVE


def test_asked_for_without_references_is_inconclusive() -> None:
    assert verdict([1, 0, 0]) is AuthenticityVerdict.INCONCLUSIVE


def test_the_supervised_score_can_raise_suspicion_and_vouch_without_references() -> None:
    assert (
        verdict([1, 0, 0], probability=0.95, above=0.9, gallery=gallery()) is AuthenticityVerdict.SUSPECTED_COUNTERFEIT
    )
    assert verdict([1, 0, 0], probability=0.01, below=0.05) is AuthenticityVerdict.AUTHENTIC


def test_gallery_normalises_counts_and_round_trips(tmp_path: Path) -> None:
    references = gallery()
    assert references.count("line") == 2 and references.count(None) == 0
    assert references.similarity("line", np.array([[2.0, 0.0, 0.0]])) == pytest.approx(1.0)
    references.save(tmp_path / "refs.npz")
    loaded = ReferenceGallery.load(tmp_path / "refs.npz")
    assert loaded.product_lines() == ["line"] and loaded.count("line") == 2
    with pytest.raises(ValueError, match="3 dimensions"):
        loaded.enroll("line", np.ones(4))


def test_references_of_another_dimension_ask_for_re_enrolment() -> None:
    with pytest.raises(ValueError, match="enrolled with another model bundle; re-enroll"):
        gallery().similarity("line", np.ones((2, 4)))


def test_an_item_is_scored_by_the_mean_of_its_photos_so_more_photos_do_not_raise_suspicion() -> None:
    assert item_counterfeit_probability(np.array([0.2, 0.4, 0.9])) == pytest.approx(0.5)
    photos = np.array([[1.0, 0.0, 0.0]] * 3)
    one_bad_angle = assess(photos, np.array([0.05, 0.05, 0.95]), "line", True, None, 0.9, 0.1, POLICY)
    assert one_bad_angle.counterfeit_probability == pytest.approx(1.05 / 3)
    assert one_bad_angle.verdict is AuthenticityVerdict.INCONCLUSIVE
