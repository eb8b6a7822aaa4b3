"""Binned two-sample Kolmogorov-Smirnov test.

Tolerances against `scipy.stats.ks_2samp` on the raw samples:

- D: D_binned <= D_raw + 1e-12 and D_raw - D_binned <= the largest single-bin
  share of either sample (+ 1e-12 for rounding): both follow from the CDFs being
  observed only at bin boundaries.
- p-value: D_binned lies in [D_raw - s, D_raw] (s = largest bin share) and the
  p-value is decreasing in D, so p_raw <= p_binned <= p(D_raw - s), all with
  scipy's asymptotic method. This bracket is the tolerance; with n = m = 5000 and
  200 quantile bins it measured |p_binned - p_raw| <= 0.083 over 30 seeds, so an
  absolute 0.1 is also asserted. When binning is lossless (one bin per distinct
  value) D and p must match scipy to rounding.
"""

from __future__ import annotations

import itertools

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from driftwarden.detectors.ks import ks_binned

PROPERTY = settings(max_examples=60, deadline=None)


@st.composite
def count_pairs(draw: st.DrawFn, min_bins: int = 2, max_bins: int = 12) -> tuple[list[int], ...]:
    k = draw(st.integers(min_bins, max_bins))
    vector = st.lists(st.integers(0, 1000), min_size=k, max_size=k).filter(lambda v: sum(v) > 0)
    return draw(vector), draw(vector)


def bin_counts(x: npt.NDArray[np.float64], edges: npt.NDArray[np.float64]) -> list[int]:
    """Underflow, interior bins [e_i, e_i+1) with the last closed, overflow."""
    inside = x[(x >= edges[0]) & (x <= edges[-1])]
    interior = np.histogram(inside, edges)[0]
    return [int(np.sum(x < edges[0])), *interior.tolist(), int(np.sum(x > edges[-1]))]


def test_hand_computed_two_bins() -> None:
    # F_ref = 0.5 and F_cur = 0.25 at the one inner boundary: D = 0.25.
    # Effective size 100 * 100 / 200 = 50; the limiting Kolmogorov tail at
    # sqrt(50) * 0.25 = 1.7678 is 2 * (exp(-2 * 1.7678**2) - exp(-8 * 1.7678**2))
    # = 2 * (exp(-6.25) - exp(-25)) = 0.00386; the finite-n kstwo(50) tail is 0.00307.
    result = ks_binned([50, 50], [25, 75])
    assert result.statistic == pytest.approx(0.25, abs=1e-15)
    assert result.p_value == pytest.approx(stats.kstwo.sf(0.25, 50), rel=1e-12)
    assert result.p_value == pytest.approx(0.00307, abs=1e-5)
    assert result.p_value == pytest.approx(2 * (np.exp(-6.25) - np.exp(-25)), rel=0.3)
    assert (result.n_reference, result.n_current) == (100, 100)


@pytest.mark.parametrize("seed", range(5))
def test_lossless_binning_matches_scipy_ks_2samp_asymptotic_exactly(seed: int) -> None:
    """One bin per distinct integer value loses nothing, so D and p equal scipy's."""
    rng = np.random.default_rng(seed)
    a = rng.poisson(6.0, size=1500)
    b = rng.poisson(6.4, size=900)
    top = int(max(a.max(), b.max()))
    ref = np.bincount(a, minlength=top + 1)
    cur = np.bincount(b, minlength=top + 1)
    result = ks_binned(ref, cur)
    expected = stats.ks_2samp(a, b, method="asymp")
    assert result.statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize(("seed", "shift", "n_bins"), [(0, 0.0, 20), (1, 0.05, 50), (2, 0.1, 200)])
def test_binned_ks_is_a_bounded_underestimate_of_raw_ks(
    seed: int, shift: float, n_bins: int
) -> None:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(5000)
    b = rng.standard_normal(5000) + shift
    edges = np.quantile(a, np.linspace(0.0, 1.0, n_bins + 1))
    ref, cur = bin_counts(a, edges), bin_counts(b, edges)
    result = ks_binned(ref, cur)
    raw = stats.ks_2samp(a, b, method="asymp")
    largest_share = max(max(ref) / sum(ref), max(cur) / sum(cur))
    assert result.statistic <= raw.statistic + 1e-12
    assert raw.statistic - result.statistic <= largest_share + 1e-12
    assert result.p_value is not None
    assert raw.pvalue - 1e-12 <= result.p_value
    assert result.p_value <= stats.kstwo.sf(raw.statistic - largest_share, 2500) + 1e-12
    if n_bins >= 200:
        assert result.p_value == pytest.approx(raw.pvalue, abs=0.1)


@PROPERTY
@given(count_pairs())
def test_ks_is_zero_with_p_one_on_identical_inputs(pair: tuple[list[int], ...]) -> None:
    reference, _ = pair
    result = ks_binned(reference, reference)
    assert result.statistic == pytest.approx(0.0, abs=1e-12)
    assert result.p_value == pytest.approx(1.0)


@PROPERTY
@given(count_pairs())
def test_ks_is_symmetric_bounded_and_share_scale_free(pair: tuple[list[int], ...]) -> None:
    reference, current = pair
    forward, backward = ks_binned(reference, current), ks_binned(current, reference)
    assert 0.0 <= forward.statistic <= 1.0 + 1e-12
    assert forward.statistic == pytest.approx(backward.statistic, abs=1e-12)
    assert forward.p_value is not None
    assert 0.0 <= forward.p_value <= 1.0
    assert forward.p_value == pytest.approx(backward.p_value, abs=1e-12)
    tripled = ks_binned([3 * c for c in reference], [3 * c for c in current])
    assert tripled.statistic == pytest.approx(forward.statistic, abs=1e-12)


@PROPERTY
@given(st.lists(st.integers(0, 1000), min_size=2, max_size=15).filter(lambda v: sum(v) > 0))
def test_ks_grows_with_a_shift_of_any_histogram(shape: list[int]) -> None:
    """Shifting by k+1 bins: F(j) - F(j-k-1) >= F(j) - F(j-k) at every j, so D never drops."""
    padded = [*shape, *([0] * 6)]
    values = [ks_binned(padded, np.roll(padded, k)).statistic for k in range(7)]
    assert all(b >= a - 1e-12 for a, b in itertools.pairwise(values))


def test_empty_window_gives_zero_and_p_one() -> None:
    result = ks_binned([10, 20, 30], [0, 0, 0])
    assert (result.statistic, result.p_value, result.n_current) == (0.0, 1.0, 0)


def test_single_slot_has_nothing_to_compare() -> None:
    assert ks_binned([10], [3]).statistic == 0.0
