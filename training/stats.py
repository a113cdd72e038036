"""Counts that describe a manifest: per split, category, authenticity, defect type, grade and photos per item.

Every count is a table of label value x split, so class imbalance between splits shows at a glance. Labels a
source does not have are counted as `(none)` (category, grade) or skipped (defects of unannotated photos).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from grading.manifest import Item

NONE = "(none)"
SPLIT_ORDER = ("train", "validation", "test", NONE)


@dataclass(frozen=True)
class CountTable:
    """Counts of one label, `counts[value][split]`, with the unit counted (items, photos or defects)."""

    title: str
    unit: str
    counts: dict[str, dict[str, int]]
    by_split: bool = True

    @property
    def splits(self) -> list[str]:
        """The split columns to show (none for the table of splits itself)."""
        present = {split for row in self.counts.values() for split in row} if self.by_split else set()
        return [split for split in SPLIT_ORDER if split in present]


@dataclass(frozen=True)
class ManifestStats:
    items: int
    photos: int
    tables: tuple[CountTable, ...]


def split_of(item: Item) -> str:
    return str(item.split) if item.split else NONE


def manifest_stats(items: Sequence[Item]) -> ManifestStats:
    """All count tables of a manifest; tables with only `(none)` or `unknown` values are left out."""
    tables = (
        _split_table(items),
        _table("category", "items", items, lambda item: [item.category or NONE]),
        _table("authenticity", "items", items, lambda item: [str(item.authenticity)]),
        _table("grade", "items", items, lambda item: [item.grade.value if item.grade else NONE]),
        _table("defect type", "defects", items, _defect_types),
        _table("annotation", "photos", items, _annotation),
        _table("photos per item", "items", items, lambda item: [str(len(item.photos))]),
    )
    useful = tuple(table for table in tables if table.counts and set(table.counts) - {NONE, "unknown"})
    return ManifestStats(len(items), sum(len(item.photos) for item in items), useful)


def _table(title: str, unit: str, items: Iterable[Item], values: Callable[[Item], list[str]]) -> CountTable:
    counts: dict[str, Counter] = {}
    for item in items:
        for value in values(item):
            counts.setdefault(value, Counter())[split_of(item)] += 1
    ordered = sorted(counts.items(), key=lambda entry: (-sum(entry[1].values()), entry[0]))
    return CountTable(title, unit, {value: dict(per_split) for value, per_split in ordered})


def _split_table(items: Sequence[Item]) -> CountTable:
    table = _table("split", "items", items, lambda item: [split_of(item)])
    order = {split: rank for rank, split in enumerate(SPLIT_ORDER)}
    counts = dict(sorted(table.counts.items(), key=lambda entry: order[entry[0]]))
    return CountTable(table.title, table.unit, counts, by_split=False)


def _defect_types(item: Item) -> list[str]:
    return [str(defect.type) for photo in item.photos for defect in photo.defects or []]


def _annotation(item: Item) -> list[str]:
    """Per photo: not annotated (defects absent), clean (defects []) or with defects."""
    return ["not annotated" if p.defects is None else "with defects" if p.defects else "clean" for p in item.photos]


def format_stats(stats: ManifestStats) -> str:
    """Every table as aligned text, a total column last."""
    blocks = [f"{stats.items} items, {stats.photos} photos"]
    blocks += [format_table(table) for table in stats.tables]
    return "\n\n".join(blocks)


def format_table(table: CountTable) -> str:
    splits = table.splits
    width = max([len(table.title), *map(len, table.counts)]) + 2
    header = f"{table.title:<{width}}" + "".join(f"{split:>12}" for split in splits) + f"{'total':>10}"
    rows = [header, "-" * len(header)]
    for value, per_split in table.counts.items():
        cells = "".join(f"{per_split.get(split, 0):>12,}" for split in splits)
        rows.append(f"{value:<{width}}{cells}{sum(per_split.values()):>10,}")
    return f"{table.unit} by {table.title}\n" + "\n".join(rows)


def write_histogram(stats: ManifestStats, path: Path) -> Path:
    """One bar chart per table (bars stacked by split) in a single PNG; matplotlib's Agg backend, no display."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tables = stats.tables
    figure, axes = plt.subplots(len(tables), 1, figsize=(9, 2.8 * len(tables)), squeeze=False)
    for axis, table in zip(axes[:, 0], tables, strict=True):
        _bars(axis, table)
    figure.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return Path(path)


def _bars(axis: "matplotlib.axes.Axes", table: CountTable) -> None:  # noqa: F821, UP037
    values = list(table.counts)[:30]
    bottom = [0] * len(values)
    for split in table.splits or [None]:
        heights = [_height(table.counts[value], split) for value in values]
        axis.bar(values, heights, bottom=bottom, label=split or "all")
        bottom = [low + high for low, high in zip(bottom, heights, strict=True)]
    axis.set_title(f"{table.unit} by {table.title}")
    axis.tick_params(axis="x", labelrotation=30, labelsize=8)
    axis.legend(fontsize=8)


def _height(per_split: dict[str, int], split: str | None) -> int:
    return per_split.get(split, 0) if split else sum(per_split.values())
