"""A contact sheet of what the photo quality checks refuse and accept, real photos and degraded copies.

Each tile is the model's input (what the checks measured), captioned with its kind and every failed check as
`check value vs threshold`. Rows: real photos refused; real photos accepted nearest a threshold (where a wrong
threshold would show first); a few accepted at random; then per kind of damage the copies missed and some
caught.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from grading.intake import Preprocessing
from grading.photo_quality import RULES, CheckResult, PhotoQualityPolicy, applies_to
from training.photo_degradations import Degradation
from training.photo_quality_fit import REAL, Sample, failed_checks, intake

TILE = 168
CAPTION = 30
COLUMNS = 8
TITLE = 22
REFUSED_SHOWN = 16
PER_KIND = 4


def write_contact_sheet(
    out: Path,
    samples: Sequence[Sample],
    policy: PhotoQualityPolicy,
    preprocessing: Preprocessing,
    seed: int,
) -> Path:
    """Draw the sheet to `out` (PNG) and return the path."""
    failures = failed_checks(samples, policy)
    sections = _sections(samples, failures, policy, seed)
    rows = sum(-(-len(chosen) // COLUMNS) for _, chosen in sections)
    titles = sum(1 for _, chosen in sections if chosen)
    sheet = Image.new("RGB", (COLUMNS * TILE, rows * (TILE + CAPTION) + titles * TITLE), "white")
    draw, font = ImageDraw.Draw(sheet), _font()
    y = 0
    for title, chosen in sections:
        if not chosen:
            continue
        draw.text((4, y + 4), title, fill="black", font=font)
        y += TITLE
        for position, index in enumerate(chosen):
            x, row_y = (position % COLUMNS) * TILE, y + (position // COLUMNS) * (TILE + CAPTION)
            _draw_tile(sheet, draw, font, samples[index], failures[index], (x, row_y), preprocessing, seed)
        y += -(-len(chosen) // COLUMNS) * (TILE + CAPTION)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.quantize(256, method=Image.Quantize.FASTOCTREE).save(out, optimize=True)
    return out


def _sections(
    samples: Sequence[Sample], failures: list[tuple[CheckResult, ...]], policy: PhotoQualityPolicy, seed: int
) -> list[tuple[str, list[int]]]:
    """(title, sample indices) per row group."""
    rng = np.random.default_rng(seed)
    real = [i for i, s in enumerate(samples) if s.kind == REAL]
    refused = [i for i in real if failures[i]]
    accepted = [i for i in real if not failures[i]]
    nearest = sorted(accepted, key=lambda i: _margin(samples[i], policy))[:COLUMNS]
    others = [i for i in accepted if i not in nearest]
    sections = [
        (f"Real photos refused ({len(refused)} of {len(real)}; up to {REFUSED_SHOWN} shown)", refused[:REFUSED_SHOWN]),
        ("Real photos accepted, nearest a threshold", nearest),
        ("Real photos accepted, at random", sorted(rng.choice(others, min(COLUMNS, len(others)), replace=False))),
    ]
    for kind in Degradation:
        copies = [i for i, s in enumerate(samples) if s.kind == kind.value]
        missed = [i for i in copies if not failures[i]]
        caught = [i for i in copies if failures[i]]
        room = COLUMNS - min(PER_KIND, len(missed))
        shown = missed[:PER_KIND] + list(rng.choice(caught, min(room, len(caught)), replace=False))
        title = f"{kind.value}: {len(caught)} of {len(copies)} caught; missed first ({len(missed)}), then caught"
        sections.append((title, shown))
    return sections


def _margin(sample: Sample, policy: PhotoQualityPolicy) -> float:
    """How close the photo came to failing its nearest check, relative to that threshold (0: on it)."""
    margins = []
    for rule in (rule for rule in RULES if applies_to(rule, sample.measures, policy)):
        value, threshold = float(getattr(sample.measures, rule.measure)), float(getattr(policy, rule.threshold))
        scale = abs(threshold) or 1.0
        margins.append((value - threshold) / scale if rule.at_least else (threshold - value) / scale)
    return min(margins)


def _draw_tile(
    sheet: Image.Image,
    draw: ImageDraw.ImageDraw,
    font: ImageFont.ImageFont,
    sample: Sample,
    failed: tuple[CheckResult, ...],
    origin: tuple[int, int],
    preprocessing: Preprocessing,
    seed: int,
) -> None:
    photo = intake(sample.source, sample.kind, seed, preprocessing)
    x, y = origin
    sheet.paste(Image.fromarray(photo.pixels).resize((TILE - 4, TILE - 4), Image.Resampling.BILINEAR), (x + 2, y + 2))
    colour = (200, 0, 0) if failed else (0, 120, 0)
    draw.rectangle((x, y, x + TILE - 1, y + TILE - 1), outline=colour, width=2)
    verdict = "; ".join(_short(check) for check in failed) or "accepted"
    draw.text((x + 3, y + TILE + 1), sample.kind, fill="black", font=font)
    draw.text((x + 3, y + TILE + 14), verdict[:30], fill=colour, font=font)


def _short(check: CheckResult) -> str:
    value = f"{check.value:.0f}" if abs(check.value) >= 10 else f"{check.value:.2f}"
    return f"{check.check.value} {value}"


def _font() -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=11)
    except TypeError:  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()
