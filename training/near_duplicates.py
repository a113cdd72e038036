"""Exact and near-duplicate photos in a manifest: content hashes plus 64-bit perceptual hashes (pHash).

Exact duplicates share a sha256. Near duplicates are photos whose pHash (imagehash's DCT hash of a 32x32
grey thumbnail) differ in at most `max_distance` of 64 bits. Pairs are joined transitively (union-find), so a
group is a connected component, not a clique.

The default threshold, 4 bits, was measured on the shared data (pHash distances come in even numbers):
- `leather-defects-boxes`: 188 source photos (one Roboflow file stem) sit in both train and valid. The closest
  train/valid pair of a stem is at 0 bits for 114 stems, 2 for 31, 4 for 12, 6 for 6, 8 for 5 and 10 for 4;
  the last 16 are Roboflow augmentations (shifted crops, pasted patches) at 12-36 bits, where unrelated leather
  textures already start (67 pairs at 12 bits, 282 at 14). No global hash threshold separates those 16.
  Within 4 bits, 157 of the 188 stems are caught (163 within 6, 145 within 2).
- `clothing-small` (distinct garments): 1 pair at 0 bits (a true copy), 5 at 4, 38 at 6, 144 at 8, 619 at 10;
  pairs at 6-8 are different garments shot on the same floor.
- `shoes-auth-fake`: product shots of one shoe model in two colourways (same pose, same background) start at
  4 bits; 23 more train/test pairs of different shoes join at 6.
So 4 bits catches nearly all re-exports while keeping false merges (which only cost split balance, and show as
false leak reports in `validate`) to a handful. Raise it (`--near-duplicate-distance 6` or 8) for more recall on
texture close-ups. Group the photos of one source item with `Item.group` when the source names them (as
Roboflow's `<stem>_jpg.rf.<hash>` file names do).

Photos are hashed from a draft decode (JPEG DCT scaling to >= 64 px), which is fast and changes a hash by
far less than the threshold; EXIF orientation is ignored, like the pixel coordinates of the manifest.
Hashing ~4,000 photos takes about 2 s in one process; two processes were slower on 2 cores (process start
and pickling cost more than the decode), so `workers` defaults to 1.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image
from tqdm import tqdm

from grading.manifest import Item, resolve_photo_path
from training.union_find import UnionFind

DEFAULT_MAX_DISTANCE = 4
HASH_BITS = 64
_DRAFT_SIDE = 64
_PARALLEL_FROM = 200  # below this many photos, starting worker processes costs more than it saves
_BLOCK_ROWS = 512


@dataclass(frozen=True)
class PhotoRef:
    """One photo of a manifest: which item (index into the item list) and which of its photos."""

    item: int
    photo: int
    path: Path
    sha256: str


@dataclass(frozen=True)
class DuplicateGroups:
    """Groups of photo indices (into the `PhotoRef` list), each sorted, each with two or more photos.

    Attributes:
        exact: photos with one sha256.
        near: connected components of exact and near-duplicate pairs (every exact group lies inside one).
        hashes: the pHash of every photo as uint64; `hashed[i]` is False where the photo could not be read.
        max_distance: the Hamming threshold used, in bits.
    """

    exact: tuple[tuple[int, ...], ...]
    near: tuple[tuple[int, ...], ...]
    hashes: np.ndarray
    hashed: np.ndarray
    max_distance: int


def photo_refs(items: Sequence[Item], manifest_path: Path) -> list[PhotoRef]:
    """Every photo of every item, with its path resolved against the manifest's folder."""
    return [
        PhotoRef(index, number, resolve_photo_path(manifest_path, photo.path), photo.sha256)
        for index, item in enumerate(items)
        for number, photo in enumerate(item.photos)
    ]


def perceptual_hash(source: Path | bytes) -> int | None:
    """The 64-bit pHash of a photo file (or its bytes), or None when Pillow cannot decode it."""
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
            image.draft("L", (_DRAFT_SIDE, _DRAFT_SIDE))
            bits = imagehash.phash(image).hash.flatten()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None
    return int.from_bytes(np.packbits(bits).tobytes(), "big")


def hash_photos(paths: Sequence[Path], workers: int = 1, progress: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """pHashes of many files (in `workers` processes when there are many): (uint64 hashes, readable mask)."""
    bar = tqdm(total=len(paths), unit="photo", desc="perceptual hashes", disable=not progress, leave=False)
    with bar:
        if workers > 1 and len(paths) >= _PARALLEL_FROM:
            with ProcessPoolExecutor(workers) as pool:
                results = _counted(pool.map(perceptual_hash, paths, chunksize=32), bar)
        else:
            results = _counted(map(perceptual_hash, paths), bar)
    hashed = np.array([value is not None for value in results], dtype=bool)
    hashes = np.array([value or 0 for value in results], dtype=np.uint64)
    return hashes, hashed


def _counted(hashes: Iterable[int | None], bar: tqdm) -> list[int | None]:
    """Collect hashes, ticking the progress bar once per photo (`tqdm.update` returns a flag, not None)."""
    collected = []
    for value in hashes:
        bar.update()
        collected.append(value)
    return collected


def near_pairs(hashes: np.ndarray, max_distance: int, hashed: np.ndarray | None = None) -> np.ndarray:
    """All index pairs (i < j) within `max_distance` bits, as an (n, 2) array; vectorised XOR + popcount.

    Works in row blocks so memory stays at `_BLOCK_ROWS * len(hashes)` bytes; ~4,000 hashes take well under
    a second.
    """
    hashes = np.asarray(hashes, dtype=np.uint64)
    usable = np.ones(len(hashes), dtype=bool) if hashed is None else np.asarray(hashed, dtype=bool)
    pairs = []
    for start in range(0, len(hashes), _BLOCK_ROWS):
        distances = np.bitwise_count(hashes[start : start + _BLOCK_ROWS, None] ^ hashes[None, :])
        rows, cols = np.nonzero(distances <= max_distance)
        rows = rows + start
        keep = (cols > rows) & usable[rows] & usable[cols]
        pairs.append(np.stack([rows[keep], cols[keep]], axis=1))
    return np.concatenate(pairs) if pairs else np.empty((0, 2), dtype=np.int64)


def exact_groups(photos: Sequence[PhotoRef]) -> list[tuple[int, ...]]:
    """Indices of photos sharing a sha256, groups of two or more, ordered by first index."""
    by_hash: dict[str, list[int]] = {}
    for index, photo in enumerate(photos):
        by_hash.setdefault(photo.sha256, []).append(index)
    return sorted(tuple(group) for group in by_hash.values() if len(group) > 1)


def find_duplicates(
    photos: Sequence[PhotoRef],
    max_distance: int = DEFAULT_MAX_DISTANCE,
    hashes: tuple[np.ndarray, np.ndarray] | None = None,
    workers: int = 1,
    progress: bool = True,
) -> DuplicateGroups:
    """Exact and near-duplicate groups of `photos`; pass `hashes` (from `hash_photos`) to skip hashing."""
    if not 0 <= max_distance < HASH_BITS:
        raise ValueError(f"near-duplicate distance must be 0..{HASH_BITS - 1} bits, got {max_distance}")
    values, hashed = hashes if hashes is not None else hash_photos([p.path for p in photos], workers, progress)
    exact = exact_groups(photos)
    sets = UnionFind(len(photos))
    for group in exact:
        sets.union_all(group)
    for first, second in near_pairs(values, max_distance, hashed):
        sets.union(int(first), int(second))
    near = tuple(group for group in sets.groups() if len(group) > 1)
    return DuplicateGroups(tuple(exact), near, values, hashed, max_distance)
