"""Authenticity verdicts: enrolled authentic references of a product line plus the supervised counterfeit score.

The verdict is never a bare "fake": the strongest machine statement is `suspected_counterfeit`, which a person
confirms. Signals:

- reference similarity: the item's best cosine similarity between any of its photos' embeddings and any
  enrolled authentic reference of its product line (embeddings are L2-normalised, so cosine = dot product);
  the nearest references (`NEAREST_SHOWN`, each with its best similarity over the item's photos) are kept with
  the verdict, so a reviewer sees them side by side with the item;
- supervised score: the item's counterfeit probability, `item_counterfeit_probability` of its photos' (the
  mean: one merge rule for the service, calibration and evaluation), against the bundle's `counterfeit_above`
  and `authentic_below` (bundles 0.1.0 to 0.3.0 set 1.0 and 0.0: their head was trained without counterfeits
  and never decides).

The rule, in order:
1. the product line is the one the item declares, else the bundle's nearest product-line prototype
   (`nearest_product_line`, cosine of the item's mean embedding);
2. the supervised score counts only for lines the bundle's head was trained on (`Labels.product_lines`; bundles
   that list none apply it to every line): for any other line the head has never seen a genuine pair or a copy;
3. suspected when a counted score is above `counterfeit_above` or the similarity is below the policy's
   `suspect_similarity_below`; authentic when nothing is suspicious and the similarity reaches
   `authentic_similarity_at_least` or a counted score is below `authentic_below` (a similarity between the two
   policy thresholds is no evidence either way, so it leaves the head's calibrated verdict standing: with 0.4.0 on
   sneakers-auth test, letting it block the head sent 89% of items to review instead of 67-70%); inconclusive (a
   person decides) otherwise. Every verdict carries its reason in words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple

import numpy as np

from grading.policy import AuthenticityPolicy

NEAREST_SHOWN = 6  # references kept with a verdict, nearest first, for the reviewer to compare side by side


class AuthenticityVerdict(StrEnum):
    AUTHENTIC = "authentic"
    INCONCLUSIVE = "inconclusive"
    SUSPECTED_COUNTERFEIT = "suspected_counterfeit"
    NOT_CHECKED = "not_checked"


def l2_normalise(embeddings: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    rows = np.atleast_2d(np.asarray(embeddings, dtype=np.float32))
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms == 0, 1.0, norms)


class ReferenceMatch(NamedTuple):
    """An enrolled reference and its cosine similarity to an item: the best over the item's photos."""

    reference_id: str
    similarity: float


class ReferenceGallery:
    """Enrolled embeddings of authentic items, by product line; rows are stored L2-normalised.

    Each row has an id the caller chooses (the service passes its reference photo ids); by default a row's id
    is its position in the line's enrolment order ("0", "1", ...). `save` keeps the embeddings only, so a
    loaded gallery has the default ids.
    """

    def __init__(
        self, references: dict[str, np.ndarray] | None = None, ids: dict[str, Sequence[str]] | None = None
    ) -> None:
        self._references: dict[str, np.ndarray] = {}
        self._ids: dict[str, list[str]] = {}
        for product_line, embeddings in (references or {}).items():
            self.enroll(product_line, embeddings, (ids or {}).get(product_line))

    def enroll(self, product_line: str, embeddings: np.ndarray, ids: Sequence[str] | None = None) -> None:
        """Add (n, d) or (d,) embeddings of authentic photos of `product_line`, with one id per row if given."""
        rows = l2_normalise(embeddings)
        known = self._references.get(product_line)
        if known is not None and known.shape[1] != rows.shape[1]:
            raise ValueError(f"{product_line}: references have {known.shape[1]} dimensions, got {rows.shape[1]}")
        start = 0 if known is None else len(known)
        ids = [str(index) for index in range(start, start + len(rows))] if ids is None else list(ids)
        if len(ids) != len(rows):
            raise ValueError(f"{product_line}: {len(ids)} ids for {len(rows)} embeddings; give one id per row")
        self._references[product_line] = rows if known is None else np.concatenate([known, rows])
        self._ids[product_line] = self._ids.get(product_line, []) + ids

    def count(self, product_line: str | None) -> int:
        rows = self._references.get(product_line or "")
        return 0 if rows is None else len(rows)

    def product_lines(self) -> list[str]:
        return sorted(self._references)

    def similarity(self, product_line: str, embeddings: np.ndarray) -> float | None:
        """Best cosine similarity between any of the (k, d) embeddings and any reference; None without references."""
        scores = self._scores(product_line, embeddings)
        return None if scores is None else float(scores.max())

    def nearest(self, product_line: str, embeddings: np.ndarray, k: int = NEAREST_SHOWN) -> list[ReferenceMatch]:
        """The `k` references most similar to any of the item's (photos, d) embeddings, nearest first (ties in
        enrolment order); all of them when there are fewer, none without references."""
        if k < 1:
            raise ValueError(f"k is the number of nearest references to return; it must be at least 1, got {k}")
        scores = self._scores(product_line, embeddings)
        if scores is None:
            return []
        ids = self._ids[product_line]
        return [ReferenceMatch(ids[row], float(scores[row])) for row in np.argsort(-scores, kind="stable")[:k]]

    def _scores(self, product_line: str, embeddings: np.ndarray) -> np.ndarray | None:
        """Per reference, its best cosine similarity over the item's (photos, d) embeddings; None without any."""
        rows = self._references.get(product_line)
        if rows is None:
            return None
        queries = l2_normalise(embeddings)
        if queries.shape[1] != rows.shape[1]:
            raise ValueError(
                f"{product_line}: the references have {rows.shape[1]}-dimensional embeddings but the photos "
                f"{queries.shape[1]}-dimensional ones: the references were enrolled with another model bundle; "
                "re-enroll this product line's references with the active bundle"
            )
        return (queries @ rows.T).max(axis=0)

    def save(self, path: Path) -> None:
        np.savez(path, **self._references)

    @classmethod
    def load(cls, path: Path) -> ReferenceGallery:
        with np.load(path, allow_pickle=False) as data:
            return cls({name: data[name] for name in data.files})


def item_counterfeit_probability(photo_probabilities: np.ndarray) -> float:
    """One item's counterfeit probability from its photos': their mean.

    The mean, not the maximum: with the maximum every extra photo can only raise the score, so a genuine pair
    photographed from six angles would be flagged more often than the same pair from one (a per-photo false
    alarm rate of 5% becomes about 26% over six photos), and the band fitted on single photos would not hold.
    """
    return float(np.mean(np.asarray(photo_probabilities, dtype=np.float64)))


def nearest_product_line(embeddings: np.ndarray, prototypes: dict[str, list[float]]) -> tuple[str | None, float]:
    """The prototype closest (cosine) to the mean of the photos' embeddings, and that similarity."""
    if not prototypes:
        return None, 0.0
    names = sorted(prototypes)
    centre = l2_normalise(np.mean(l2_normalise(embeddings), axis=0))
    similarity = (l2_normalise(np.array([prototypes[name] for name in names])) @ centre.T).ravel()
    return names[int(similarity.argmax())], float(similarity.max())


@dataclass(frozen=True)
class ModelBand:
    """What the bundle says about authenticity: its band, the lines its head knows and their prototypes."""

    counterfeit_above: float
    authentic_below: float
    trained_lines: tuple[str, ...] = ()
    prototypes: dict[str, list[float]] | None = None

    def head_knows(self, product_line: str | None) -> bool:
        return not self.trained_lines or product_line in self.trained_lines


@dataclass(frozen=True)
class AuthenticityAssessment:
    verdict: AuthenticityVerdict
    counterfeit_probability: float
    reference_similarity: float | None
    references: int
    product_line: str | None = None
    product_line_source: str = "none"  # declared | model | none
    reason: str = ""
    nearest_references: tuple[ReferenceMatch, ...] = ()  # nearest first; the first one's similarity is the best


def assess(
    embeddings: np.ndarray,
    counterfeit_probs: np.ndarray,
    product_line: str | None,
    requested: bool,
    gallery: ReferenceGallery | None,
    counterfeit_above: float,
    authentic_below: float,
    policy: AuthenticityPolicy,
    band: ModelBand | None = None,
) -> AuthenticityAssessment:
    """Verdict for one item from its photos' (k, d) embeddings and (k,) counterfeit probabilities.

    `requested` is whether the item or its program asks for authentication; without that and without
    references for the product line the item is `not_checked`. `band` adds the bundle's trained lines and
    prototypes (the thresholds passed separately are used either way).
    """
    band = band or ModelBand(counterfeit_above, authentic_below)
    line, source = product_line, "declared" if product_line else "none"
    if line is None and band.prototypes:
        line, source = nearest_product_line(embeddings, band.prototypes)[0], "model"
    references = gallery.count(line) if gallery is not None else 0
    probability = item_counterfeit_probability(counterfeit_probs)
    nearest = tuple(gallery.nearest(line, embeddings)) if gallery is not None and references else ()
    similarity = nearest[0].similarity if nearest else None
    if not requested and references == 0:
        return AuthenticityAssessment(
            AuthenticityVerdict.NOT_CHECKED, probability, None, 0, line, source, "authentication was not asked for"
        )
    counted = probability if band.head_knows(line) else None
    verdict, reason = _verdict(counted, similarity, band, policy)
    if counted is None:
        reason = f"the model was not trained on product line {line or '(unknown)'}; " + reason
    return AuthenticityAssessment(verdict, probability, similarity, references, line, source, reason, nearest)


def _verdict(
    probability: float | None, similarity: float | None, band: ModelBand, policy: AuthenticityPolicy
) -> tuple[AuthenticityVerdict, str]:
    if probability is not None and probability > band.counterfeit_above:
        return AuthenticityVerdict.SUSPECTED_COUNTERFEIT, (
            f"counterfeit probability {probability:.2f} is above {band.counterfeit_above:.2f}"
        )
    suspect_below, authentic_from = policy.suspect_similarity_below, policy.authentic_similarity_at_least
    if similarity is not None and suspect_below is not None and similarity < suspect_below:
        return AuthenticityVerdict.SUSPECTED_COUNTERFEIT, (
            f"similarity to the authentic references {similarity:.2f} is below {suspect_below:.2f}"
        )
    if similarity is not None and authentic_from is not None and similarity >= authentic_from:
        return AuthenticityVerdict.AUTHENTIC, (
            f"similarity to the authentic references {similarity:.2f} reaches {authentic_from:.2f}"
        )
    if probability is not None and probability < band.authentic_below:
        return AuthenticityVerdict.AUTHENTIC, (
            f"counterfeit probability {probability:.2f} is below {band.authentic_below:.2f}"
        )
    if probability is None and similarity is None:
        return AuthenticityVerdict.INCONCLUSIVE, "no enrolled references for it either: a person decides"
    shown = f"counterfeit probability {probability:.2f}" if probability is not None else f"similarity {similarity:.2f}"
    return AuthenticityVerdict.INCONCLUSIVE, f"{shown} is in the band where the model is not sure: a person decides"
