"""Jensen-Shannon distance (base 2).

Against `scipy.spatial.distance.jensenshannon(base=2)`: abs 1e-7. Both take the
square root of a divergence computed in floating point; near zero the square root
amplifies rounding (sqrt(1e-16) = 1e-8), so a relative tolerance would be wrong.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import distance

from driftwarden.detectors.jensen_shannon import jensen_shannon

PROPERTY = settings(max_examples=60, deadline=None)


@st.composite
def count_pairs(draw: st.DrawFn, min_bins: int = 2, max_bins: int = 12) -> tuple[list[int], ...]:
    k = draw(st.integers(min_bins, max_bins))
    vector = st.lists(st.integers(0, 1000), min_size=k, max_size=k).filter(lambda v: sum(v) > 0)
    return draw(vector), draw(vector)


def test_hand_computed_disjoint_supports_are_at_distance_one() -> None:
    # p = (1, 0), q = (0, 1), m = (0.5, 0.5): KL(p||m) = KL(q||m) = log2(1 / 0.5) = 1,
    # JS divergence = (1 + 1) / 2 = 1, distance = sqrt(1) = 1.
    result = jensen_shannon([7, 0], [0, 3])
    assert result.statistic == pytest.approx(1.0, rel=1e-12)
    assert result.p_value is None


def test_hand_computed_half_half_against_all_in_one_bin() -> None:
    # p = (0.5, 0.5), q = (1, 0), m = (0.75, 0.25)
    # KL(p||m) = 0.5 * log2(0.5 / 0.75) + 0.5 * log2(0.5 / 0.25) = 0.5 * (1 - log2 3) + 0.5
    #          = 0.20752
    # KL(q||m) = log2(1 / 0.75) = 2 - log2 3 = 0.41504
    # JS = (0.20752 + 0.41504) / 2 = 1.5 - 0.75 * log2 3 = 0.31128; distance = 0.55792
    expected = math.sqrt(1.5 - 0.75 * math.log2(3))
    assert jensen_shannon([5, 5], [10, 0]).statistic == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.55792, abs=1e-5)


@PROPERTY
@given(count_pairs())
def test_matches_scipy_jensenshannon_base_2(pair: tuple[list[int], ...]) -> None:
    reference, current = pair
    expected = distance.jensenshannon(reference, current, base=2)
    assert jensen_shannon(reference, current).statistic == pytest.approx(expected, abs=1e-7)


@PROPERTY
@given(count_pairs())
def test_zero_on_identical_inputs(pair: tuple[list[int], ...]) -> None:
    reference, _ = pair
    assert jensen_shannon(reference, reference).statistic == 0.0


@PROPERTY
@given(count_pairs(), st.randoms(use_true_random=False), st.integers(2, 50))
def test_symmetric_bounded_and_invariant_to_bin_order_and_count_scale(
    pair: tuple[list[int], ...], rng: object, factor: int
) -> None:
    reference, current = pair
    base = jensen_shannon(reference, current).statistic
    order = list(range(len(reference)))
    rng.shuffle(order)  # type: ignore[attr-defined]
    assert 0.0 <= base <= 1.0
    assert jensen_shannon(current, reference).statistic == pytest.approx(base, abs=1e-12)
    permuted = jensen_shannon([reference[i] for i in order], [current[i] for i in order])
    assert permuted.statistic == pytest.approx(base, abs=1e-12)
    scaled = jensen_shannon([factor * c for c in reference], current)
    assert scaled.statistic == pytest.approx(base, abs=1e-7)


@PROPERTY
@given(st.floats(0.5, 4.0))
def test_grows_with_the_shift_of_a_discretised_normal(sigma: float) -> None:
    grid = np.arange(-30, 31)
    density = np.exp(-0.5 * (grid / sigma) ** 2)
    reference = np.round(1e6 * density / density.sum()).astype(int)
    values = [jensen_shannon(reference, np.roll(reference, k)).statistic for k in range(7)]
    # Once the supports no longer overlap the distance saturates at 1; allow rounding there.
    assert all(b >= a - 1e-12 for a, b in itertools.pairwise(values))
    assert values[1] > values[0]


def test_empty_window_gives_zero() -> None:
    result = jensen_shannon([1, 2], [0, 0])
    assert (result.statistic, result.p_value, result.n_current) == (0.0, None, 0)
