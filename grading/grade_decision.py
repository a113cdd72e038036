"""Which grade a grade distribution decides: its ordinal median, everywhere (service, reports, export checks).

Grades are ordered, and a far miss costs more than a near one (a `fair` item listed as `like_new` is a
return; one listed as `good` is a small price error). The median of the distribution, the first grade whose
cumulative probability reaches half, is the decision with the least expected distance; it is also CORN's
own rule (count the thresholds the item passes with probability above one half). The most probable grade
(argmax) is not: a distribution split between `like_new` and several damaged grades decides `like_new`.
"""

from __future__ import annotations

import numpy as np


def median_grade(probabilities: np.ndarray) -> np.ndarray | int:
    """Rank of the ordinal median of each row of `probabilities` (..., grades); an int for a single row."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    cumulative = np.cumsum(probabilities, axis=-1)
    reached = cumulative >= 0.5 * cumulative[..., -1:]
    ranks = reached.argmax(axis=-1)
    return int(ranks) if ranks.ndim == 0 else ranks
