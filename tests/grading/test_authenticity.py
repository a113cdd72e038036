"""Authenticity verdicts from reference similarity and the supervised score; never a bare "fake"."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from grading.authenticity import (
    NEAREST_SHOWN,
    AuthenticityVerdict,
    ModelBand,
    ReferenceGallery,
    ReferenceMatch,
    assess,
    item_counterfeit_probability,
    nearest_product_line,
)
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


def test_a_similarity_between_the_thresholds_leaves_the_heads_verdict_standing_and_a_low_one_overrules_it() -> None:
    between, far = [0.7, 0.0, 0.7], [0.0, 0.0, 1.0]
    assert verdict(between, probability=0.01, below=0.05, gallery=gallery()) is AuthenticityVerdict.AUTHENTIC
    assert verdict(between, probability=0.5, below=0.05, gallery=gallery()) is AuthenticityVerdict.INCONCLUSIVE
    assert verdict(far, probability=0.01, below=0.05, gallery=gallery()) is AuthenticityVerdict.SUSPECTED_COUNTERFEIT


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
    with pytest.raises(ValueError, match="3-dimensional embeddings but the photos 4-dimensional ones"):
        gallery().nearest("line", np.ones((2, 4)))


def fan() -> ReferenceGallery:
    """Eight references at 0, 10, ..., 70 degrees from the x axis, enrolled in a shuffled order, with ids."""
    order = [3, 0, 7, 5, 1, 6, 2, 4]
    angles = np.radians([10.0 * step for step in order])
    rows = np.stack([np.cos(angles), np.sin(angles), np.zeros_like(angles)], axis=1)
    return ReferenceGallery({"line": rows}, {"line": [f"ref-{10 * step}" for step in order]})


def test_the_nearest_references_come_nearest_first_with_the_best_similarity_over_the_photos() -> None:
    photos = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # the second photo matches nothing; the first counts
    nearest = fan().nearest("line", photos, k=3)
    assert [match.reference_id for match in nearest] == ["ref-0", "ref-10", "ref-20"]
    assert [match.similarity for match in nearest] == pytest.approx(np.cos(np.radians([0, 10, 20])))
    assert nearest[0].similarity == fan().similarity("line", photos)
    assert len(fan().nearest("line", photos)) == NEAREST_SHOWN == 6
    between = fan().nearest("line", np.array([[np.cos(np.radians(35)), np.sin(np.radians(35)), 0.0]]), k=2)
    assert {match.reference_id for match in between} == {"ref-30", "ref-40"}


def test_asking_for_more_references_than_enrolled_gives_all_of_them_and_ties_keep_enrolment_order() -> None:
    references = ReferenceGallery({"line": np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])})
    nearest = references.nearest("line", np.array([[0.0, 1.0, 0.0]]), k=10)
    assert [match.reference_id for match in nearest] == ["0", "2", "1"]  # default ids: positions in enrolment order
    assert [match.similarity for match in nearest] == pytest.approx([1.0, 1.0, 0.0])
    assert references.nearest("other", np.array([[0.0, 1.0, 0.0]])) == []
    with pytest.raises(ValueError, match="at least 1, got 0"):
        references.nearest("line", np.array([[0.0, 1.0, 0.0]]), k=0)


def test_ids_follow_their_rows_through_later_enrolments() -> None:
    references = ReferenceGallery()
    references.enroll("line", np.array([[1.0, 0.0, 0.0]]), ["a"])
    references.enroll("line", np.array([[0.0, 1.0, 0.0]]))
    assert references.nearest("line", np.array([[0.1, 1.0, 0.0]]))[0].reference_id == "1"
    with pytest.raises(ValueError, match="1 ids for 2 embeddings"):
        references.enroll("line", np.eye(3)[:2], ["c"])


def test_an_assessment_keeps_the_nearest_references_and_the_best_is_the_similarity() -> None:
    result = assess(np.array([[1.0, 0.0, 0.0]]), np.array([0.5]), "line", True, fan(), 1.0, 0.0, POLICY)
    assert result.nearest_references[0] == ReferenceMatch("ref-0", pytest.approx(1.0))
    assert len(result.nearest_references) == NEAREST_SHOWN
    assert result.reference_similarity == result.nearest_references[0].similarity
    without = assess(np.array([[1.0, 0.0, 0.0]]), np.array([0.5]), "line", True, None, 1.0, 0.0, POLICY)
    assert without.nearest_references == () and without.reference_similarity is None


def test_an_item_is_scored_by_the_mean_of_its_photos_so_more_photos_do_not_raise_suspicion() -> None:
    assert item_counterfeit_probability(np.array([0.2, 0.4, 0.9])) == pytest.approx(0.5)
    photos = np.array([[1.0, 0.0, 0.0]] * 3)
    one_bad_angle = assess(photos, np.array([0.05, 0.05, 0.95]), "line", True, None, 0.9, 0.1, POLICY)
    assert one_bad_angle.counterfeit_probability == pytest.approx(1.05 / 3)
    assert one_bad_angle.verdict is AuthenticityVerdict.INCONCLUSIVE


PROTOTYPES = {"af1": [1.0, 0.0, 0.0], "aj1": [0.0, 1.0, 0.0]}


def test_an_undeclared_product_line_is_the_nearest_prototype() -> None:
    assert nearest_product_line(np.array([[0.2, 0.9, 0.1], [0.1, 0.8, 0.0]]), PROTOTYPES)[0] == "aj1"
    assert nearest_product_line(np.array([[1.0, 0.0, 0.0]]), {}) == (None, 0.0)
    band = ModelBand(0.9, 0.1, ("af1", "aj1"), PROTOTYPES)
    result = assess(np.array([[0.1, 1.0, 0.0]]), np.array([0.02]), None, True, None, 0.9, 0.1, POLICY, band)
    assert (result.product_line, result.product_line_source) == ("aj1", "model")
    assert result.verdict is AuthenticityVerdict.AUTHENTIC and "below 0.10" in result.reason


def test_the_head_does_not_vouch_for_a_line_it_never_trained_on() -> None:
    band = ModelBand(0.9, 0.1, ("af1",), PROTOTYPES)
    unseen = assess(np.array([[0.0, 1.0, 0.0]]), np.array([0.02]), "dunk", True, None, 0.9, 0.1, POLICY, band)
    assert unseen.verdict is AuthenticityVerdict.INCONCLUSIVE
    assert unseen.reason.startswith("the model was not trained on product line dunk")
    looks_fake = assess(np.array([[0.0, 1.0, 0.0]]), np.array([0.99]), "dunk", True, None, 0.9, 0.1, POLICY, band)
    assert looks_fake.verdict is AuthenticityVerdict.INCONCLUSIVE
    references = ReferenceGallery({"dunk": np.array([[0.0, 1.0, 0.0]])})
    enrolled = assess(np.array([[0.0, 1.0, 0.05]]), np.array([0.99]), "dunk", True, references, 0.9, 0.1, POLICY, band)
    assert enrolled.verdict is AuthenticityVerdict.AUTHENTIC and "references" in enrolled.reason


def test_every_verdict_says_why() -> None:
    band = ModelBand(0.9, 0.1)
    for probability, words in ((0.95, "above 0.90"), (0.5, "a person decides"), (0.05, "below 0.10")):
        result = assess(np.array([[1.0, 0, 0]]), np.array([probability]), "af1", True, None, 0.9, 0.1, POLICY, band)
        assert words in result.reason
