"""Chi-square homogeneity test with sparse-cell pooling.

On tables without sparse cells the statistic and p-value must equal
`scipy.stats.chi2_contingency(correction=False)` to floating-point rounding
(rel 1e-9): the same formula on the same table, so no approximation tolerance.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from driftwarden.detectors.chi_square import chi_square
from driftwarden.detectors.errors import DetectorInputError

PROPERTY = settings(max_examples=60, deadline=None)


@st.composite
def count_pairs(
    draw: st.DrawFn, low: int = 0, high: int = 1000, max_bins: int = 12
) -> tuple[list[int], ...]:
    k = draw(st.integers(2, max_bins))
    vector = st.lists(st.integers(low, high), min_size=k, max_size=k).filter(lambda v: sum(v) > 0)
    return draw(vector), draw(vector)


def test_hand_computed_two_by_two() -> None:
    # Row totals 100 and 100, column totals 80 and 120, grand total 200:
    # expected 40 and 60 in both rows.
    # chi2 = 2 * ((50 - 40)**2 / 40 + (50 - 60)**2 / 60) = 2 * (2.5 + 1.6667) = 8.3333, dof 1.
    result = chi_square([50, 50], [30, 70])
    assert result.statistic == pytest.approx(25 / 3, rel=1e-12)
    assert result.p_value == pytest.approx(stats.chi2.sf(25 / 3, 1), rel=1e-12)
    assert result.p_value == pytest.approx(0.003892, abs=1e-6)


def test_hand_computed_sparse_categories_are_pooled() -> None:
    # Column totals 180, 220, 5, 7, 6 over row totals 209 / 209: the last three expect
    # 2.5, 3.5, 3 per row (< 5) and pool into one cell [9, 9] expecting 9 per row (kept).
    # Table [[100, 100, 9], [80, 120, 9]] expects [90, 110, 9] in both rows:
    # chi2 = 2 * (10**2 / 90 + 10**2 / 110 + 0) = 2 * (1.1111 + 0.9091) = 4.0404, dof 2,
    # and the chi-square(2) tail is exp(-x / 2) = exp(-2.0202) = 0.13265.
    result = chi_square([100, 100, 3, 3, 3], [80, 120, 2, 4, 3])
    assert result.statistic == pytest.approx(2 * (100 / 90 + 100 / 110), rel=1e-12)
    assert result.p_value == pytest.approx(math.exp(-result.statistic / 2), rel=1e-12)
    pooled = stats.chi2_contingency([[100, 100, 9], [80, 120, 9]], correction=False)
    assert result.statistic == pytest.approx(pooled.statistic, rel=1e-12)
    assert result.p_value == pytest.approx(pooled.pvalue, rel=1e-12)


def test_pooled_cell_that_is_still_sparse_is_dropped() -> None:
    # Columns 3 and 4 expect ~1.5 and ~2 per row; pooled they expect ~3.5 < 5: dropped,
    # leaving [[100, 100], [100, 100]], which is perfectly homogeneous.
    result = chi_square([100, 100, 2, 1], [100, 100, 1, 3])
    assert result.statistic == pytest.approx(0.0, abs=1e-12)
    assert result.p_value == pytest.approx(1.0)


def test_a_burst_of_new_categories_is_highly_significant() -> None:
    """The reference `new` slot is always 0; many new values in a window must register."""
    result = chi_square([500, 480, 20, 0], [250, 240, 10, 100])
    assert result.p_value is not None
    assert result.p_value < 1e-20


@PROPERTY
@given(count_pairs(low=100))
def test_matches_scipy_chi2_contingency_on_tables_without_sparse_cells(
    pair: tuple[list[int], ...],
) -> None:
    # Every cell >= 100 and at most 12 columns of <= 1000: expected >= 200 / 11 > 5.
    reference, current = pair
    expected = stats.chi2_contingency([reference, current], correction=False)
    result = chi_square(reference, current)
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-9, abs=1e-9)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-12)


@PROPERTY
@given(count_pairs(low=100), st.integers(2, 20))
def test_statistic_scales_with_the_sample_size_when_nothing_is_pooled(
    pair: tuple[list[int], ...], factor: int
) -> None:
    """Same shares, more data: the effect is the same, the evidence grows linearly."""
    reference, current = pair
    base = chi_square(reference, current).statistic
    scaled = chi_square([factor * c for c in reference], [factor * c for c in current])
    assert scaled.statistic == pytest.approx(factor * base, rel=1e-9, abs=1e-9)


@PROPERTY
@given(count_pairs())
def test_zero_with_p_one_on_identical_inputs(pair: tuple[list[int], ...]) -> None:
    reference, _ = pair
    result = chi_square(reference, reference)
    assert result.statistic == pytest.approx(0.0, abs=1e-9)
    assert result.p_value == pytest.approx(1.0)


@PROPERTY
@given(count_pairs(), st.randoms(use_true_random=False))
def test_symmetric_non_negative_and_invariant_to_category_order(
    pair: tuple[list[int], ...], rng: object
) -> None:
    reference, current = pair
    result = chi_square(reference, current)
    swapped = chi_square(current, reference)
    order = list(range(len(reference)))
    rng.shuffle(order)  # type: ignore[attr-defined]
    permuted = chi_square([reference[i] for i in order], [current[i] for i in order])
    assert result.statistic >= 0.0
    assert result.p_value is not None
    assert 0.0 <= result.p_value <= 1.0
    for other in (swapped, permuted):
        assert other.statistic == pytest.approx(result.statistic, rel=1e-9, abs=1e-9)
        assert other.p_value == pytest.approx(result.p_value, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize(
    ("reference", "current"),
    [([10, 20], [0, 0]), ([0, 0], [3, 4]), ([10], [5]), ([500, 0, 0], [3, 0, 0])],
)
def test_degenerate_tables_give_zero_and_p_one(reference: list[int], current: list[int]) -> None:
    result = chi_square(reference, current)
    assert (result.statistic, result.p_value) == (0.0, 1.0)


def test_slots_empty_on_both_sides_are_ignored_even_without_pooling() -> None:
    with_empty = chi_square([50, 0, 50], [30, 0, 70], min_expected=0.0)
    assert with_empty.statistic == pytest.approx(25 / 3, rel=1e-12)
    assert with_empty.p_value == pytest.approx(stats.chi2.sf(25 / 3, 1), rel=1e-12)


def test_negative_min_expected_is_rejected() -> None:
    with pytest.raises(DetectorInputError, match="min_expected"):
        chi_square([1, 2], [2, 1], min_expected=-1.0)


def test_counts_are_validated() -> None:
    with pytest.raises(DetectorInputError, match="negative"):
        chi_square([1, -2], [2, 1])
    assert np.isfinite(chi_square([1, 2], [2, 1]).statistic)
