"""Numeric bin edges frozen from reference quantiles, and the one way values are counted.

Why quantile bins: every drift statistic the monitor computes on a numeric column
(PSI, Jensen-Shannon, the chi-square gate) compares bin shares, and those
statistics are most sensitive, and least noisy, when the reference puts roughly
the same mass in every bin. Equal-width bins on a skewed column such as a
transaction amount would put almost all of the training data into the first bin
or two and leave the tail, where drift usually shows first, as a handful of
near-empty bins whose shares are pure noise. Quantile edges follow the data
instead, so each bin holds about 1/K of the reference.

The default is `DEFAULT_BINS = 20` bins: at 5% of the reference per bin a
five-minute window of a few thousand events still has tens of events per bin,
enough for a stable PSI, while a shift of a fraction of a standard deviation
still moves several bins at once.

Algorithm (`quantile_edges`, K = requested bins, n = reference values):

1. A column with at most K distinct values (an integer-valued age band, a
   count, a flag) gets one bin per distinct value: edges are the sorted distinct
   values plus `nextafter(max)`, so bin j is `[v_j, v_{j+1})` and holds exactly
   `v_j`. A constant column is the one-value case: edges `[v, nextafter(v)]`.
2. Otherwise the candidate edges are the reference quantiles at i/K for
   i = 0..K (numpy's default linear method), so e_0 = min and e_K = max.
3. A value that appears as two or more of those quantiles is a point mass (the
   zeros of a balance, the 85% of customers with no prior default). It is
   isolated in its own bin `[v, nextafter(v))`, so ties never spread across
   several bins that would then be empty.
4. Every interior bin with a zero reference count is merged into a neighbour by
   dropping one of its edges (never an edge that isolates a point mass unless both
   are), so the reference has no empty interior bin.

The result has strictly increasing edges, between 1 and about 3K/2 bins, and the
reference count of every interior bin is at least one.

Counting (`bin_indices`, `bin_counts`) has K + 2 slots: slot 0 underflow
(x < e_0), slot i + 1 for `[e_i, e_{i+1})`, the last interior bin closed at e_K
(x == e_K lands in slot K), and slot K + 1 overflow (x > e_K). The live window
code counts by the same rule, through the same `counting_edges`, in a faster
form (`monitor.windows.windowing.accumulate`); a property test holds it to `bin_counts`
value for value, so training and live counts cannot disagree about which bin a
value belongs to.

Everything here is pure numpy: no I/O, no clocks.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

DEFAULT_BINS = 20

Float64Array = npt.NDArray[np.float64]
Int64Array = npt.NDArray[np.int64]


def bin_indices(values: npt.ArrayLike, edges: Float64Array) -> Int64Array:
    """The count slot of every value: 0 underflow, 1..K the bins, K + 1 overflow.

    Vectorised with one `np.searchsorted` over `counting_edges(edges)`. `values`
    must not hold NaN (missing values are counted separately, never binned; NaN
    would land in the overflow slot); -inf is underflow and +inf overflow.
    """
    x = np.asarray(values, dtype=np.float64)
    slots = np.searchsorted(counting_edges(edges), x, side="right")
    return slots.astype(np.int64, copy=False)


def counting_edges(edges: Float64Array) -> Float64Array:
    """`edges` with the last one raised by one ulp, so that half-open bins count exactly.

    Slot j holds e_{j-1} <= x < e_j, except that x == e_K belongs to the closed
    last bin K. With e_K raised to the next float up (no float lies between the
    two) every slot is half-open: `np.searchsorted(side="right")` of a value
    gives its slot, and the number of values below each edge gives every
    slot's count, with no fix-up pass. Counting loops compute this once per
    column, not per batch.
    """
    out = np.array(edges, dtype=np.float64)
    out[-1] = np.nextafter(out[-1], np.inf)
    return out


def bin_counts(values: npt.ArrayLike, edges: Float64Array) -> Int64Array:
    """Counts per slot (`len(edges) + 1` of them), underflow and overflow included."""
    counts = np.bincount(bin_indices(values, edges), minlength=len(edges) + 1)
    return counts.astype(np.int64, copy=False)


def quantile_edges(values: npt.ArrayLike, bins: int = DEFAULT_BINS) -> Float64Array:
    """Bin edges for a reference sample (see the module docstring for the algorithm).

    `values` are the reference's present, finite values; at least one is needed.
    """
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    x = np.sort(np.asarray(values, dtype=np.float64).ravel())
    if x.size == 0:
        raise ValueError("cannot bin an empty reference: at least one value is needed")
    if not np.isfinite(x).all():
        raise ValueError("reference values must be finite: drop missing values and infinities")

    distinct = x[np.concatenate(([True], x[1:] != x[:-1]))]
    if distinct.size <= bins:
        # One bin per value: [v_j, v_{j+1}) holds exactly v_j, the last one is closed.
        return np.append(distinct, np.nextafter(distinct[-1], np.inf))

    candidates = np.quantile(x, np.linspace(0.0, 1.0, bins + 1))
    repeated = candidates[1:] == candidates[:-1]
    point_masses = np.unique(candidates[1:][repeated])
    mass_uppers = np.nextafter(point_masses, np.inf)
    edges = np.unique(np.concatenate((candidates, mass_uppers)))
    return _merge_empty_bins(x, edges, point_masses)


def _merge_empty_bins(
    x_sorted: Float64Array,
    edges: Float64Array,
    point_masses: Float64Array,
) -> Float64Array:
    """Drop edges until no interior bin is empty, keeping point masses isolated."""
    interior = bin_counts(x_sorted, edges)[1:-1].tolist()
    kept = edges.tolist()
    lower_edges = set(point_masses.tolist())
    i = 0
    # The first bin holds the minimum and the last one the maximum, so only
    # bins 1..K-2 can be empty and neither e_0 nor e_K is ever dropped.
    while i < len(interior):
        if interior[i] != 0:
            i += 1
            continue
        # Bin i is [kept[i], kept[i+1]). Dropping kept[i+1] merges it into the
        # next bin, dropping kept[i] into the previous one. kept[i+1] matters
        # only when it is the lower edge of a point-mass bin; kept[i] only when
        # it is the upper edge of one. If both matter, extending the previous
        # mass bin over the empty range still leaves the mass alone in its bin.
        if kept[i + 1] not in lower_edges:
            del kept[i + 1]
            interior[i] += interior.pop(i + 1)
        else:
            del kept[i]
            interior[i - 1] += interior.pop(i)
    result = np.asarray(kept, dtype=np.float64)
    if not bool(np.all(result[1:] > result[:-1])):  # pragma: no cover - invariant
        raise AssertionError("bin edges are not strictly increasing")
    return result
