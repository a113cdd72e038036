"""Real photos a person audited: what a kiosk customer would get for each one, graded as the service grades.

Every audited photo of the split (matched by sha256, see `training.audit`) is graded as a one-photo kiosk item
with its manifest category, brand and product line declared, through `grading.item_grading.grade_item` with the
policy and pricing given (the shipped defaults unless the command says otherwise), so the figures are the
service's own decisions at the bundle's thresholds, not a proxy. A clean item's offer is the kiosk offer for the
same category and brand at `CLEAN_GRADE`, the grade the policy gives an item without defects.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from grading.bundle import BundleMetadata
from grading.intake import load_photo
from grading.item_grading import Channel, ItemFacts, PhotoEvidence, grade_item
from grading.item_result import Decision, FloorSource, ItemResult
from grading.manifest import resolve_photo_path
from grading.network_outputs import map_outputs
from grading.policy import GradePolicy, ReviewReason
from grading.pricing import PricingConfig, quote
from grading.vocabulary import Grade, View
from training.audit import AuditEntry, AuditLabel
from training.evaluation.gallery import draw_gallery
from training.evaluation.metrics import Metric, accuracy, mean_of
from training.evaluation.plots import Figure
from training.evaluation.predictions import Predictions
from training.evaluation.section import ErrorCase, Section, Table, Task, skipped

CLEAN_GRADE = Grade.LIKE_NEW
LOWEST_FAIR_GRADE = Grade.VERY_GOOD  # a clean photo graded below this is a wrong grade, not a nuance
GALLERY_SIZE = 12
WEAR_GALLERY_SIZE = 6
PRICING_DATE = datetime.date(2026, 6, 1)  # a fixed month, so reports compare across days


@dataclass(frozen=True)
class GradingRules:
    """The policy and pricing the audited photos are graded with."""

    policy: GradePolicy
    pricing: PricingConfig


class AuditedGrade(NamedTuple):
    row: int
    entry: AuditEntry
    result: ItemResult
    clean_cash: float | None


def real_photo_section(
    predictions: Predictions, metadata: BundleMetadata, audits: dict[str, AuditEntry], rules: GradingRules
) -> Section:
    graded = [_grade(predictions, metadata, rules, row, entry) for row, entry in _audited_rows(predictions, audits)]
    if not graded:
        return skipped(
            Task.REAL_PHOTOS,
            f"none of the split's photos is in the {len(audits)} audited photos (datasets/audits/*.csv); audit them "
            "or evaluate the split an audit covers",
        )
    clean = [g for g in graded if g.entry.label.is_clean]
    damaged = [g for g in graded if g.entry.label is AuditLabel.DAMAGED]
    design = [g for g in clean if g.entry.label is AuditLabel.DESIGN]
    metrics = _clean_metrics(clean, rules.policy) | _damaged_metrics(damaged)
    metrics["design_false_alarm_rate"] = accuracy(np.array([bool(g.result.defects) for g in design], dtype=bool))
    worst = _worst_false_alarms(clean)
    entries = draw_gallery(predictions, metadata, worst)
    wear_entries = draw_gallery(predictions, metadata, _worst_wear_alarms(clean))
    return Section(
        Task.REAL_PHOTOS,
        metrics=metrics,
        headline=(
            "clean_false_alarm_rate",
            "clean_below_very_good_listed_rate",
            "clean_review_rate",
            "clean_underpaid_rate",
            "damaged_found_rate",
            "damaged_wear_rate",
        ),
        notes=_notes(graded, clean, damaged, rules),
        tables=(_grade_table(clean, damaged, rules.policy), _type_table(clean)),
        figures=tuple(Figure(f"false alarm {k + 1}", e.png, e.caption) for k, e in enumerate(entries))
        + tuple(Figure(f"clean pair read as worn {k + 1}", e.png, e.caption) for k, e in enumerate(wear_entries)),
        details={"photos": [_photo_json(predictions, g) for g in graded]},
    )


def _audited_rows(predictions: Predictions, audits: dict[str, AuditEntry]) -> list[tuple[int, AuditEntry]]:
    rows = []
    for row, ref in enumerate(predictions.refs):
        entry = audits.get(predictions.items[ref.item].photos[ref.photo].sha256)
        if entry is not None and entry.label is not AuditLabel.UNCLEAR:
            rows.append((row, entry))
    return rows


def _grade(
    predictions: Predictions, metadata: BundleMetadata, rules: GradingRules, row: int, entry: AuditEntry
) -> AuditedGrade:
    ref = predictions.refs[row]
    item, manifest_photo = predictions.items[ref.item], predictions.items[ref.item].photos[ref.photo]
    data = resolve_photo_path(predictions.manifest_path, manifest_photo.path).read_bytes()
    photo = load_photo(data, preprocessing=metadata.input.preprocessing())
    outputs = map_outputs(predictions.outputs, lambda array: array[row])
    facts = ItemFacts(channel=Channel.KIOSK, category=item.category, brand=item.brand, product_line=item.product_line)
    evidence = [PhotoEvidence("photo-1", View.UNSPECIFIED, photo, outputs)]
    result = grade_item(facts, evidence, metadata, rules.policy, rules.pricing, when=PRICING_DATE)
    clean = quote(
        rules.pricing, CLEAN_GRADE.value, True, PRICING_DATE, result.category.used, item.brand, item.product_line
    )
    return AuditedGrade(row, entry, result, clean.cash)


def _clean_metrics(clean: list[AuditedGrade], policy: GradePolicy) -> dict[str, Metric]:
    below = np.array([_below(g.result, policy) for g in clean], dtype=bool)
    listed = np.array([g.result.decision is not Decision.REVIEW for g in clean], dtype=bool)
    ratios = np.array([_offer_ratio(g) for g in clean], dtype=np.float64)
    return {
        "clean_false_alarm_rate": accuracy(np.array([bool(g.result.defects) for g in clean], dtype=bool)),
        "clean_counted_defect_rate": accuracy(np.array([_counted(g.result) for g in clean], dtype=bool)),
        "clean_below_very_good_rate": accuracy(below),
        "clean_below_very_good_listed_rate": accuracy(below & listed),
        "clean_review_rate": accuracy(~listed),
        "clean_underpaid_rate": accuracy(ratios < 1.0 - 1e-9),
        "clean_mean_offer_share": mean_of(ratios),
        "clean_wear_rate": accuracy(np.array([_wear_seen(g.result) for g in clean], dtype=bool)),
    }


def _damaged_metrics(damaged: list[AuditedGrade]) -> dict[str, Metric]:
    found = np.array([bool(g.result.defects) for g in damaged], dtype=bool)
    flagged = np.array([bool(g.result.defects) or g.result.decision is Decision.REVIEW for g in damaged], dtype=bool)
    return {
        "damaged_found_rate": accuracy(found),
        "damaged_found_or_reviewed_rate": accuracy(flagged),
        "damaged_wear_rate": accuracy(np.array([_wear_seen(g.result) for g in damaged], dtype=bool)),
        "damaged_offer_below_clean_rate": accuracy(np.array([_offer_ratio(g) < 1.0 - 1e-9 for g in damaged])),
    }


def _wear_seen(result: ItemResult) -> bool:
    """The wear head capped the grade or sent the item to review (`grading.wear`)."""
    capped = result.grade.floor is not None and result.grade.floor.source is FloorSource.WEAR
    return capped or any(reason.code == ReviewReason.WEAR_SUSPECTED for reason in result.reasons)


def _below(result: ItemResult, policy: GradePolicy) -> bool:
    return policy.rank(result.grade.name) > policy.rank(LOWEST_FAIR_GRADE.value)


def _counted(result: ItemResult) -> bool:
    return any(defect.counted and not defect.possible_design_feature for defect in result.defects)


def _offer_ratio(graded: AuditedGrade) -> float:
    """The kiosk's cash offer as a share of a clean item's (0 for a rejected item, which gets no offer)."""
    price = graded.result.price
    cash = price.voucher.cash if price is not None and price.voucher is not None else 0.0
    return cash / graded.clean_cash if graded.clean_cash else 1.0


def _worst_false_alarms(clean: list[AuditedGrade]) -> list[ErrorCase]:
    alarms = [g for g in clean if g.result.defects]
    alarms.sort(key=lambda g: -max(d.peak for d in g.result.defects))
    return [ErrorCase(g.row, max(d.peak for d in g.result.defects), _caption(g)) for g in alarms[:GALLERY_SIZE]]


def _worst_wear_alarms(clean: list[AuditedGrade]) -> list[ErrorCase]:
    """Clean photos the wear head capped or sent to review, most worn-looking first (the defect gallery misses
    them: they carry no defect)."""
    alarms = [g for g in clean if _wear_seen(g.result)]
    alarms.sort(key=lambda g: -(g.result.photos[0].wear or 0.0))
    return [ErrorCase(g.row, g.result.photos[0].wear or 0.0, _caption(g)) for g in alarms[:WEAR_GALLERY_SIZE]]


def _caption(graded: AuditedGrade) -> str:
    result = graded.result
    found = ", ".join(f"{d.type.value} {d.peak:.2f}" for d in result.defects[:4]) or "no defect"
    if result.photos[0].wear is not None:
        found += f", wear {result.photos[0].wear:.2f}"
    offer = result.price.voucher.cash if result.price and result.price.voucher else 0.0
    return (
        f"audited {graded.entry.label.value} ({graded.entry.reason}); reported {found}; grade {result.grade.name}, "
        f"{result.decision.value}; cash offer {offer:g} vs clean {graded.clean_cash:g}"
    )


def _notes(graded, clean, damaged, rules: GradingRules) -> tuple[str, ...]:
    return (
        f"{len(graded)} audited photos in the split ({len(clean)} clean or design, {len(damaged)} damaged; photos "
        "audited 'unclear' are left out), each graded as a one-photo kiosk item with its category and product line "
        "declared, "
        f"policy {rules.policy.version}, pricing {rules.pricing.version}, month {PRICING_DATE:%B}.",
        "False alarm: at least one defect reported at the bundle's thresholds. Underpaid: a cash offer below a "
        f"clean item's ({CLEAN_GRADE.value}) for the same category and brand. Listed: decided without review (listed "
        "or rejected). Wear: the bundle's wear head capped the grade or sent the item to review (shoes only).",
    )


def _grade_table(clean: list[AuditedGrade], damaged: list[AuditedGrade], policy: GradePolicy) -> Table:
    rows = []
    for grade in policy.grades:
        on_clean = sum(g.result.grade.name == grade for g in clean)
        on_damaged = sum(g.result.grade.name == grade for g in damaged)
        reviewed = sum(g.result.grade.name == grade and g.result.decision is Decision.REVIEW for g in clean)
        rows.append((grade, str(on_clean), str(reviewed), str(on_damaged)))
    return Table("final grade", ("grade", "clean photos", "of which reviewed", "damaged photos"), tuple(rows))


def _type_table(clean: list[AuditedGrade]) -> Table:
    counts: dict[str, int] = {}
    for graded in clean:
        for name in {d.type.value for d in graded.result.defects}:
            counts[name] = counts.get(name, 0) + 1
    rows = tuple((name, str(count)) for name, count in sorted(counts.items(), key=lambda kv: -kv[1]))
    return Table("defect types reported on clean photos", ("type", "photos"), rows)


def _photo_json(predictions: Predictions, graded: AuditedGrade) -> dict:
    ref = predictions.refs[graded.row]
    result = graded.result
    return {
        "sha256": graded.entry.sha256,
        "item": predictions.items[ref.item].id,
        "audit": graded.entry.label.value,
        "grade": result.grade.name,
        "decision": result.decision.value,
        "defects": [[d.type.value, round(d.peak, 3), d.counted] for d in result.defects],
        "reasons": [reason.code for reason in result.reasons],
        "offer_share": round(_offer_ratio(graded), 4),
        "wear": result.photos[0].wear,
    }
