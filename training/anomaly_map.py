"""The anomaly map: the memory bank's patch distances mixed with the defect head's any-defect probability.

On the project's phone photos the memory bank alone is at chance (composited clothing defects vs clean
photos of the same categories: image AUROC 0.50, pixel AUROC 0.53 inside damaged photos, with 64 or all
152 feature dimensions, and with a bank built from clean photos only): print, folds and background vary
far more between good garments than a small defect changes a patch. The defect decoder, trained on
composited and labelled defects (the DRAEM idea: learn what "not normal" looks like from synthetic
damage), separates them at 0.77. So the map a user reads is

    (1 - bank_weight) * P(any defect) + bank_weight * bank distance / bank scale of the category

where the bank scale is the distance clean validation photos of the category reach at the configured
percentile, so the bank term reads like a probability, and the bank still contributes where something
unlike every good patch appears that the decoder was never taught.
"""

from __future__ import annotations

import torch


def mixed_anomaly_map(
    defect_probs: torch.Tensor, bank_distance: torch.Tensor, bank_scale: torch.Tensor, bank_weight: float
) -> torch.Tensor:
    """(N, H, W) from calibrated defect probabilities (N, 1 + types, H, W) and bank distances (N, H, W).

    `bank_scale` is (N,): the scale of each photo's (predicted) category.
    """
    any_defect = 1.0 - defect_probs[:, 0]
    return (1.0 - bank_weight) * any_defect + bank_weight * bank_distance / bank_scale[:, None, None]
