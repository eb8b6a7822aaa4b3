"""The exact sum of float64 values, as an integer: order-free, so merging is exact.

A window's sum of a numeric column is added batch by batch and, in a consumer
group, partition by partition in whatever order members close their shares. A
float sum depends on that order in its last bits, and so would the mean; an
exact sum does not. Every finite float64 is an integer multiple of 2**-1074,
so the exact sum of any of them is an integer number of such *units*: Python
ints hold it whatever its size, two of them add exactly, and
`exact_mean` divides it by the count with one correct rounding
(CPython's int true division rounds correctly).

`exact_sum` works in vectorised float64 passes (Rump, Ogita and Oishi's
ExtractVector, "Accurate floating-point summation part I", SIAM J. Sci.
Comput. 31, 2008). Every value is a multiple of the float spacing at the
smallest magnitude among them; when the largest magnitude times the count is
within 53 bits of that spacing, every partial sum is a float and the plain sum
is exact. Otherwise a pass with sigma = 2**k above the largest magnitude
(log2(n) + 1 bits of headroom) splits each x into q = (sigma + x) - sigma, a
multiple of 2**(k-53) whose sum is exact, and x - q, exact and below
2**(k-53); each pass takes 52 - log2(n) bits off the range. A column of
floats of one scale takes one pass and a final sum. Values beyond the passes'
reach (magnitudes near the float range's ends, or more exponents than a few
passes cover) are summed per binary exponent instead: each value's 53-bit
integer significand is split at bit 26, and `np.bincount` adds the halves per
exponent exactly (float64 sums of integers below 2**53).
"""

from __future__ import annotations

import math
from typing import Final

import numpy as np
import numpy.typing as npt

UNIT_EXPONENT: Final = -1074
"""Sums count units of 2**-1074, the smallest positive float64 (a subnormal)."""

_UNITS: Final = -UNIT_EXPONENT
_PASSES: Final = 6
"""Extraction passes before the per-exponent sum takes the rest; a column of
floats of one scale needs one."""
_CHUNK: Final = 1 << 24
"""Values summed at once: the per-exponent sums stay below 2**53 (2**24 * 2**27)."""
_HALF: Final = 26
_SIGNIFICAND: Final = float(1 << 53)
_LOWEST_SIGMA: Final = -1021
"""sigma = 2**k needs k - 53 >= -1074: its grid is then whole units, no underflow."""
_HIGHEST_SIGMA: Final = 1023


def exact_sum(values: npt.NDArray[np.float64], *, ascending: bool = False) -> int:
    """The exact sum of finite `values`, in units of 2**-1074 (module docstring).

    `ascending` says the values are sorted, which finds their largest and
    smallest magnitudes at the ends and around zero instead of in two scans.
    """
    if values.size > _CHUNK:
        return sum(
            exact_sum(values[start : start + _CHUNK], ascending=ascending)
            for start in range(0, values.size, _CHUNK)
        )
    largest, smallest = _sorted_magnitudes(values) if ascending else _magnitudes(values)
    if largest == 0.0:
        return 0
    # Every value is a multiple of 2**grain (the spacing of floats at the smallest
    # magnitude) and at most 2**top; n of them sum below 2**(top + bits).
    grain = max(math.frexp(smallest)[1] - 53, UNIT_EXPONENT)
    top = math.frexp(largest)[1]
    bits = (values.size - 1).bit_length()
    total = 0
    rest = values
    for _ in range(_PASSES):
        if top + bits - grain <= 53 and top + bits <= _HIGHEST_SIGMA:
            return total + units(float(rest.sum()))  # every partial sum is a float
        k = top + bits + 1
        if not _LOWEST_SIGMA <= k <= _HIGHEST_SIGMA:
            break
        sigma = math.ldexp(1.0, k)
        high = rest + sigma
        high -= sigma  # each value rounded to a multiple of 2**(k - 53), exactly
        total += units(float(high.sum()))
        rest = values - high if rest is values else np.subtract(rest, high, out=rest)
        top = k - 53
    return total + _sum_by_exponent(rest[rest != 0.0])


def exact_mean(total: int, count: int) -> float:
    """`total` units over `count` values, correctly rounded to float64."""
    return total / (count << _UNITS)


def units(value: float) -> int:
    """A finite float64 as a whole number of units of 2**-1074 (exact)."""
    numerator, denominator = value.as_integer_ratio()
    return numerator << (_UNITS + 1 - denominator.bit_length())


def _magnitudes(values: npt.NDArray[np.float64]) -> tuple[float, float]:
    """The largest magnitude and the smallest nonzero one (0.0, 0.0 if all are zero)."""
    size = np.abs(values)
    nonzero = size[size != 0.0]
    if not nonzero.size:
        return 0.0, 0.0
    return float(nonzero.max()), float(nonzero.min())


def _sorted_magnitudes(ordered: npt.NDArray[np.float64]) -> tuple[float, float]:
    """`_magnitudes` of ascending values: the ends, and the neighbours of zero."""
    if not ordered.size:
        return 0.0, 0.0
    largest = max(-float(ordered[0]), float(ordered[-1]))
    below = int(np.searchsorted(ordered, 0.0, side="left"))
    above = int(np.searchsorted(ordered, 0.0, side="right"))
    nearest = [-float(ordered[below - 1])] if below else []
    if above < ordered.size:
        nearest.append(float(ordered[above]))
    return largest, min(nearest, default=0.0)


def _sum_by_exponent(values: npt.NDArray[np.float64]) -> int:
    """The exact sum, per binary exponent: slower than the passes, but for any values.

    x = m * 2**e with m in [0.5, 1) and e in [-1073, 1024]; M = m * 2**53 is an
    integer below 2**53, so x is M * 2**(e + 1073) units of 2**-1126, and those
    are 2**52 to one unit of 2**-1074 (the total divides exactly).
    """
    fractions, exponents = np.frexp(values)
    significands = (fractions * _SIGNIFICAND).astype(np.int64)
    index = (exponents + 1073).astype(np.intp)
    high = np.bincount(index, weights=significands >> _HALF)
    low = np.bincount(index, weights=significands & ((1 << _HALF) - 1))
    total = 0
    for shift in np.flatnonzero((high != 0.0) | (low != 0.0)).tolist():
        total += ((int(high[shift]) << _HALF) + int(low[shift])) << shift
    return total >> 52
