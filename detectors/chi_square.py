"""Chi-square test of homogeneity between a reference and a current histogram.

This is the significance gate for categorical columns (and usable for numeric
bins): are the two count vectors plausibly draws from one distribution?
"""

from __future__ import annotations

import numpy as np

from driftwarden.detectors.counts import Counts, FloatArray, as_count_pair
from driftwarden.detectors.errors import DetectorInputError
from driftwarden.detectors.result import TestResult

DEFAULT_MIN_EXPECTED = 5.0
"""Cochran's rule of thumb: the chi-square approximation needs expected counts of about 5."""


def chi_square(
    reference: Counts, current: Counts, *, min_expected: float = DEFAULT_MIN_EXPECTED
) -> TestResult:
    """Pearson chi-square homogeneity test on the 2 x K table (reference row, current row).

    The chi-square distribution only approximates the statistic when expected
    counts are not tiny, and long-tailed categories (and the `new` slot, which is 0
    in every reference) produce many sparse cells. So, in one pass:

    1. a cell (column) is sparse when its expected count under homogeneity is below
       `min_expected` in either row;
    2. all sparse cells are pooled into one cell;
    3. the pooled cell is dropped if it is still sparse;
    4. the statistic is computed on the remaining table, with expected counts
       recomputed from its own margins (so it equals
       `scipy.stats.chi2_contingency(table, correction=False)` on that table), and
       dof = cells - 1.

    Approximation: dropping the pooled cell changes the margins slightly, so an
    expected count may end marginally below `min_expected` after step 4; this
    is a single pass, not a search for the optimal grouping. No Yates correction.

    Degenerate cases return statistic 0.0 and p-value 1.0 so callers never crash
    on an empty window: an empty reference or current vector, or fewer than two
    cells left after pooling (no comparison is possible).
    """
    if not (np.isfinite(min_expected) and min_expected >= 0):
        raise DetectorInputError(
            f"chi_square min_expected {min_expected!r} must be a finite number >= 0, e.g. 5"
        )
    ref, cur = as_count_pair(reference, current)
    n_ref, n_cur = ref.total, cur.total
    if n_ref == 0 or n_cur == 0:
        return TestResult(0.0, 1.0, n_ref, n_cur)
    table = _pool_sparse(np.vstack([ref.counts, cur.counts]), min_expected)
    cells = table.shape[1]
    if cells < 2 or np.any(table.sum(axis=1) == 0):
        return TestResult(0.0, 1.0, n_ref, n_cur)
    expected = _expected(table)
    statistic = float(np.sum((table - expected) ** 2 / expected))
    from scipy import special  # noqa: PLC0415 - at first use, see __init__

    p_value = float(special.chdtrc(cells - 1, statistic))  # chi2.sf without rv overhead
    return TestResult(statistic, p_value, n_ref, n_cur)


def _expected(table: FloatArray) -> FloatArray:
    """Expected counts under homogeneity: row total times column share."""
    expected: FloatArray = np.outer(table.sum(axis=1), table.sum(axis=0)) / float(table.sum())
    return expected


def _pool_sparse(table: FloatArray, min_expected: float) -> FloatArray:
    """Merge sparse columns into one pooled column; drop it if it is still sparse."""
    # Slots empty in both rows carry no information and would divide 0 by 0.
    table = table[:, table.sum(axis=0) > 0]
    sparse = np.any(_expected(table) < min_expected, axis=0)
    if not np.any(sparse):
        return table
    kept = table[:, ~sparse]
    pooled = table[:, sparse].sum(axis=1, keepdims=True)
    n_rows = table.sum(axis=1, keepdims=True)
    pooled_expected = n_rows * pooled.sum() / table.sum()
    if np.any(pooled_expected < min_expected):
        return kept
    return np.hstack([kept, pooled])
