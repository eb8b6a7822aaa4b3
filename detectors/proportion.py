"""One-sided test that a rate (missing, new category, out of range) rose above its baseline."""

from __future__ import annotations

import numbers

from driftwarden.detectors.errors import DetectorInputError
from driftwarden.detectors.result import TestResult


def excess_proportion(
    count: int, n: int, baseline_rate: float, *, n_reference: int = 0
) -> TestResult:
    """Is `count` out of `n` more than the baseline rate explains?

    Quality alerts fire on a share going up, never down (fewer missing values is
    not an incident), hence one-sided. statistic = count / n - baseline_rate, the
    absolute excess that quality thresholds are written in; the p-value is the
    exact binomial upper tail P(X >= count) for X ~ Binomial(n, baseline_rate),
    so it stays valid for the small counts typical of rare events.

    Approximation: the baseline rate is treated as known, ignoring its own
    sampling error; that is fine when the reference is much larger than the
    window and slightly anti-conservative otherwise. `n_reference` is only
    recorded in the result (0 when unknown).

    A zero baseline rate with any occurrence gives p-value 0.0 (impossible under
    the baseline). An empty window (n = 0) gives statistic 0.0 and p-value 1.0.
    """
    count = _whole(count, name="count")
    n = _whole(n, name="n")
    n_reference = _whole(n_reference, name="n_reference")
    if count > n:
        raise DetectorInputError(
            f"excess_proportion count {count} exceeds n {n}; count the events of one window"
        )
    if not (isinstance(baseline_rate, numbers.Real) and 0.0 <= baseline_rate <= 1.0):
        raise DetectorInputError(
            f"excess_proportion baseline_rate {baseline_rate!r} is not a share in [0, 1]"
        )
    rate = float(baseline_rate)
    if n == 0:
        return TestResult(0.0, 1.0, n_reference, 0)
    statistic = count / n - rate
    if count == 0:
        p_value = 1.0
    elif rate == 0.0:
        p_value = 0.0
    else:
        from scipy import special  # noqa: PLC0415 - at first use, see __init__

        # binom.sf(count - 1, n, rate) without the distribution object's overhead
        p_value = float(min(1.0, max(0.0, special.bdtrc(count - 1, n, rate))))
    return TestResult(statistic, p_value, n_reference, n)


def _whole(value: int, *, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise DetectorInputError(
            f"excess_proportion {name} {value!r} is not a non-negative integer count"
        )
    return int(value)
