"""A new bundle: a shipped one with the wear head (`training.wear_head`) fitted on audited photos and appended.

The head is fitted on the audited shoe photos of the train and validation splits together; the thresholds on
their out-of-fold probabilities (five folds by item group, so copies of one photo never score each other): at
most `budgets` of the clean photos reach `wear_presence` / `wear_confident`. One validation split alone holds too
few clean shoes for a 1% level (3 photos of 360 decide it). The test split stays for `secondlook model evaluate`.
Every output the source had is checked to come out of the new graph unchanged, and `wear_prob` to equal the
fitted regression on the pools, before the bundle is written.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import onnx

from grading.bundle import MODEL_FILE, read_metadata, write_metadata
from grading.inference import load_model
from grading.network_outputs import OUTPUT_NAMES
from grading.vocabulary import Split
from training.audit import AuditEntry
from training.bundle_copy import copy_bundle_files
from training.wear_head import (
    POOLED_OUTPUT,
    WEAR_OUTPUT,
    AuditedPools,
    WearHeadError,
    audited_pools,
    fit_wear_probe,
    wear_thresholds,
    with_pooled_features,
    with_wear_head,
)

DEFAULT_BUDGETS = (0.03, 0.01)  # clean shoes reaching wear_presence / wear_confident, as for the defect heads
PARITY_TOLERANCE = 1e-5


FOLDS = 5


@dataclass(frozen=True)
class WearFit:
    photos: int  # audited shoe photos of the train and validation splits
    worn: int
    out_of_fold_auroc: float
    presence: float
    confident: float
    found_at_presence: float  # share of worn photos whose out-of-fold probability reaches wear_presence
    found_at_confident: float


def auroc(scores: np.ndarray, positive: np.ndarray) -> float:
    """Probability that a random positive outranks a random negative (ties count half)."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    sorted_scores = scores[order]
    _, first, counts = np.unique(sorted_scores, return_index=True, return_counts=True)
    ranks[order] = np.repeat(first + (counts + 1) / 2.0, counts)
    positives, negatives = int(positive.sum()), int((~positive).sum())
    return float((ranks[positive].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def add_wear_head(
    source: Path,
    out: Path,
    version: str,
    manifests: Sequence[Path],
    audits: dict[str, AuditEntry],
    budgets: tuple[float, float] = DEFAULT_BUDGETS,
) -> WearFit:
    """Write `out`: `source` with `wear_prob` appended and its thresholds, a new version and the fit recorded."""
    metadata = read_metadata(source)
    if WEAR_OUTPUT in metadata.outputs:
        raise WearHeadError(f"{source} already has a wear head; start from a bundle without one")
    pooled = with_pooled_features(onnx.load(str(source / MODEL_FILE)))
    preprocessing = metadata.input.preprocessing()
    pools = joined(
        *(audited_pools(pooled, preprocessing, manifests, s, audits) for s in (Split.TRAIN, Split.VALIDATION))
    )
    fit = _measure(pools, out_of_fold(pools), budgets)
    probe = fit_wear_probe(pools.features, pools.worn)
    copy_bundle_files(source, out, leave_out=(MODEL_FILE,))
    onnx.save(with_wear_head(pooled, probe), str(out / MODEL_FILE))
    note = {
        "from": f"{metadata.name} {metadata.version}",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "features": "GeM (p=3) pools of the frozen stride-16 and stride-32 maps, standardised",
        "budgets": list(budgets),
        **{name: round(value, 4) if isinstance(value, float) else value for name, value in vars(fit).items()},
    }
    write_metadata(
        out,
        metadata.model_copy(
            update={
                "version": version,
                "outputs": [*metadata.outputs, WEAR_OUTPUT],
                "thresholds": metadata.thresholds.model_copy(
                    update={"wear_presence": fit.presence, "wear_confident": fit.confident}
                ),
                "training_config": {**metadata.training_config, "wear_head": note},
                "history": [],
            }
        ),
    )
    check_wear_parity(source, out, pooled, probe)
    return fit


def joined(*parts: AuditedPools) -> AuditedPools:
    return AuditedPools(*(np.concatenate(arrays) for arrays in zip(*(vars(p).values() for p in parts), strict=True)))


def out_of_fold(pools: AuditedPools, folds: int = FOLDS) -> np.ndarray:
    """Each photo's probability from a probe fitted on the other folds; folds are drawn by group."""
    names, group_index = np.unique(pools.groups, return_inverse=True)
    fold = np.random.default_rng(0).integers(0, folds, len(names))[group_index]
    probabilities = np.zeros(len(pools.worn))
    for k in range(folds):
        held = fold == k
        probe = fit_wear_probe(pools.features[~held], pools.worn[~held])
        probabilities[held] = probe.probability(pools.features[held])
    return probabilities


def _measure(pools: AuditedPools, probabilities: np.ndarray, budgets) -> WearFit:
    presence, confident = wear_thresholds(probabilities, pools.worn, budgets)
    worn = probabilities[pools.worn]
    return WearFit(
        photos=len(pools.worn),
        worn=int(pools.worn.sum()),
        out_of_fold_auroc=auroc(probabilities, pools.worn),
        presence=presence,
        confident=confident,
        found_at_presence=float((worn >= presence).mean()),
        found_at_confident=float((worn >= confident).mean()),
    )


def check_wear_parity(source: Path, out: Path, pooled: onnx.ModelProto, probe) -> None:
    """Raise (and remove `out`) unless every output of `source` is unchanged in `out` and `wear_prob` is the
    probe on the pools, on random photos."""
    import onnxruntime as ort

    from grading.inference import session_options
    from grading.network_outputs import INPUT_NAME

    photos = np.random.default_rng(0).integers(0, 256, (4, 224, 224, 3), dtype=np.uint8)
    before, after = load_model(source).run(photos), load_model(out).run(photos)
    pools = ort.InferenceSession(pooled.SerializeToString(), session_options(), providers=["CPUExecutionProvider"])
    expected = probe.probability(pools.run([POOLED_OUTPUT], {INPUT_NAME: photos})[0].astype(np.float64))
    changed = [name for name in OUTPUT_NAMES if not np.array_equal(getattr(before, name), getattr(after, name))]
    wear_error = float(np.abs(after.wear_prob - expected).max())
    if changed or wear_error > PARITY_TOLERANCE:
        shutil.rmtree(out)
        raise WearHeadError(f"the new graph changed {changed} or wear_prob is off by {wear_error}; nothing written")
