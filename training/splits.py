"""Leakage-free split assignment: deterministic, seeded, and group-aware.

A *split group* is a connected component (union-find) of items joined by any of: sharing `Item.group`, sharing
a photo (same sha256), or having near-duplicate photos (pHash, see `training.near_duplicates`). All photos of
an item are one item, so they travel together by construction. Every split group lands wholly in one split.

Modes:
  keep-source  keep the split each item came with. A group whose items sit in several splits *leaks*;
               `on_leak=move` moves it wholly to its most protected split (test > validation > train): a photo
               someone already evaluated on must stay out of training, and held-out sets only grow;
               `on_leak=drop` drops the whole group. Groups with no split at all are assigned as in `ratios`.
  ratios       ignore source splits; order groups by a seeded hash of their smallest item id and cut the
               cumulative item count at the ratios (a group goes where its middle item falls), so counts follow
               the ratios closely and one seed always gives one assignment whatever the manifest's line order.
  carve        keep-source, then, when no item is in validation, move a `validation_share` of train's items
               (whole groups, seeded order) to validation. Test is never touched by the carving.

Items with conflicting labels (category, authenticity or grade) inside one exact-duplicate group are reported;
`on_conflict=drop` drops all of them, since nothing says which label is right.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from grading.manifest import Item
from grading.vocabulary import Split
from training.near_duplicates import DEFAULT_MAX_DISTANCE, DuplicateGroups, PhotoRef, find_duplicates, photo_refs
from training.transformed_copies import transformed_copy_pairs
from training.union_find import UnionFind

PROTECTION_ORDER = (Split.TEST, Split.VALIDATION, Split.TRAIN)  # most protected first
SPLIT_ORDER = (Split.TRAIN, Split.VALIDATION, Split.TEST)
NO_SPLIT = "none"


class SplitMode(StrEnum):
    KEEP_SOURCE = "keep-source"
    RATIOS = "ratios"
    CARVE = "carve"


class LeakPolicy(StrEnum):
    MOVE = "move"
    DROP = "drop"


class ConflictPolicy(StrEnum):
    KEEP = "keep"
    DROP = "drop"


class SplitOptionsError(ValueError):
    """Split options that cannot work (ratios that do not sum to 1, a share outside 0..1)."""


@dataclass(frozen=True)
class SplitOptions:
    """How to split. `ratios` are train, validation, test and must sum to 1."""

    mode: SplitMode = SplitMode.KEEP_SOURCE
    ratios: tuple[float, float, float] = (0.8, 0.1, 0.1)
    validation_share: float = 0.15
    seed: int = 0
    max_distance: int = DEFAULT_MAX_DISTANCE
    on_leak: LeakPolicy = LeakPolicy.MOVE
    on_conflict: ConflictPolicy = ConflictPolicy.KEEP
    transformed_copies: bool = False  # also join rotated/mirrored/cropped copies (training.transformed_copies)

    def __post_init__(self) -> None:
        if len(self.ratios) != 3 or min(self.ratios) < 0 or abs(sum(self.ratios) - 1.0) > 1e-6:
            raise SplitOptionsError(
                f"ratios need three non-negative numbers (train, validation, test) summing to 1, got {self.ratios}; "
                "for example 0.8,0.1,0.1"
            )
        if not 0.0 < self.validation_share < 1.0:
            raise SplitOptionsError(f"validation share must lie strictly between 0 and 1, got {self.validation_share}")
        if not 0 <= self.max_distance < 64:
            raise SplitOptionsError(f"near-duplicate distance is in pHash bits, 0..63; got {self.max_distance}")


@dataclass(frozen=True)
class LabelConflict:
    """Byte-identical photos whose items disagree on a label; `labels[i]` belongs to `item_ids[i]`."""

    sha256: str
    item_ids: tuple[str, ...]
    labels: tuple[str, ...]


@dataclass(frozen=True)
class Move:
    item_id: str
    before: str
    after: str


@dataclass(frozen=True)
class SplitReport:
    """What a split did. `before`/`after` count items per split name (`none` for items without a split).

    Attributes:
        split_groups: groups of items that must share a split; `merged_groups` of them join two or more items.
        leaking_groups: groups whose items sat in more than one source split (keep-source and carve).
        moved: items whose split changed, including items that had none.
        dropped: (item id, reason) of every item left out of the output.
    """

    options: SplitOptions
    items: int
    exact_duplicate_groups: int
    near_duplicate_groups: int
    transformed_copy_pairs: int
    split_groups: int
    merged_groups: int
    leaking_groups: int
    moved: tuple[Move, ...]
    dropped: tuple[tuple[str, str], ...]
    conflicts: tuple[LabelConflict, ...]
    before: dict[str, int]
    after: dict[str, int]


def split_manifest_items(
    items: Sequence[Item],
    manifest_path: Path,
    options: SplitOptions,
    progress: bool = True,
    duplicates: DuplicateGroups | None = None,
) -> tuple[list[Item], SplitReport]:
    """Assign every item a split; returns the kept items (in input order) and a report of what changed.

    Photos are read (for their pHash) from beside `manifest_path`; pass `duplicates` to reuse a computation.
    """
    photos = photo_refs(items, manifest_path)
    if duplicates is None:
        duplicates = find_duplicates(photos, options.max_distance, progress=progress)
    conflicts = label_conflicts(items, photos, duplicates.exact)
    dropped = _conflict_drops(items, conflicts, options)
    copies = transformed_copy_pairs([p.path for p in photos], progress) if options.transformed_copies else []
    near = _joined(len(photos), duplicates.near, copies)
    groups = split_groups(items, photos, near, exclude=set(dropped))
    assignment, leaking = _assign(items, groups, options)
    dropped |= {index: "its group spans splits (--on-leak drop)" for index, s in assignment.items() if s is None}
    items = _grouped(items, groups)
    kept = [_with_split(item, assignment[index]) for index, item in enumerate(items) if index not in dropped]
    report = SplitReport(
        options=options,
        items=len(items),
        exact_duplicate_groups=len(duplicates.exact),
        near_duplicate_groups=len(duplicates.near),
        transformed_copy_pairs=len(copies),
        split_groups=len(groups),
        merged_groups=sum(len(group) > 1 for group in groups),
        leaking_groups=leaking,
        moved=_moves(items, assignment),
        dropped=tuple((items[index].id, reason) for index, reason in sorted(dropped.items())),
        conflicts=tuple(conflicts),
        before=split_counts(items),
        after=split_counts(kept),
    )
    return kept, report


def _joined(count: int, near: Sequence[tuple[int, ...]], pairs: Sequence[tuple[int, int]]) -> list[tuple[int, ...]]:
    """Photo groups joining the near-duplicate groups and the transformed-copy pairs."""
    if not pairs:
        return list(near)
    sets = UnionFind(count)
    for group in near:
        sets.union_all(group)
    for first, second in pairs:
        sets.union(first, second)
    return [group for group in sets.groups() if len(group) > 1]


def _grouped(items: Sequence[Item], groups: Sequence[tuple[int, ...]]) -> list[Item]:
    """Items joined with others only by duplicate photos get a `group` naming the first of them, so later steps
    (evaluation's item-level figures) know which items show one source photo."""
    items = list(items)
    for group in groups:
        if len(group) > 1 and all(items[index].group is None for index in group):
            name = f"copies-of/{items[group[0]].id}"
            for index in group:
                items[index] = items[index].model_copy(update={"group": name})
    return items


def label_of(item: Item) -> str:
    """The labels two copies of one photo must agree on, as one readable string."""
    grade = item.grade.value if item.grade else None
    return f"category={item.category} authenticity={item.authenticity} grade={grade}"


def label_conflicts(
    items: Sequence[Item], photos: Sequence[PhotoRef], exact: Sequence[tuple[int, ...]]
) -> list[LabelConflict]:
    """Exact-duplicate groups whose items carry different labels."""
    conflicts = []
    for group in exact:
        owners = sorted({photos[index].item for index in group})
        labels = [label_of(items[owner]) for owner in owners]
        if len(set(labels)) > 1:
            ids = tuple(items[owner].id for owner in owners)
            conflicts.append(LabelConflict(photos[group[0]].sha256, ids, tuple(labels)))
    return conflicts


def _conflict_drops(items: Sequence[Item], conflicts: Sequence[LabelConflict], options: SplitOptions) -> dict[int, str]:
    if options.on_conflict is not ConflictPolicy.DROP:
        return {}
    conflicting = {item_id for conflict in conflicts for item_id in conflict.item_ids}
    reason = "one photo carries conflicting labels (--on-conflict drop)"
    return {index: reason for index, item in enumerate(items) if item.id in conflicting}


def split_groups(
    items: Sequence[Item], photos: Sequence[PhotoRef], near: Sequence[tuple[int, ...]], exclude: set[int] = frozenset()
) -> list[tuple[int, ...]]:
    """Item indices joined by `Item.group`, shared photos and near duplicates; `exclude`d items are left out."""
    sets = UnionFind(len(items))
    by_group: dict[str, list[int]] = {}
    for index, item in enumerate(items):
        if item.group is not None:
            by_group.setdefault(item.group, []).append(index)
    for members in by_group.values():
        sets.union_all(members)
    for group in near:
        sets.union_all(sorted({photos[index].item for index in group}))
    kept = (tuple(index for index in group if index not in exclude) for group in sets.groups())
    return [group for group in kept if group]


def _assign(
    items: Sequence[Item], groups: Sequence[tuple[int, ...]], options: SplitOptions
) -> tuple[dict[int, Split | None], int]:
    """Split per item index (None = drop) and the number of leaking groups found."""
    if options.mode is SplitMode.RATIOS:
        return spread(items, groups, options.ratios, options.seed), 0
    assignment: dict[int, Split | None] = {}
    unsplit, leaking = [], 0
    for group in groups:
        sources = {items[index].split for index in group} - {None}
        leaking += len(sources) > 1
        if not sources:
            unsplit.append(group)
        assignment |= dict.fromkeys(group, _resolve(sources, options.on_leak))
    assignment |= spread(items, unsplit, options.ratios, options.seed)
    if options.mode is SplitMode.CARVE:
        assignment |= carve_validation(items, groups, assignment, options)
    return assignment, leaking


def _resolve(sources: set[Split], on_leak: LeakPolicy) -> Split | None:
    if len(sources) > 1 and on_leak is LeakPolicy.DROP:
        return None
    return next((split for split in PROTECTION_ORDER if split in sources), None)


def carve_validation(
    items: Sequence[Item], groups: Sequence[tuple[int, ...]], assignment: dict[int, Split | None], options: SplitOptions
) -> dict[int, Split]:
    """Move a seeded `validation_share` of train's groups to validation, unless validation has items already."""
    if any(split is Split.VALIDATION for split in assignment.values()):
        return {}
    train = [group for group in groups if assignment[group[0]] is Split.TRAIN]
    share = options.validation_share
    carved = spread(items, train, (1.0 - share, share, 0.0), options.seed)
    return {index: split for index, split in carved.items() if split is Split.VALIDATION}


def spread(
    items: Sequence[Item], groups: Sequence[tuple[int, ...]], ratios: Sequence[float], seed: int
) -> dict[int, Split]:
    """Cut groups, in seeded-hash order, by cumulative item count at `ratios` (train, validation, test)."""
    ordered = sorted(groups, key=lambda group: _group_key(items, group, seed))
    total = sum(len(group) for group in ordered) or 1
    bounds = [sum(ratios[: k + 1]) for k in range(3)]
    assignment, done = {}, 0
    for group in ordered:
        middle = (done + len(group) / 2) / total
        split = next((s for s, bound in zip(SPLIT_ORDER, bounds, strict=True) if middle <= bound), Split.TEST)
        assignment |= dict.fromkeys(group, split)
        done += len(group)
    return assignment


def _group_key(items: Sequence[Item], group: tuple[int, ...], seed: int) -> str:
    """A seeded hash of the group's smallest item id: stable whatever order the manifest lists items in."""
    anchor = min(items[index].id for index in group)
    return hashlib.sha256(f"{seed}\0{anchor}".encode()).hexdigest()


def _with_split(item: Item, split: Split | None) -> Item:
    return item if item.split == split else item.model_copy(update={"split": split})


def _moves(items: Sequence[Item], assignment: dict[int, Split | None]) -> tuple[Move, ...]:
    moves = []
    for index, split in sorted(assignment.items()):
        before = items[index].split
        if split is not None and before != split:
            moves.append(Move(items[index].id, str(before or NO_SPLIT), str(split)))
    return tuple(moves)


def split_counts(items: Sequence[Item]) -> dict[str, int]:
    """Items per split, in train, validation, test, none order (absent splits left out)."""
    counts = Counter(str(item.split) if item.split else NO_SPLIT for item in items)
    return {name: counts[name] for name in (*map(str, SPLIT_ORDER), NO_SPLIT) if counts[name]}


def format_report(report: SplitReport, show: int = 10) -> str:
    """The report as text: settings, duplicate and group counts, conflicts, moves and drops, counts per split."""
    options = report.options
    lines = [
        f"mode {options.mode}, seed {options.seed}, near-duplicate distance <= {options.max_distance} bits, "
        f"on leak: {options.on_leak}, on conflict: {options.on_conflict}",
        f"items: {report.items}; exact-duplicate photo groups: {report.exact_duplicate_groups}; "
        f"near-duplicate photo groups (exact included): {report.near_duplicate_groups}; "
        f"transformed-copy pairs: {report.transformed_copy_pairs}",
        f"split groups: {report.split_groups} ({report.merged_groups} join 2+ items); "
        f"groups spanning source splits: {report.leaking_groups}",
        f"items moved: {len(report.moved)}; dropped: {len(report.dropped)}; label conflicts: {len(report.conflicts)}",
    ]
    lines += _listing("label conflict", [f"{c.sha256[:12]}: " + describe_conflict(c) for c in report.conflicts], show)
    lines += _listing("moved", [f"{m.item_id}: {m.before} -> {m.after}" for m in report.moved], show)
    lines += _listing("dropped", [f"{item_id}: {reason}" for item_id, reason in report.dropped], show)
    return "\n".join([*lines, _count_table(report.before, report.after)])


def describe_conflict(conflict: LabelConflict) -> str:
    return "; ".join(f"{item_id} ({label})" for item_id, label in zip(conflict.item_ids, conflict.labels, strict=True))


def _listing(title: str, entries: Sequence[str], show: int) -> list[str]:
    lines = [f"  {title}: {entry}" for entry in entries[:show]]
    if len(entries) > show:
        lines.append(f"  ... and {len(entries) - show} more {title} entries")
    return lines


def _count_table(before: dict[str, int], after: dict[str, int]) -> str:
    names = [name for name in (*map(str, SPLIT_ORDER), NO_SPLIT) if name in before or name in after]
    rows = [f"{'split':<12}{'before':>8}{'after':>8}"]
    rows += [f"{name:<12}{before.get(name, 0):>8}{after.get(name, 0):>8}" for name in names]
    rows.append(f"{'total':<12}{sum(before.values()):>8}{sum(after.values()):>8}")
    return "\n".join(rows)
