"""The grade policy file: the default loads; a bad file names the file, the field and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from grading.policy import PolicyError, default_policy_path, load_policy
from grading.vocabulary import DefectType, Grade, View
from tests.grading.fake_outputs import write


def test_default_policy_loads_with_the_default_scale_and_anomaly_review_off() -> None:
    policy = load_policy(default_policy_path())
    assert policy.grades == [grade.value for grade in Grade]
    assert policy.version
    assert not policy.abstain.anomaly.enabled


def test_floor_for_takes_the_worst_reached_row() -> None:
    policy = load_policy(default_policy_path())
    assert policy.floor_for(0.1) == "excellent"
    assert policy.floor_for(30) == "good"
    assert policy.floor_for(10_000) == "poor"


def test_severity_is_type_weight_times_area_times_view_weight() -> None:
    severity = load_policy(default_policy_path()).severity
    assert severity.of(DefectType.HOLE, 2.0, View.FRONT) == pytest.approx(4.0 * 2.0 * 1.0)
    assert severity.of(DefectType.HOLE, 2.0, View.INSIDE) == pytest.approx(4.0 * 2.0 * 0.3)
    assert severity.frame_width.width_cm("shoes", View.FRONT) == 30
    assert severity.frame_width.width_cm("shoes", View.DETAIL) == 15


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('version: "1"\nseverity: {type_weight: {stian: 1}}', "severity.type_weight.stian: unknown value 'stian'"),
        ('version: "1"\ncolour: red', "colour: unknown field"),
        ("grades: [a, b]", "version: required field is missing"),
        ('version: "1"\nfloors: [{severity_at_least: 1, grade: superb}]', "floors.0.grade: 'superb' is not on"),
        ('version: "1"\ncritical: [{name: x, defect: hole, action: floor}]', "critical.0: critical rule 'x' has"),
        ('version: "1"\nabstain: {min_grade_confidence: 2}', "abstain.min_grade_confidence: Input should be"),
        ('version: "1"\nrequired_views: {default: [top]}', "required_views.default.0: unknown value 'top'"),
        ("version: [1", "not valid YAML"),
        ("- 1", "expected a mapping"),
    ],
)
def test_bad_policy_names_file_field_and_fix(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text, "x.yaml")
    with pytest.raises(PolicyError) as raised:
        load_policy(path)
    assert str(path) in str(raised.value)
    assert expected in str(raised.value)


def test_unknown_defect_type_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="known: 'stain', 'hole'"):
        load_policy(write(tmp_path, 'version: "1"\nseverity: {type_weight: {stian: 1}}'))


def test_missing_policy_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="file not found"):
        load_policy(tmp_path / "nope.yaml")


def test_a_file_that_is_not_utf8_is_a_policy_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes('version: "1"\n# caf\xe9\n'.encode("latin-1"))
    with pytest.raises(PolicyError, match=r"not UTF-8 text.*save the file as UTF-8"):
        load_policy(path)


def test_category_names_are_lowercased_at_load(tmp_path: Path) -> None:
    text = """version: "1"
severity: {frame_width: {categories: {Shoes: 33}}}
required_views: {categories: {Shoes: [side, sole]}}
critical: [{name: x, defect: tear, categories: [Shoes], materials: [Leather], action: reject}]
"""
    policy = load_policy(write(tmp_path, text))
    assert policy.severity.frame_width.width_cm("shoes", View.FRONT) == 33
    assert policy.required_views.for_category("shoes") == [View.SIDE, View.SOLE]
    assert policy.critical[0].matches(DefectType.TEAR, "shoes", "leather", View.FRONT)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('version: "1"\nrequired_views: {categories: {Shoes: [side], shoes: [sole]}}', "'shoes' appears twice"),
        (
            'version: "1"\ndesign_features: [{name: pants, defects: [hole], categories: [pants]}]',
            "design_features.0: design-feature rule 'pants' names neither materials nor tags_containing",
        ),
    ],
)
def test_ambiguous_or_too_broad_rules_are_refused(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(PolicyError, match=expected):
        load_policy(write(tmp_path, text))
