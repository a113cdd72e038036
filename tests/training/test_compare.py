"""Bootstrap intervals, `model compare` and the golden-set gate of `model promote`, on a real tiny bundle."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from grading.bundle import read_metadata, write_metadata
from training.cli import main
from training.evaluation.bootstrap import compare_metrics
from training.evaluation.compare import Verdict, headline_comparisons, judge
from training.evaluation.golden import GoldenError, load_golden
from training.evaluation.metrics import accuracy, accuracy_among, auroc
from training.evaluation.section import Section, Task, skipped


def test_paired_interval_is_narrower_than_the_two_side_by_side() -> None:
    rng = np.random.default_rng(1)
    hard = rng.random(400) < 0.5  # which examples are hard drives most of each bundle's spread
    a = accuracy(~hard | (rng.random(400) < 0.2))
    b = accuracy(~hard | (rng.random(400) < 0.3))
    result = compare_metrics(a, b)
    assert result.paired and result.why_no_interval is None
    assert result.a_interval.low < a.value < result.a_interval.high
    paired_width = result.difference.high - result.difference.low
    side_by_side = (result.a_interval.high - result.a_interval.low) + (result.b_interval.high - result.b_interval.low)
    assert paired_width < side_by_side / 2
    assert compare_metrics(a, b) == result  # one seed: repeatable


def test_verdicts_follow_the_interval_and_the_direction() -> None:
    labels = np.r_[np.zeros(100), np.ones(100)]
    good, noise = labels + np.random.default_rng(0).normal(0, 0.5, 200), np.random.default_rng(2).random(200)
    assert judge("auroc", compare_metrics(auroc(labels, good), auroc(labels, noise))) is Verdict.WORSE
    assert judge("auroc", compare_metrics(auroc(labels, noise), auroc(labels, good))) is Verdict.BETTER
    same = accuracy(labels.astype(bool))
    assert judge("top1_accuracy", compare_metrics(same, same)) is Verdict.SAME
    more_alarms = compare_metrics(accuracy(np.arange(200) < 10), accuracy(np.arange(200) < 60))
    assert judge("clean_false_alarm_rate", more_alarms) is Verdict.WORSE  # lower is better


def test_accuracy_among_resamples_every_example_so_two_bundles_stay_paired() -> None:
    correct = np.array([1, 1, 0, 1, 0, 1], dtype=bool)
    a, b = accuracy_among(correct, np.array([1, 1, 1, 1, 1, 1], bool)), accuracy_among(correct, np.r_[[1] * 4, [0] * 2])
    assert (a.value, a.n, b.value, b.n) == (pytest.approx(4 / 6), 6, pytest.approx(3 / 4), 4)
    assert compare_metrics(a, b).paired


def test_pixel_level_figures_draw_whole_photos() -> None:
    rng = np.random.default_rng(3)
    truth = np.zeros((40, 4, 4), dtype=bool)
    truth[:20, :2] = True  # half the photos have a defect in their top half
    scores = truth + rng.normal(0, 0.8, truth.shape)
    metric = auroc(truth, scores)
    assert metric.n == 640 and len(metric.recompute.rows[0]) == 40  # 40 photos are drawn, never single pixels
    result = compare_metrics(metric, metric)
    assert result.a_interval.low < metric.value < result.a_interval.high and result.difference == (0.0, 0.0)


def test_undefined_figures_get_no_interval() -> None:
    missing = compare_metrics(accuracy([True]), accuracy_among([True], [False]))
    assert "undefined" in missing.why_no_interval and judge("accuracy", missing) is Verdict.WORSE


def test_golden_file_errors_say_what_to_fix(tmp_path: Path) -> None:
    path = tmp_path / "golden.yaml"
    path.write_text("sets:\n  clothing: {manifest: nowhere.jsonl, split: tset}\n")
    with pytest.raises(GoldenError, match=r"sets\.clothing\.split"):
        load_golden(path)
    path.write_text("sets:\n  clothing: {manifest: nowhere.jsonl}\n")
    with pytest.raises(GoldenError, match=r"nowhere\.jsonl does not exist"):
        load_golden(path)["clothing"].items()
    with pytest.raises(GoldenError, match="cannot read"):
        load_golden(tmp_path / "absent.yaml")


def test_shipped_golden_file_is_valid() -> None:
    sets = load_golden(Path("datasets/golden.yaml"))
    assert set(sets) == {"clothing", "leather_boxes", "fabric_boxes", "sneakers"}


def _with_band(bundle: Path, folder: Path, counterfeit_above: float, authentic_below: float) -> Path:
    """A copy of `bundle` whose counterfeit band is changed (the same graph: only the decisions move)."""
    shutil.copytree(bundle, folder)
    metadata = read_metadata(folder)
    band = {"counterfeit_above": counterfeit_above, "authentic_below": authentic_below}
    write_metadata(folder, metadata.model_copy(update={"thresholds": metadata.thresholds.model_copy(update=band)}))
    return folder


@pytest.mark.slow
def test_compare_and_golden_gate_refuse_a_candidate_that_sends_everything_to_review(
    tiny_bundle: Path, labelled_manifest: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    golden = tmp_path / "golden.yaml"
    golden.write_text(f"sets:\n  generated: {{manifest: {labelled_manifest}, split: test}}\n")
    shipped = _with_band(tiny_bundle, tmp_path / "shipped", 0.5, 0.5)  # decides every item
    candidate = _with_band(tiny_bundle, tmp_path / "candidate", 1.0, 0.0)  # sends every item to review
    common = ["--golden", str(golden), "--no-progress"]

    same = main(["model", "compare", str(shipped), str(shipped), *common, "--out", str(tmp_path / "same")])
    report = json.loads((tmp_path / "same" / "compare.json").read_text())
    assert same == 0 and report["worse"] == [] and report["figures"]
    assert {f["verdict"] for f in report["figures"]} == {"same"}
    assert "generated.category.top1_accuracy" in {f["name"] for f in report["figures"]}

    refused = main(["model", "promote", "--candidate", str(candidate), "--target", str(shipped), *common,
                    "--report", str(tmp_path / "gate")])  # fmt: skip
    out = capsys.readouterr().out
    assert refused == 1 and "not promoted" in out
    assert "generated.authenticity.bundle_band_review_share: 0.0000 -> 1.0000" in out
    assert "generated.authenticity.bundle_band_accuracy_on_decided" in out
    assert read_metadata(shipped).thresholds.counterfeit_above == 0.5  # untouched
    assert (tmp_path / "gate" / "compare.html").is_file()

    forced = main(["model", "promote", "--candidate", str(candidate), "--target", str(shipped), *common,
                   "--report", str(tmp_path / "gate"), "--force", "--by", "reviewer-ann"])  # fmt: skip
    history = read_metadata(shipped).history
    assert forced == 0 and read_metadata(shipped).thresholds.counterfeit_above == 1.0
    assert history[-1]["by"] == "reviewer-ann" and history[-1]["forced"] is True
    assert history[-1]["gate"] == f"golden set {golden}" and history[-1]["replaced"] == "tiny 0.0.1"
    assert any("bundle_band_review_share" in line for line in history[-1]["worse"])
    assert read_metadata(candidate).history == []  # the candidate's own folder is left as it was


def test_a_section_the_candidate_skips_counts_as_worse() -> None:
    shipped = Section(Task.CATEGORY, metrics={"top1_accuracy": accuracy([True, False])}, headline=("top1_accuracy",))
    figures = headline_comparisons("golden", [shipped], [skipped(Task.CATEGORY, "no category labels")])
    assert [(f.name, f.verdict) for f in figures] == [("golden.category.top1_accuracy", Verdict.WORSE)]
    assert "B does not compute it" in figures[0].comparison.why_no_interval
