"""Population Stability Index and total variation: how far the shares moved.

PSI is the industry's habitual drift score, so thresholds written by model owners
(0.1 "watch", 0.25 "act") are in its units. Total variation is its plain-language
companion: the share of traffic that would have to move to turn one histogram
into the other.
"""

from __future__ import annotations

import numpy as np

from driftwarden.detectors.counts import Counts, as_count_pair
from driftwarden.detectors.errors import DetectorInputError
from driftwarden.detectors.result import TestResult

DEFAULT_FLOOR = 1e-4
"""Share given to empty bins: common practice (1e-4 to 1e-6), small next to shares that matter."""


def psi(reference: Counts, current: Counts, *, floor: float = DEFAULT_FLOOR) -> TestResult:
    """Population Stability Index over the baseline's frozen bins.

    PSI = sum_i (q_i - p_i) * ln(q_i / p_i) with p the reference shares and q the
    current shares: the symmetrised Kullback-Leibler divergence KL(q||p) + KL(p||q).

    Shares below `floor` are replaced by `floor` (without renormalising, as is
    standard) so that one empty bin cannot make PSI infinite. The price: a bin
    that is empty on one side contributes about `(q - floor) * ln(q / floor)`
    instead of infinity, so the statistic depends on `floor` when the two
    histograms have disjoint support; callers should record the floor they used.

    PSI is an effect size without a sampling distribution, so `p_value` is None;
    pair it with a significance test (chi-square, KS) before alerting. An empty
    reference or current vector gives statistic 0.0 so an idle window never
    crashes the caller.
    """
    if not (np.isfinite(floor) and 0 < floor < 1):
        raise DetectorInputError(
            f"psi floor {floor!r} is outside (0, 1); use a small share such as 1e-4"
        )
    ref, cur = as_count_pair(reference, current)
    n_ref, n_cur = ref.total, cur.total
    if n_ref == 0 or n_cur == 0:
        return TestResult(0.0, None, n_ref, n_cur)
    p = np.maximum(ref.shares, floor)
    q = np.maximum(cur.shares, floor)
    statistic = float(np.sum((q - p) * np.log(q / p)))
    return TestResult(statistic, None, n_ref, n_cur)


def total_variation(reference: Counts, current: Counts) -> float:
    """Total variation distance: half the L1 distance between the share vectors.

    It reads as "the share of traffic that moved" and lies in [0, 1]. An empty
    reference or current vector gives 0.0.
    """
    ref, cur = as_count_pair(reference, current)
    if ref.total == 0 or cur.total == 0:
        return 0.0
    return float(0.5 * np.sum(np.abs(ref.shares - cur.shares)))
