"""L-infinity distance between category shares: the single category that moved most."""

from __future__ import annotations

import numpy as np

from driftwarden.detectors.counts import Counts, as_count_pair
from driftwarden.detectors.result import TestResult


def linf(reference: Counts, current: Counts) -> TestResult:
    """Largest absolute difference between the two share vectors, in [0, 1].

    It reads directly in alerts ("one category moved by 12 points") and does not
    dilute one large move across many stable categories the way PSI or JS do.

    An effect size: `p_value` is None. An empty reference or current vector gives
    statistic 0.0.
    """
    ref, cur = as_count_pair(reference, current)
    n_ref, n_cur = ref.total, cur.total
    if n_ref == 0 or n_cur == 0:
        return TestResult(0.0, None, n_ref, n_cur)
    statistic = float(np.max(np.abs(ref.shares - cur.shares)))
    return TestResult(statistic, None, n_ref, n_cur)
