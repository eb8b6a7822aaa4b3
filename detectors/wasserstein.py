"""Wasserstein-1 (earth mover's) distance between two histograms on frozen numeric bins."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from driftwarden.detectors.counts import Counts, FloatArray, as_count_pair
from driftwarden.detectors.errors import DetectorInputError
from driftwarden.detectors.result import TestResult


def wasserstein_binned(
    reference: Counts,
    current: Counts,
    edges: npt.ArrayLike,
    *,
    scale: float,
    underflow_at: float | None = None,
    overflow_at: float | None = None,
) -> TestResult:
    """Wasserstein-1 distance between binned distributions, in units of `scale`.

    It answers "how far did the values move", in the column's own units, which
    PSI and KS (blind to how far apart the bins are) cannot. Dividing by the
    baseline's standard deviation makes one threshold fit every column.

    Layout: `edges` are the K+1 interior edges e_0 < ... < e_K; counts have K+2
    slots (underflow, K interior bins, overflow).

    Approximations:

    - mass inside an interior bin is spread uniformly over the bin, so each CDF is
      piecewise linear and the integral of |F_ref - F_cur| is computed exactly for
      those CDFs. Any arrangement of samples inside a bin of width w is within
      W1 = w/2 of the uniform spread (the worst case is all mass on one edge),
      so against the raw samples the error is at most
      sum_i (p_i + q_i) * w_i / 2, by the triangle inequality; fine bins make it
      small;
    - underflow mass sits at one point `underflow_at` (default e_0) and overflow
      mass at `overflow_at` (default e_K). With the defaults a shift beyond the
      training range is under-measured; callers that know where the out-of-range
      values are (e.g. their mean) should pass it.

    `scale` <= 0 (a constant training column has std 0) falls back to 1, i.e. the
    distance in raw units: dividing by zero would turn any movement into infinity.

    An effect size: `p_value` is None. An empty reference or current vector gives
    statistic 0.0.
    """
    ref, cur = as_count_pair(reference, current)
    bounds = _as_edges(edges, n_slots=ref.counts.size)
    low, high = _tail_points(bounds, underflow_at, overflow_at)
    if not np.isfinite(scale):
        raise DetectorInputError(
            f"wasserstein_binned scale {scale!r} is not finite; pass the baseline's std"
        )
    divisor = scale if scale > 0 else 1.0
    n_ref, n_cur = ref.total, cur.total
    if n_ref == 0 or n_cur == 0:
        return TestResult(0.0, None, n_ref, n_cur)
    # F_ref - F_cur at each interior edge: underflow plus the interior bins to its left.
    gap = np.cumsum(ref.shares - cur.shares)[:-1]
    left, right = gap[:-1], gap[1:]
    interior = float(np.sum(_abs_linear_integral(left, right, np.diff(bounds))))
    # Outside [e_0, e_K] both CDFs are flat: underflow share, then 1 - overflow share.
    tails = abs(gap[0]) * (bounds[0] - low) + abs(gap[-1]) * (high - bounds[-1])
    return TestResult((interior + tails) / divisor, None, n_ref, n_cur)


def _abs_linear_integral(left: FloatArray, right: FloatArray, width: FloatArray) -> FloatArray:
    """Integral of |d| over segments where d is linear from `left` to `right`."""
    same_sign = left * right >= 0
    magnitude = np.abs(left) + np.abs(right)
    # When the sign flips, d crosses zero inside the segment: two triangles.
    safe = np.where(magnitude > 0, magnitude, 1.0)
    crossing = (left**2 + right**2) / (2.0 * safe)
    return width * np.where(same_sign, 0.5 * magnitude, crossing)


def _as_edges(edges: npt.ArrayLike, *, n_slots: int) -> FloatArray:
    array = np.asarray(edges)
    if array.dtype.kind not in "iuf" or array.ndim != 1:
        raise DetectorInputError(
            "wasserstein_binned edges must be a one-dimensional numeric vector "
            "e_0 < ... < e_K from the baseline"
        )
    bounds = array.astype(np.float64)
    if bounds.size != n_slots - 1:
        raise DetectorInputError(
            f"wasserstein_binned got {bounds.size} edges for {n_slots} count slots; "
            "K+1 edges go with K+2 slots (underflow, K bins, overflow)"
        )
    if bounds.size < 2:
        raise DetectorInputError(
            "wasserstein_binned needs at least two edges (one interior bin); "
            "constant training columns have no bins to compare"
        )
    if not np.all(np.isfinite(bounds)) or np.any(np.diff(bounds) <= 0):
        raise DetectorInputError(
            "wasserstein_binned edges must be finite and strictly increasing; "
            "rebuild the baseline's bins"
        )
    return bounds


def _tail_points(
    bounds: FloatArray, underflow_at: float | None, overflow_at: float | None
) -> tuple[float, float]:
    """Where underflow and overflow mass sit: outside the training range, or on its ends."""
    low = _point(underflow_at, default=float(bounds[0]), name="underflow_at")
    high = _point(overflow_at, default=float(bounds[-1]), name="overflow_at")
    if low > bounds[0] or high < bounds[-1]:
        raise DetectorInputError(
            f"wasserstein_binned needs underflow_at <= e_0 ({bounds[0]:g}) and "
            f"overflow_at >= e_K ({bounds[-1]:g}), got {low:g} and {high:g}; "
            "place out-of-range mass outside the training range"
        )
    return low, high


def _point(value: float | None, *, default: float, name: str) -> float:
    if value is None:
        return default
    if not np.isfinite(value):
        raise DetectorInputError(f"wasserstein_binned {name} {value!r} is not finite")
    return float(value)
