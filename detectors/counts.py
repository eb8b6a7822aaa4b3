"""Count vectors: the one input shape every histogram detector accepts.

A baseline freezes bins (numeric columns) or categories (categorical columns); a
live window fills the same slots. Detectors compare the two vectors slot by slot,
so the only promises they need are checked here, once, with messages that say
which vector is wrong and how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from driftwarden.detectors.errors import DetectorInputError

FloatArray: TypeAlias = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True, eq=False)
class Histogram:
    """A count vector validated once, with its total and shares worked out.

    Every detector takes one wherever it takes counts, and then checks and sums
    nothing again: a caller comparing the same vectors with several statistics
    (the evaluator: each baseline column for every window, each window column
    for every statistic) builds each once with `Histogram.of`.
    """

    counts: FloatArray
    total: int
    shares: FloatArray

    @classmethod
    def of(cls, values: Counts, *, name: str = "current") -> Histogram:
        """`values` validated (see `as_counts`); a Histogram is returned as it is."""
        if isinstance(values, Histogram):
            return values
        counts = as_counts(values, name=name)
        return cls(counts, total(counts), shares(counts))


Counts: TypeAlias = npt.ArrayLike | Histogram
"""Non-negative whole numbers, one per bin or category, in the baseline's order."""

_NUMERIC_KINDS = frozenset("iuf")


def as_counts(values: npt.ArrayLike, *, name: str) -> FloatArray:
    """Validate one count vector and return it as float64.

    Counts arrive as Python lists, integer arrays or float arrays (after a merge
    or a round trip through JSON); they are accepted as long as every entry is a
    finite, non-negative whole number. float64 represents every count below 2**53
    exactly, far beyond any window.
    """
    array = np.asarray(values)
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise DetectorInputError(
            f"{name} counts have dtype {array.dtype}; pass integer counts, one per bin"
        )
    if array.ndim != 1:
        raise DetectorInputError(
            f"{name} counts have shape {array.shape}; pass a one-dimensional vector, "
            "one count per bin"
        )
    if array.size == 0:
        raise DetectorInputError(f"{name} counts are empty; pass at least one bin")
    counts = array.astype(np.float64)
    # Integer vectors (every live window, every stored baseline) are finite and
    # whole by construction; only float input needs those two checks. This runs
    # several times per column per window, so it uses array methods, not np.all.
    if array.dtype.kind == "f":
        finite = np.isfinite(counts)
        if not finite.all():
            bad = int(np.flatnonzero(~finite)[0])
            raise DetectorInputError(
                f"{name} counts contain a non-finite value at bin {bad}; counts must be finite"
            )
        fractional = counts != np.floor(counts)
        if fractional.any():
            bad = int(np.flatnonzero(fractional)[0])
            raise DetectorInputError(
                f"{name} counts contain a fractional value ({counts[bad]:g} at bin {bad}); "
                "pass whole-number counts, not shares"
            )
    if counts.min() < 0:
        bad = int(np.flatnonzero(counts < 0)[0])
        raise DetectorInputError(
            f"{name} counts contain a negative value ({counts[bad]:g} at bin {bad}); "
            "counts must be >= 0"
        )
    return counts


def as_count_pair(reference: Counts, current: Counts) -> tuple[Histogram, Histogram]:
    """Validate a reference and a current vector that must describe the same slots."""
    ref = Histogram.of(reference, name="reference")
    cur = Histogram.of(current, name="current")
    if ref.counts.shape != cur.counts.shape:
        raise DetectorInputError(
            f"current counts have {cur.counts.size} bins but reference counts have "
            f"{ref.counts.size}; bin the window with the same baseline the reference comes from"
        )
    return ref, cur


def total(counts: FloatArray) -> int:
    """The number of observations behind a validated count vector."""
    return int(counts.sum())


def shares(counts: FloatArray) -> FloatArray:
    """Counts divided by their total; all zeros when there are no observations.

    Callers check for an empty vector first and return their documented empty
    result, so the all-zero branch only keeps this function total.
    """
    n = float(counts.sum())
    if n == 0:
        return np.zeros_like(counts)
    result: FloatArray = counts / n
    return result
