"""Write `metrics.json` and one self-contained `report.html` (figures embedded as base64 PNG).

The report opens with what was evaluated and a headline table (each metric with the count it rests on and,
where the project sets one, its target), lists the skipped sections with their reasons, then gives each
section's notes, metrics, tables and figures, and ends with the gallery of worst errors.
"""

from __future__ import annotations

import base64
import html
import json
import re
from dataclasses import dataclass
from pathlib import Path

from training.evaluation.gallery import GalleryEntry
from training.evaluation.metrics import Metric
from training.evaluation.predictions import UnreadablePhoto
from training.evaluation.section import Section

METRICS_FILE = "metrics.json"
REPORT_FILE = "report.html"
TARGETS = {  # from the models issues; each was set for one dataset, named in the report; "<=" marks a ceiling
    ("category", "top1_accuracy"): (">=", 0.94, "clothing-small"),
    ("defects", "pixel_auroc_any_defect"): (">=", 0.97, "leather-defects-masks"),
    ("defects", "defect_type_accuracy"): (">=", 0.95, "leather-defects-masks"),
    ("detection", "photo_recall_at_thresholds"): (">=", 0.90, "leather-defects-boxes"),
    ("anomaly", "image_auroc"): (">=", 0.95, "composited clothing defects"),
    ("grade", "quadratic_weighted_kappa"): (">=", 0.85, "composited set"),
    ("real_photos", "clean_false_alarm_rate"): ("<=", 0.05, "clothing-small test, audited"),
    ("real_photos", "clean_below_very_good_listed_rate"): ("<=", 0.01, "clothing-small test, audited"),
    ("real_photos", "clean_review_rate"): ("<=", 0.10, "clothing-small test, audited"),
    ("authenticity", "auroc"): (">=", 0.95, "sneakers-auth test, items"),
    ("authenticity", "bundle_band_accuracy_on_decided"): (">=", 0.97, "sneakers-auth test, items"),
    ("authenticity", "bundle_band_review_share"): ("<=", 0.20, "sneakers-auth test, items"),
    ("references", "product_line_accuracy"): (">=", 0.98, "sneakers-auth test, items"),
}
PERCENT_WORDS = ("accuracy", "rate", "share", "recall")
ACRONYMS = {"auroc": "AUROC", "ap": "AP", "iou": "IoU", "top1": "top-1"}
MAX_UNREADABLE_LISTED = 20


@dataclass(frozen=True)
class RunInfo:
    """What was evaluated, for the report's header and metrics.json."""

    bundle_name: str
    bundle_version: str
    bundle_folder: str
    manifest: str
    split: str
    items: int
    photos: int
    created: str
    command: str


def metrics_json(info: RunInfo, sections: list[Section], unreadable: list[UnreadablePhoto]) -> dict:
    return {
        "run": info.__dict__,
        "unreadable_photos": [photo.__dict__ for photo in unreadable],
        "sections": {section.task.value: _section_json(section) for section in sections},
    }


def _section_json(section: Section) -> dict:
    return {
        "computed": section.skipped is None,
        "skipped_reason": section.skipped,
        "notes": list(section.notes),
        "metrics": {name: metric.as_json() for name, metric in section.metrics.items()},
        "details": section.details,
    }


def write_report(
    out: Path, info: RunInfo, sections: list[Section], gallery: list[GalleryEntry], unreadable: list[UnreadablePhoto]
) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    metrics_path, report_path = out / METRICS_FILE, out / REPORT_FILE
    metrics_path.write_text(json.dumps(metrics_json(info, sections, unreadable), indent=2) + "\n", encoding="utf-8")
    report_path.write_text(render_html(info, sections, gallery, unreadable), encoding="utf-8")
    return metrics_path, report_path


def render_html(
    info: RunInfo, sections: list[Section], gallery: list[GalleryEntry], unreadable: list[UnreadablePhoto]
) -> str:
    body = [
        _header(info, unreadable),
        _headline(sections),
        _skipped(sections),
        *(_section_html(section) for section in sections if section.skipped is None),
        _gallery_html(gallery),
        _unreadable_html(unreadable),
    ]
    title = html.escape(f"{info.bundle_name} on {Path(info.manifest).name} ({info.split})")
    return (
        f"<!doctype html>\n<html><head><meta charset='utf-8'><title>{title}</title><style>{CSS}</style></head>"
        f"<body><h1>Evaluation: {title}</h1>{''.join(body)}</body></html>\n"
    )


def format_value(name: str, metric: Metric) -> str:
    if metric.value is None:
        return "n/a"
    return f"{metric.value:.1%}" if any(word in name for word in PERCENT_WORDS) else f"{metric.value:.3f}"


def _label(name: str) -> str:
    """'pixel_auroc_any_defect' -> 'pixel AUROC any defect'; 'accuracy_at_10pct_abstain' -> '... 10% abstain'."""
    words = re.sub(r"(\d+)pct", r"\1%", name).split("_")
    return " ".join(ACRONYMS.get(word, word) for word in words)


def _header(info: RunInfo, unreadable: list[UnreadablePhoto]) -> str:
    rows = [
        ("bundle", f"{info.bundle_name} version {info.bundle_version} ({info.bundle_folder})"),
        ("manifest", f"{info.manifest}, split {info.split}"),
        ("evaluated", f"{info.items} items, {info.photos} photos; {len(unreadable)} photos unreadable"),
        ("created", info.created),
        ("reproduce", info.command),
    ]
    return _table(("", ""), rows, css="meta")


def _headline(sections: list[Section]) -> str:
    rows = []
    for section in sections:
        for name in section.headline:
            metric = section.metrics[name]
            rows.append(
                (
                    section.task.value,
                    _label(name),
                    format_value(name, metric),
                    str(metric.n),
                    _target(section.task.value, name, metric),
                    metric.reason or "",
                )
            )
    if not rows:
        return "<h2>Headline</h2><p>No metric could be computed: see the skipped sections below.</p>"
    note = (
        "<p class='small'>Targets come from the project's model issue and were set for the dataset named; "
        "n is the number of examples (items, photos or pixels) each value rests on.</p>"
    )
    return "<h2>Headline</h2>" + _table(("section", "metric", "value", "n", "target", "note"), rows) + note


def _target(task: str, name: str, metric: Metric) -> str:
    if (task, name) not in TARGETS:
        return ""
    direction, goal, dataset = TARGETS[(task, name)]
    shown = f"{'&ge;' if direction == '>=' else '&le;'} {format_value(name, Metric(goal, 0))} ({dataset})"
    if metric.value is None:
        return shown
    met = metric.value >= goal if direction == ">=" else metric.value <= goal
    verdict = "<span class='ok'>met</span>" if met else "<span class='bad'>not met</span>"
    return f"{shown}: {verdict}"


def _skipped(sections: list[Section]) -> str:
    skipped = [section for section in sections if section.skipped is not None]
    if not skipped:
        return ""
    items = "".join(f"<li><b>{s.task.value}</b>: {html.escape(s.skipped)}{_notes_inline(s)}</li>" for s in skipped)
    return f"<h2>Skipped sections</h2><ul>{items}</ul>"


def _notes_inline(section: Section) -> str:
    return "".join(f" {html.escape(note)}" for note in section.notes)


def _section_html(section: Section) -> str:
    parts = [f"<h2 id='{section.task.value}'>{section.task.value.capitalize()}</h2>"]
    if section.notes:
        parts.append("<ul class='notes'>" + "".join(f"<li>{html.escape(n)}</li>" for n in section.notes) + "</ul>")
    rows = [(_label(name), format_value(name, m), str(m.n), m.reason or "") for name, m in section.metrics.items()]
    parts.append(_table(("metric", "value", "n", "note"), rows))
    for table in section.tables:
        parts.append(f"<h3>{html.escape(table.title)}</h3>" + _table(table.header, table.rows))
    parts.append(
        "<div class='figures'>" + "".join(_figure(f.title, f.png, f.caption) for f in section.figures) + "</div>"
    )
    return "<section>" + "".join(parts) + "</section>"


def _figure(title: str, png: bytes, caption: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (
        f"<figure><img alt='{html.escape(title)}' src='data:image/png;base64,{data}'>"
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _gallery_html(gallery: list[GalleryEntry]) -> str:
    if not gallery:
        return "<h2>Worst errors</h2><p>No wrong predictions to show.</p>"
    intro = (
        "<p class='small'>Taken in turn from each section, worst first. Cyan: true defect outline. "
        "Heatmaps are the network's own 28x28 outputs, upsampled.</p>"
    )
    figures = "".join(_figure(entry.caption, entry.png, f"{entry.caption} | item {entry.item_id}") for entry in gallery)
    return f"<h2>Worst errors</h2>{intro}<div class='gallery'>{figures}</div>"


def _unreadable_html(unreadable: list[UnreadablePhoto]) -> str:
    if not unreadable:
        return ""
    rows = [(p.item_id, p.path, p.reason) for p in unreadable[:MAX_UNREADABLE_LISTED]]
    more = len(unreadable) - len(rows)
    tail = f"<p>... and {more} more (all are in metrics.json).</p>" if more > 0 else ""
    return "<h2>Unreadable photos (not evaluated)</h2>" + _table(("item", "photo", "reason"), rows) + tail


def _table(header: tuple[str, ...], rows: list | tuple, css: str = "") -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_cell(value)}</td>" for value in row) + "</tr>" for row in rows)
    return f"<table class='{css}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value: str) -> str:
    """Cells are escaped, except the target column's own markup."""
    return value if value.startswith(("&ge;", "&le;")) else html.escape(value)


CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.5em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
table { border-collapse: collapse; margin: .5em 0 1em; font-size: .92em; }
th, td { border: 1px solid #ddd; padding: .3em .6em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } table.meta th { display: none; } table.meta td:first-child { font-weight: bold; }
.figures, .gallery { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; max-width: 100%; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: .85em; color: #555; max-width: 560px; }
.gallery figure { width: 560px; } .gallery figcaption { color: #222; }
.small { font-size: .85em; color: #555; }
.ok { color: #1a7f37; font-weight: bold; } .bad { color: #b42318; font-weight: bold; }
"""
