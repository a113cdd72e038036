"""The shipped Prometheus alerting rules read metrics the service exports, with the thresholds the code uses."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from grading import psi
from grading.reference_distributions import DriftMeasure
from serving.drift_metrics import METRIC_NAMES
from serving.drift_window import GroupKind
from tests.serving.conftest import start_service

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "secondlook-alerts.yml"


def rules() -> list[dict]:
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def test_every_rule_is_complete() -> None:
    names = [rule["alert"] for rule in rules()]
    assert len(names) == len(set(names)) >= 4
    for rule in rules():
        assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert rule["labels"]["severity"] in {"info", "warning", "critical"}
        assert rule["annotations"]["summary"] and rule["annotations"]["description"]


def test_expressions_use_exported_names_kinds_measures_and_thresholds() -> None:
    used = set()
    for rule in rules():
        expression = rule["expr"]
        used |= set(re.findall(r"secondlook_[a-z_]+", expression))
        for kinds in re.findall(r'kind=~"([^"]+)"', expression):
            assert set(kinds.split("|")) <= {kind.value for kind in GroupKind}, rule["alert"]
        for measure in re.findall(r'measure!?=~?"([^"]+)"', expression):
            assert measure in {m.value for m in DriftMeasure}, rule["alert"]
        for threshold in re.findall(r">=\s*([0-9.]+)", expression):
            assert float(threshold) in (psi.WATCH, psi.DRIFT), rule["alert"]
    assert used <= set(METRIC_NAMES)
    assert {"secondlook_drift_flagged", "secondlook_drift_psi", "secondlook_drift_reference_loaded"} <= used


@pytest.mark.slow
def test_the_service_exports_every_name_the_rules_use(tmp_path: Path) -> None:
    for service in start_service(tmp_path):
        body = service.client.get("/metrics").text
        for name in METRIC_NAMES:
            assert f"# TYPE {name} gauge" in body
        assert "secondlook_drift_reference_loaded 1.0" in body  # the shipped bundle records its reference
