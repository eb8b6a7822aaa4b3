"""Jensen-Shannon distance between two histograms over the same bins."""

from __future__ import annotations

import numpy as np

from driftwarden.detectors.counts import Counts, as_count_pair
from driftwarden.detectors.result import TestResult


def jensen_shannon(reference: Counts, current: Counts) -> TestResult:
    """Jensen-Shannon distance (base 2): sqrt of the JS divergence, in [0, 1].

    Unlike PSI it is bounded and finite when a bin is empty on one side (each
    distribution is compared with the mixture m = (p + q) / 2, which is positive
    wherever either is), so it needs no floor; and the square root makes it a
    metric, so thresholds behave the same in both directions. 1 means disjoint
    support.

    An effect size: `p_value` is None. An empty reference or current vector gives
    statistic 0.0.
    """
    ref, cur = as_count_pair(reference, current)
    n_ref, n_cur = ref.total, cur.total
    if n_ref == 0 or n_cur == 0:
        return TestResult(0.0, None, n_ref, n_cur)
    p, q = ref.shares, cur.shares
    m = 0.5 * (p + q)
    from scipy import special  # noqa: PLC0415 - at first use, see __init__

    # rel_entr(x, y) = x * ln(x / y) with 0 * ln(0 / y) = 0, which is the convention we need.
    divergence = 0.5 * float(np.sum(special.rel_entr(p, m) + special.rel_entr(q, m))) / np.log(2)
    # Rounding can leave a tiny negative divergence for near-identical inputs.
    statistic = float(np.sqrt(np.clip(divergence, 0.0, 1.0)))
    return TestResult(statistic, None, n_ref, n_cur)
