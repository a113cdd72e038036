"""One evaluation from start to finish: load the bundle, predict on the split, compute every section, write."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from grading.bundle import BundleMetadata
from grading.inference import load_model
from grading.manifest import read_manifest
from grading.policy import default_policy_path, load_policy
from grading.pricing import default_pricing_path, load_pricing
from grading.vocabulary import Authenticity, Split
from training.audit import AuditEntry, default_audit_paths, load_audits
from training.evaluation import BATCH_SIZE
from training.evaluation.defect_sections import anomaly_section, defect_section
from training.evaluation.detection_section import detection_section
from training.evaluation.gallery import draw_gallery, pick_errors
from training.evaluation.item_sections import authenticity_section, category_section, grade_section
from training.evaluation.occlusion import authenticity_occlusion
from training.evaluation.predictions import Predictions, collect_predictions, split_items
from training.evaluation.real_photo_section import GradingRules, real_photo_section
from training.evaluation.reference_section import reference_section
from training.evaluation.report import RunInfo, write_report
from training.evaluation.section import Section, Task

SECTIONS = (category_section, defect_section, detection_section, anomaly_section, grade_section, authenticity_section)
REPORTS_DIR = Path("var/reports")


@dataclass(frozen=True)
class Evaluation:
    metrics_path: Path
    report_path: Path
    sections: list[Section]


def default_out_dir(bundle_name: str, manifest: Path) -> Path:
    return REPORTS_DIR / f"{bundle_name}-{Path(manifest).stem}"


def evaluate_bundle(
    bundle: Path,
    manifest: Path,
    split: Split = Split.TEST,
    out: Path | None = None,
    limit: int | None = None,
    batch_size: int = BATCH_SIZE,
    progress: bool = True,
    rules: GradingRules | None = None,
    audits: dict[str, AuditEntry] | None = None,
) -> Evaluation:
    """Evaluate `bundle` on the manifest's `split` and write metrics.json and report.html into `out`.

    Audited real photos (`audits`, by default every `datasets/audits/*.csv`) are graded as kiosk items with
    `rules` (by default the shipped policy and pricing). Raises `grading.bundle.BundleError` for a missing or
    altered bundle, and `EvaluationInputError`, `grading.manifest.ManifestError` or `AuditError` for inputs that
    cannot be evaluated.
    """
    items = split_items(manifest, split, limit)  # before the model loads, so a wrong split fails fast
    audits = load_audits(default_audit_paths()) if audits is None else audits
    rules = rules or default_rules()
    model = load_model(bundle)
    predictions = collect_predictions(model, manifest, items, batch_size, progress)
    enrolled = _enrollment(model, manifest, split, items, batch_size, progress)
    sections = compute_sections(predictions, model.metadata, audits, rules)
    sections.append(reference_section(predictions, model.metadata, enrolled, rules.policy.authenticity))
    sections = [_with_occlusion(section, model, predictions) for section in sections]
    gallery = draw_gallery(predictions, model.metadata, pick_errors(sections))
    info = RunInfo(
        bundle_name=model.metadata.name,
        bundle_version=model.metadata.version,
        bundle_folder=str(bundle),
        manifest=str(manifest),
        split=str(split),
        items=len(predictions.items),
        photos=len(predictions.refs),
        created=datetime.now(UTC).isoformat(timespec="seconds"),
        command=_command(bundle, manifest, split, limit),
    )
    out = out or default_out_dir(model.metadata.name, manifest)
    metrics_path, report_path = write_report(out, info, sections, gallery, predictions.unreadable)
    return Evaluation(metrics_path, report_path, sections)


def _enrollment(model, manifest: Path, split: Split, items: list, batch_size: int, progress: bool):
    """Predictions on the train split's authentic photos with a product line (the references an admin would
    enroll), when the evaluated split is another one and has authenticity labels; else None."""
    if split is Split.TRAIN or not any(
        item.authenticity in (Authenticity.AUTHENTIC, Authenticity.COUNTERFEIT) for item in items
    ):
        return None
    train = [
        item
        for item in read_manifest(manifest)
        if item.split is Split.TRAIN and item.authenticity is Authenticity.AUTHENTIC and item.product_line
    ]
    return collect_predictions(model, manifest, train, batch_size, progress) if train else None


def _with_occlusion(section: Section, model, predictions: Predictions) -> Section:
    """The authenticity section gains the occlusion figure (what the counterfeit score looks at)."""
    if section.task is not Task.AUTHENTICITY or section.skipped:
        return section
    figure = authenticity_occlusion(model, predictions)
    return section if figure is None else dataclasses.replace(section, figures=(*section.figures, figure))


def default_rules() -> GradingRules:
    return GradingRules(load_policy(default_policy_path()), load_pricing(default_pricing_path()))


def compute_sections(
    predictions: Predictions, metadata: BundleMetadata, audits: dict[str, AuditEntry], rules: GradingRules
) -> list[Section]:
    """The real-photo section and every task section; not the references (they need enrolled photos)."""
    sections = [compute(predictions, metadata) for compute in SECTIONS]
    return [real_photo_section(predictions, metadata, audits, rules), *sections]


def _command(bundle: Path, manifest: Path, split: Split, limit: int | None) -> str:
    command = f"secondlook model evaluate --bundle {bundle} --manifest {manifest} --split {split}"
    return command + (f" --limit {limit}" if limit else "")
