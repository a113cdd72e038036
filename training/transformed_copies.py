"""Transformed copies: one source photo exported again rotated, mirrored, cropped or rescaled.

Roboflow's augmented exports (sneakers-auth's train split) hold such copies, and pHash misses them: a
rotation of a few degrees with black corners moves a 64-bit pHash by 20-30 bits, far beyond the 4-bit
near-duplicate threshold. Two steps find them:

1. candidates: each photo's `CANDIDATES` nearest neighbours by cosine of its frozen ImageNet embedding
   (EfficientNet-Lite0, mean-pooled 1280-d, mirror-invariant: the best of the photo and its mirror image),
   kept from `CANDIDATE_COSINE` up;
2. verification: ORB keypoints matched between the two photos (and the mirror image of the second), with a
   RANSAC similarity transform (rotation, scale, shift); a pair is a copy with at least `MIN_INLIERS` inliers
   whose convex hull covers at least `MIN_COVERAGE` of the first photo (matches on a logo or a seller's
   watermark alone cover a few percent).

Measured on sneakers-auth (2026-12-01, 300 random candidate pairs looked at side by side): pairs of different
photos have 5-14 inliers whatever their cosine (white Air Force 1s on similar floors reach cosine 0.85), copies
have 23-350; a cosine threshold alone either misses copies (cosine 0.85-0.90 were still copies) or chains
different shoes into groups of hundreds. Inliers alone (>= 20) still chained 103 photos into one group through
Jordan wing logos and watermarks: of the 2,839 pairs with 20+ inliers, 38 joined photos with different labels,
29 of them with inliers covering under 15% of the photo; the 9 above 25% (274-377 inliers) are one photo
labelled both authentic and counterfeit by the source.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from grading.intake import Framing, Preprocessing, load_photo
from training.backbone import create_backbone
from training.frozen_backbone import onnx_backbone

CANDIDATES = 8
CANDIDATE_COSINE = 0.75
MIN_INLIERS = 25
MIN_COVERAGE = 0.15
ORB_FEATURES = 500
RANSAC_PIXELS = 4.0
_PREPROCESSING = Preprocessing(framing=Framing.WHOLE)
_BATCH = 64


def transformed_copy_pairs(paths: Sequence[Path], progress: bool = True) -> list[tuple[int, int]]:
    """Index pairs (i < j) of photos that are transformed copies of one another; unreadable photos never pair."""
    embeddings, mirrored = _embeddings(paths, progress)
    return verified_copies(paths, candidate_pairs(embeddings, mirrored), progress)


def verified_copies(
    paths: Sequence[Path], candidates: Sequence[tuple[int, int]], progress: bool = True
) -> list[tuple[int, int]]:
    """The candidate pairs whose ORB keypoints agree on one similarity transform (see the module notes)."""
    keypoints = _KeypointCache(paths)
    bar = tqdm(candidates, desc="transformed copies", unit="pair", disable=not progress)
    return [(i, j) for i, j in bar if keypoints.is_copy(i, j)]


def candidate_pairs(embeddings: np.ndarray, mirrored: np.ndarray) -> list[tuple[int, int]]:
    """(i, j), i < j: j among i's nearest neighbours (or i among j's) at cosine >= `CANDIDATE_COSINE`."""
    pairs: set[tuple[int, int]] = set()
    for start in range(0, len(embeddings), 512):
        block = embeddings[start : start + 512]
        similarity = np.maximum(block @ embeddings.T, block @ mirrored.T)
        rows = np.arange(len(block))
        similarity[rows, rows + start] = -1.0
        nearest = np.argsort(-similarity, axis=1)[:, :CANDIDATES]
        for row, neighbours in enumerate(nearest):
            for j in neighbours[similarity[row, neighbours] >= CANDIDATE_COSINE]:
                pairs.add((min(start + row, int(j)), max(start + row, int(j))))
    return sorted(pairs)


def _embeddings(paths: Sequence[Path], progress: bool) -> tuple[np.ndarray, np.ndarray]:
    """L2-normalised (n, 1280) embeddings of the photos and of their mirror images; zero rows where unreadable."""
    backbone, head = onnx_backbone(), create_backbone()
    plain, mirror, readable = [], [], []
    for start in tqdm(range(0, len(paths), _BATCH), desc="embeddings", unit="batch", disable=not progress):
        loaded = [_pixels(path) for path in paths[start : start + _BATCH]]
        readable += [photo is not None for photo in loaded]
        blank = np.zeros((_PREPROCESSING.crop_size, _PREPROCESSING.crop_size, 3), dtype=np.uint8)
        pixels = torch.from_numpy(np.stack([blank if photo is None else photo for photo in loaded]))
        for flip, out in ((False, plain), (True, mirror)):
            taps = backbone(torch.flip(pixels, [2]) if flip else pixels)
            with torch.inference_mode():
                pooled = F.relu6(head.bn2(head.conv_head(taps.stride32))).mean((2, 3))
            out.append(F.normalize(pooled, dim=1).numpy())
    kept = np.array(readable, dtype=np.float32)[:, None]
    return np.concatenate(plain) * kept, np.concatenate(mirror) * kept


def _pixels(path: Path) -> np.ndarray | None:
    """The photo through intake (whole frame), or None when it cannot be read."""
    try:
        return load_photo(Path(path).read_bytes(), preprocessing=_PREPROCESSING).pixels
    except (OSError, ValueError):
        return None


class _KeypointCache:
    """ORB keypoints of each photo and of its mirror image, computed on first use."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = paths
        self.orb = cv2.ORB_create(nfeatures=ORB_FEATURES)
        self.matcher = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True)
        self.cache: dict[tuple[int, bool], tuple] = {}
        self.sizes: dict[int, tuple[int, int]] = {}

    def is_copy(self, first: int, second: int) -> bool:
        """Whether a similarity transform maps `first` onto `second` or its mirror image, with enough inliers
        spread over enough of `first`."""
        for flip in (False, True):
            points = self._inlier_points(self._features(first, False), self._features(second, flip))
            if len(points) >= MIN_INLIERS and self._coverage(first, points) >= MIN_COVERAGE:
                return True
        return False

    def _coverage(self, index: int, points: np.ndarray) -> float:
        height, width = self.sizes[index]
        return cv2.contourArea(cv2.convexHull(points)) / float(height * width)

    def _features(self, index: int, flip: bool) -> tuple:
        if (index, flip) not in self.cache:
            grey = cv2.imread(str(self.paths[index]), cv2.IMREAD_GRAYSCALE)
            if grey is None:
                self.cache[(index, flip)] = ((), None)
            else:
                self.sizes[index] = grey.shape
                self.cache[(index, flip)] = self.orb.detectAndCompute(cv2.flip(grey, 1) if flip else grey, None)
        return self.cache[(index, flip)]

    def _inlier_points(self, first: tuple, second: tuple) -> np.ndarray:
        """(n, 2) points of the first photo that the RANSAC transform maps onto their matches in the second."""
        (points_a, descriptors_a), (points_b, descriptors_b) = first, second
        none = np.zeros((0, 2), dtype=np.float32)
        if descriptors_a is None or descriptors_b is None or min(len(descriptors_a), len(descriptors_b)) < 8:
            return none
        matches = self.matcher.match(descriptors_a, descriptors_b)
        if len(matches) < 8:
            return none
        source = np.float32([points_a[m.queryIdx].pt for m in matches])
        target = np.float32([points_b[m.trainIdx].pt for m in matches])
        _, inliers = cv2.estimateAffinePartial2D(source, target, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PIXELS)
        return none if inliers is None else source[inliers.ravel() == 1]
