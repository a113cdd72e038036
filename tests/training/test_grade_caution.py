"""The grade head's caution fitted on audited clean photos: the rule on numbers, then the command on a real bundle."""

from __future__ import annotations

import numpy as np
import pytest

from grading.grade_decision import median_grade
from grading.grade_rules import likely_rank
from grading.inference import load_model
from grading.manifest import read_manifest
from grading.vocabulary import Split
from tests.training.test_evaluate_command import AUDITED, _audit
from training.cli import main
from training.evaluation.predictions import collect_predictions, split_items
from training.grade_caution import below_clean_probability, caution_fit, fit_min_probability


def test_the_fit_cuts_at_most_the_budget_of_clean_photos_even_on_ties() -> None:
    clean = np.array([0.95, 0.9, 0.9, 0.9, 0.6, 0.4, 0.3, 0.2, 0.1, 0.0])
    fitted = fit_min_probability(clean, budget=0.2)  # two may be cut; the three tied at 0.9 must all be spared
    assert (clean >= fitted).sum() == 1 and fitted == pytest.approx(0.9001)
    assert fit_min_probability(clean, budget=0.4) == pytest.approx(0.6001)  # four may be cut: 0.95 and the 0.9s
    assert fit_min_probability(np.array([0.1, 0.2]), budget=0.0) == 0.5  # never below the ordinal median


def test_a_fit_reports_what_it_spares_and_costs() -> None:
    fit = caution_fit(np.array([0.7, 0.55, 0.2, 0.1]), np.array([0.95, 0.6, 0.3]), budget=0.25)
    assert fit.min_probability == pytest.approx(0.5501)
    assert (fit.clean_cut_at_median, fit.clean_cut_fitted) == (0.5, 0.25)
    assert (fit.damaged_cut_at_median, fit.damaged_cut_fitted) == pytest.approx((2 / 3, 2 / 3))


def test_no_clean_photo_or_a_bad_budget_is_refused_saying_why() -> None:
    with pytest.raises(ValueError, match="no audited clean photo"):
        fit_min_probability(np.array([]), 0.03)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        fit_min_probability(np.array([0.2]), 1.5)


def test_below_clean_matches_the_policy_rule() -> None:
    probs = np.random.default_rng(1).dirichlet(np.ones(8), size=300)
    below = below_clean_probability(probs, clean_rank=1)
    for p in (0.5, 0.7, 0.9):
        cut = np.array([min(median_grade(row), likely_rank(row, p)) > 1 for row in probs])
        assert np.array_equal(cut, below >= p - 1e-12)


@pytest.mark.slow
def test_the_command_fits_on_the_audited_photos_of_a_real_bundle(tiny_bundle, labelled_manifest, tmp_path, capsys):
    audit = _audit(labelled_manifest, tmp_path, AUDITED)
    args = ["model", "grade-caution", "--bundle", str(tiny_bundle), "--manifest", str(labelled_manifest)]
    assert main([*args, "--split", "test", "--audit", str(audit), "--budget", "0"]) == 0
    printed = capsys.readouterr().out
    assert "audited test photos: 3 clean or design, 1 damaged" in printed  # item7 is unclear: left out
    model = load_model(tiny_bundle)
    predictions = collect_predictions(model, labelled_manifest, split_items(labelled_manifest, Split.TEST), False)
    clean = {item.photos[0].sha256 for item in read_manifest(labelled_manifest) if AUDITED.get(item.id) in CLEAN}
    rows = [r for r, ref in enumerate(predictions.refs) if _sha(predictions, ref) in clean]
    fitted = fit_min_probability(below_clean_probability(predictions.outputs.grade_probs[rows], 1), 0.0)
    assert f"policy: abstain.unexplained_grade.min_probability: {fitted}" in printed


CLEAN = ("clean", "design")


def _sha(predictions, ref) -> str:
    return predictions.items[ref.item].photos[ref.photo].sha256


def test_the_command_refuses_a_split_without_audited_clean_photos(tiny_bundle, labelled_manifest, tmp_path, capsys):
    audit = _audit(labelled_manifest, tmp_path, {"item0": "damaged"})
    args = ["model", "grade-caution", "--bundle", str(tiny_bundle), "--manifest", str(labelled_manifest)]
    assert main([*args, "--split", "test", "--audit", str(audit)]) == 2
    assert "no audited clean photo to fit on" in capsys.readouterr().out
