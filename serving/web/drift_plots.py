"""Inline SVG plots of the drift page, drawn on the server: no script, no external file, nothing fetched.

Colours and sizes are SVG presentation attributes (the pages' Content-Security-Policy allows no inline style).
Every text drawn comes from `markupsafe.escape`: group names are API key names and cameras come from EXIF.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from grading import psi
from grading.psi import DriftLevel
from serving.drift_report import GroupDrift, MeasureDrift

LEVEL_COLOURS = {
    DriftLevel.TOO_FEW: "#8a9099",
    DriftLevel.STABLE: "#2e7d32",
    DriftLevel.WATCH: "#b26a00",
    DriftLevel.DRIFT: "#c62828",
}
REFERENCE_COLOUR = "#9aa4b1"
AXIS_CAP = 1.0  # the overview's PSI axis ends here (four times the drift line), so the thresholds stay readable
FONT = 'font-family="system-ui, sans-serif"'


def distribution_plot(measure: MeasureDrift, width: int = 340, height: int = 210) -> Markup:
    """Reference (grey) and window (the level's colour) share of each bin, side by side; bin names slanted."""
    top, bottom, left = 24, 64, 50  # room on the left for the first slanted bin name
    plot_height = height - top - bottom
    bins = len(measure.bins)
    slot = (width - left - 6) / max(bins, 1)
    highest = max([*measure.reference_shares, *measure.window_shares, 0.01])
    colour = LEVEL_COLOURS[measure.level]
    parts = [_axis(left, top, plot_height, width, highest)]
    for i, (name, reference, window) in enumerate(
        zip(measure.bins, measure.reference_shares, measure.window_shares, strict=True)
    ):
        x = left + i * slot
        parts.append(_bar(x + slot * 0.12, slot * 0.36, reference, highest, top, plot_height, REFERENCE_COLOUR))
        parts.append(_bar(x + slot * 0.5, slot * 0.36, window, highest, top, plot_height, colour))
        label = escape(name if len(name) <= 18 else name[:17] + "…")
        tx, ty = x + slot / 2, top + plot_height + 10
        parts.append(
            f'<text x="{tx:.1f}" y="{ty}" font-size="9" text-anchor="end" transform="rotate(-35 {tx:.1f} {ty})" '
            f"{FONT}>{label}</text>"
        )
    title = escape(f"{measure.measure.value}: reference (grey) and window shares per bin")
    parts.append(_legend(width - 160, 12, colour))
    return _svg(width, height, title, parts)


def overview_plot(groups: list[GroupDrift], width: int = 640) -> Markup:
    """Each group's largest judged PSI as a bar (axis capped at AXIS_CAP), with the watch and drift thresholds."""
    row, left, top = 18, 210, 8
    height = top + row * max(len(groups), 1) + 26
    largest = min(max([_largest(group) or 0.0 for group in groups] + [psi.DRIFT * 1.6]), AXIS_CAP)
    scale = (width - left - 50) / largest
    parts = []
    for i, group in enumerate(groups):
        y = top + i * row
        value = _largest(group)
        name = escape(f"{group.kind.value}: {group.name}"[:34])
        parts.append(f'<text x="{left - 6}" y="{y + 12}" font-size="11" text-anchor="end" {FONT}>{name}</text>')
        bar = min(value or 0.0, largest) * scale  # past the cap the bar is full and its number says how far
        fill = LEVEL_COLOURS[group.level]
        parts.append(f'<rect x="{left}" y="{y + 3}" width="{bar:.1f}" height="{row - 6}" fill="{fill}"/>')
        shown = "too few" if value is None else f"{value:.3f}"
        parts.append(f'<text x="{left + bar + 4:.1f}" y="{y + 12}" font-size="10" {FONT}>{shown}</text>')
    bottom = top + row * max(len(groups), 1)
    for threshold, label, anchor, shift in ((psi.WATCH, "watch", "end", -3), (psi.DRIFT, "drift", "start", 3)):
        x = left + threshold * scale
        colour = LEVEL_COLOURS[DriftLevel(label)]
        parts.append(
            f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="{colour}" stroke-dasharray="4 3"/>'
        )
        parts.append(
            f'<text x="{x + shift:.1f}" y="{bottom + 14}" font-size="10" text-anchor="{anchor}" fill="{colour}" {FONT}>'
            f"{label} {threshold:g}</text>"
        )
    return _svg(width, height, "largest PSI per group, with the watch and drift thresholds", parts)


def _largest(group: GroupDrift) -> float | None:
    judged = [m.psi for m in group.measures if m.level is not DriftLevel.TOO_FEW and not m.informational]
    return max((value for value in judged if value is not None), default=None)


def _axis(left: int, top: int, plot_height: int, width: int, highest: float) -> str:
    base = top + plot_height
    return (
        f'<line x1="{left}" y1="{base}" x2="{width - 4}" y2="{base}" stroke="#4a4f57"/>'
        f'<text x="{left - 4}" y="{top + 4}" font-size="9" text-anchor="end" {FONT}>{highest:.0%}</text>'
        f'<text x="{left - 4}" y="{base}" font-size="9" text-anchor="end" {FONT}>0</text>'
    )


def _bar(x: float, width: float, share: float, highest: float, top: int, plot_height: int, fill: str) -> str:
    height = plot_height * share / highest
    y = top + plot_height - height
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" fill="{fill}"/>'


def _legend(left: int, y: int, colour: str) -> str:
    return (
        f'<rect x="{left}" y="{y - 8}" width="10" height="8" fill="{REFERENCE_COLOUR}"/>'
        f'<text x="{left + 14}" y="{y}" font-size="10" {FONT}>reference</text>'
        f'<rect x="{left + 80}" y="{y - 8}" width="10" height="8" fill="{colour}"/>'
        f'<text x="{left + 94}" y="{y}" font-size="10" {FONT}>window</text>'
    )


def _svg(width: int, height: int, title: str, parts: list[str]) -> Markup:
    body = "".join(parts)
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}"><title>{escape(title)}</title>{body}</svg>'
    )
