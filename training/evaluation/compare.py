"""Two bundles on the golden set, with the same code: every headline figure side by side with bootstrap intervals.

Bundle A is the shipped one, B the candidate. Each golden set is predicted by both bundles and evaluated by
`compute_sections` (what `model evaluate` computes, with today's code, so old recorded figures play no part);
each section's headline figures are compared by `training.evaluation.bootstrap`. A figure is **worse** when the
interval of B - A lies wholly on the worse side of zero (95% paired bootstrap over the examples the figure
counts), **better** when wholly on the better side, and **same** otherwise. A figure that cannot be resampled
(pixel-level, or an aggregate over defect types) is worse when it moves more than `TOLERANCE` the wrong way.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from grading.inference import load_model
from training.audit import AuditEntry
from training.evaluation import BATCH_SIZE
from training.evaluation.bootstrap import DRAWS, LEVEL, Comparison, Interval, compare_metrics
from training.evaluation.golden import GoldenSet
from training.evaluation.metrics import Metric
from training.evaluation.predictions import collect_predictions
from training.evaluation.real_photo_section import GradingRules
from training.evaluation.run import compute_sections
from training.evaluation.section import Section

# Parts of a metric's name that make lower better (calibration error, shares of clean photos with a wrong call).
LOWER_IS_BETTER = (
    "expected_calibration_error",
    "false_alarm_rate",
    "counted_defect_rate",
    "below_very_good",
    "review_rate",
    "underpaid_rate",
    "review_share",
    "clean_wear_rate",  # clean photos the wear head capped or sent to review (damaged_wear_rate: higher is better)
)
TOLERANCE = 0.005


def lower_is_better(name: str) -> bool:
    return any(part in name.rsplit(".", 1)[-1] for part in LOWER_IS_BETTER)


class Verdict(StrEnum):
    BETTER = "better"
    SAME = "same"
    WORSE = "worse"


@dataclass(frozen=True)
class FigureComparison:
    """One headline figure of one golden set, in both bundles."""

    golden_set: str
    section: str
    metric: str
    comparison: Comparison
    verdict: Verdict

    @property
    def name(self) -> str:
        return f"{self.golden_set}.{self.section}.{self.metric}"


@dataclass(frozen=True)
class BundleComparison:
    a: str  # "name version (folder)"
    b: str
    figures: list[FigureComparison]

    @property
    def worse(self) -> list[FigureComparison]:
        return [figure for figure in self.figures if figure.verdict is Verdict.WORSE]


def compare_bundles(
    a: Path,
    b: Path,
    golden: dict[str, GoldenSet],
    audits: dict[str, AuditEntry],
    rules: GradingRules,
    progress: bool = True,
    batch_size: int = BATCH_SIZE,
) -> BundleComparison:
    """Evaluate both bundles on every golden set and compare each headline figure."""
    models = [load_model(a), load_model(b)]
    figures = []
    for set_name, golden_set in golden.items():
        items = golden_set.items()
        sections_a, sections_b = (
            compute_sections(
                collect_predictions(model, golden_set.manifest, items, batch_size, progress),
                model.metadata,
                audits,
                rules,
            )
            for model in models
        )
        figures += headline_comparisons(set_name, sections_a, sections_b)
    return BundleComparison(_describe(models[0], a), _describe(models[1], b), figures)


def _describe(model, folder: Path) -> str:
    return f"{model.metadata.name} {model.metadata.version} ({folder})"


def headline_comparisons(set_name: str, a: list[Section], b: list[Section]) -> list[FigureComparison]:
    """Every headline figure A computes on this set; one B lacks (a section it skips, say) counts as worse."""
    by_task = {section.task: section for section in b}
    figures = []
    for section in a:
        if section.skipped:
            continue
        other = by_task.get(section.task)
        for name in section.headline:
            if section.metrics[name].value is None:
                continue
            missing = other is None or other.skipped or name not in other.metrics
            theirs = Metric(None, 0, "B does not compute it") if missing else other.metrics[name]
            comparison = compare_metrics(section.metrics[name], theirs)
            verdict = judge(name, comparison)
            figures.append(FigureComparison(set_name, str(section.task), name, comparison, verdict))
    return figures


def judge(name: str, comparison: Comparison) -> Verdict:
    """Worse or better only when the difference's interval excludes zero (beyond `TOLERANCE` without one)."""
    sign = -1.0 if lower_is_better(name) else 1.0  # > 0 means B is better
    if comparison.difference is not None:
        low, high = sorted(sign * bound for bound in comparison.difference)
        return Verdict.WORSE if high < 0 else Verdict.BETTER if low > 0 else Verdict.SAME
    a, b = comparison.a.value, comparison.b.value
    if b is None:
        return Verdict.WORSE
    change = sign * (b - a)
    return Verdict.WORSE if change < -TOLERANCE else Verdict.BETTER if change > TOLERANCE else Verdict.SAME


def comparison_json(result: BundleComparison) -> dict:
    return {
        "a": result.a,
        "b": result.b,
        "bootstrap": {"draws": DRAWS, "level": LEVEL},
        "figures": [_figure_json(figure) for figure in result.figures],
        "worse": [figure.name for figure in result.worse],
    }


def _figure_json(figure: FigureComparison) -> dict:
    c = figure.comparison
    return {
        "name": figure.name,
        "a": c.a.as_json() | {"interval": _bounds(c.a_interval)},
        "b": c.b.as_json() | {"interval": _bounds(c.b_interval)},
        "difference": _bounds(c.difference),
        "paired": c.paired,
        "no_interval": c.why_no_interval,
        "verdict": str(figure.verdict),
    }


def _bounds(interval: Interval | None) -> list[float] | None:
    return None if interval is None else interval.as_json()


def write_comparison(result: BundleComparison, out: Path) -> tuple[Path, Path]:
    """compare.json and compare.html (one table: A, B and B - A with intervals, and the verdict) in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out / "compare.json", out / "compare.html"
    json_path.write_text(json.dumps(comparison_json(result), indent=2) + "\n", encoding="utf-8")
    html_path.write_text(_html(result), encoding="utf-8")
    return json_path, html_path


def _html(result: BundleComparison) -> str:
    rows = "\n".join(_html_row(figure) for figure in result.figures)
    worse = ", ".join(figure.name for figure in result.worse) or "none"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Bundle comparison</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right;white-space:nowrap}}td:first-child{{text-align:left}}
.worse{{background:#fdd}}.better{{background:#dfd}}</style></head><body>
<h1>A: {html.escape(result.a)}<br>B: {html.escape(result.b)}</h1>
<p>Both bundles evaluated with the same code on the same golden items. Intervals: {LEVEL:.0%} bootstrap,
{DRAWS} draws of the examples each figure counts; B - A paired where both rest on the same examples.
A figure is worse when the interval of B - A lies wholly on its worse side. Worse: {html.escape(worse)}.</p>
<table><tr><th>figure</th><th>A</th><th>B</th><th>B - A</th><th>n</th><th>verdict</th></tr>
{rows}
</table></body></html>
"""


def _html_row(figure: FigureComparison) -> str:
    c = figure.comparison
    difference = _span(c.difference, signed=True) if c.difference else html.escape(c.why_no_interval or "")
    cells = [
        html.escape(figure.name),
        f"{c.a.value:.4f} {_span(c.a_interval)}",
        "n/a" if c.b.value is None else f"{c.b.value:.4f} {_span(c.b_interval)}",
        difference,
        f"{c.a.n} / {c.b.n}",
        str(figure.verdict),
    ]
    return f'<tr class="{figure.verdict}">' + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _span(interval: Interval | None, signed: bool = False) -> str:
    form = "+.4f" if signed else ".4f"
    return "" if interval is None else f"[{interval.low:{form}}, {interval.high:{form}}]"
