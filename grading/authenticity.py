"""Authenticity verdicts: enrolled authentic references of a product line plus the supervised counterfeit score.

The verdict is never a bare "fake": the strongest machine statement is `suspected_counterfeit`, which a person
confirms. Signals:

- reference similarity: the item's best cosine similarity between any of its photos' embeddings and any
  enrolled authentic reference of its product line (embeddings are L2-normalised, so cosine = dot product);
- supervised score: the item's counterfeit probability, `item_counterfeit_probability` of its photos' (the
  mean: one merge rule for the service, calibration and evaluation), against the bundle's `counterfeit_above`
  and `authentic_below` (bundles 0.1.0 to 0.3.0 set 1.0 and 0.0: their head was trained without counterfeits
  and never decides).

Suspected when either signal is suspicious; authentic when the similarity reaches the policy's threshold (or, with
no references, the supervised score is clearly low) and nothing is suspicious; inconclusive otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np

from grading.policy import AuthenticityPolicy


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


class ReferenceGallery:
    """Enrolled embeddings of authentic items, by product line; rows are stored L2-normalised."""

    def __init__(self, references: dict[str, np.ndarray] | None = None) -> None:
        self._references: dict[str, np.ndarray] = {}
        for product_line, embeddings in (references or {}).items():
            self.enroll(product_line, embeddings)

    def enroll(self, product_line: str, embeddings: np.ndarray) -> None:
        """Add (n, d) or (d,) embeddings of authentic photos of `product_line`."""
        rows = l2_normalise(embeddings)
        known = self._references.get(product_line)
        if known is not None and known.shape[1] != rows.shape[1]:
            raise ValueError(f"{product_line}: references have {known.shape[1]} dimensions, got {rows.shape[1]}")
        self._references[product_line] = rows if known is None else np.concatenate([known, rows])

    def count(self, product_line: str | None) -> int:
        rows = self._references.get(product_line or "")
        return 0 if rows is None else len(rows)

    def product_lines(self) -> list[str]:
        return sorted(self._references)

    def similarity(self, product_line: str, embeddings: np.ndarray) -> float | None:
        """Best cosine similarity between any of the (k, d) embeddings and any reference; None without references."""
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
        return float((queries @ rows.T).max())

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


@dataclass(frozen=True)
class AuthenticityAssessment:
    verdict: AuthenticityVerdict
    counterfeit_probability: float
    reference_similarity: float | None
    references: int


def assess(
    embeddings: np.ndarray,
    counterfeit_probs: np.ndarray,
    product_line: str | None,
    requested: bool,
    gallery: ReferenceGallery | None,
    counterfeit_above: float,
    authentic_below: float,
    policy: AuthenticityPolicy,
) -> AuthenticityAssessment:
    """Verdict for one item from its photos' (k, d) embeddings and (k,) counterfeit probabilities.

    `requested` is whether the item or its program asks for authentication; without that and without
    references for the product line the item is `not_checked`.
    """
    references = gallery.count(product_line) if gallery is not None else 0
    probability = item_counterfeit_probability(counterfeit_probs)
    similarity = gallery.similarity(product_line, embeddings) if gallery is not None and references else None
    if not requested and references == 0:
        return AuthenticityAssessment(AuthenticityVerdict.NOT_CHECKED, probability, None, 0)
    verdict = _verdict(probability, similarity, counterfeit_above, authentic_below, policy)
    return AuthenticityAssessment(verdict, probability, similarity, references)


def _verdict(
    probability: float,
    similarity: float | None,
    counterfeit_above: float,
    authentic_below: float,
    policy: AuthenticityPolicy,
) -> AuthenticityVerdict:
    suspicious = probability > counterfeit_above or (
        similarity is not None and similarity < policy.suspect_similarity_below
    )
    if suspicious:
        return AuthenticityVerdict.SUSPECTED_COUNTERFEIT
    if similarity is not None and similarity >= policy.authentic_similarity_at_least:
        return AuthenticityVerdict.AUTHENTIC
    if similarity is None and probability < authentic_below:
        return AuthenticityVerdict.AUTHENTIC
    return AuthenticityVerdict.INCONCLUSIVE
