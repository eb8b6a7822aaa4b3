"""L-infinity distance between category shares.

Against `scipy.spatial.distance.chebyshev` on the share vectors: rel 1e-12 (the
same maximum of the same differences; only the share division can round).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import distance

from driftwarden.detectors.linf import linf

PROPERTY = settings(max_examples=60, deadline=None)


@st.composite
def count_pairs(draw: st.DrawFn, min_bins: int = 2, max_bins: int = 12) -> tuple[list[int], ...]:
    k = draw(st.integers(min_bins, max_bins))
    vector = st.lists(st.integers(0, 1000), min_size=k, max_size=k).filter(lambda v: sum(v) > 0)
    return draw(vector), draw(vector)


def test_hand_computed_largest_share_move() -> None:
    # Shares (0.5, 0.3, 0.2) -> (0.2, 0.3, 0.5): moves 0.3, 0, 0.3; the largest is 0.3.
    result = linf([50, 30, 20], [2, 3, 5])
    assert result.statistic == pytest.approx(0.3, rel=1e-12)
    assert result.p_value is None
    assert (result.n_reference, result.n_current) == (100, 10)


@PROPERTY
@given(count_pairs())
def test_matches_scipy_chebyshev_on_shares(pair: tuple[list[int], ...]) -> None:
    reference, current = pair
    p = np.array(reference) / sum(reference)
    q = np.array(current) / sum(current)
    expected = distance.chebyshev(p, q)
    assert linf(reference, current).statistic == pytest.approx(expected, rel=1e-12, abs=1e-15)


@PROPERTY
@given(count_pairs(), st.randoms(use_true_random=False), st.integers(2, 50))
def test_zero_on_identical_symmetric_bounded_and_invariant(
    pair: tuple[list[int], ...], rng: object, factor: int
) -> None:
    reference, current = pair
    base = linf(reference, current).statistic
    order = list(range(len(reference)))
    rng.shuffle(order)  # type: ignore[attr-defined]
    assert linf(reference, reference).statistic == 0.0
    assert 0.0 <= base <= 1.0
    assert linf(current, reference).statistic == base
    assert linf([reference[i] for i in order], [current[i] for i in order]).statistic == base
    scaled = linf([factor * c for c in reference], current).statistic
    assert scaled == pytest.approx(base, rel=1e-9, abs=1e-15)


@PROPERTY
@given(st.integers(1, 1000), st.integers(0, 1000))
def test_grows_as_share_moves_from_one_category_to_another(step: int, base: int) -> None:
    reference = [base + 1000, base + 1000, 500]
    values = [linf(reference, [base + 1000 + k, base + 1000 - k, 500]).statistic for k in (0, step)]
    assert values[1] > values[0]


def test_empty_window_gives_zero() -> None:
    assert linf([1, 2], [0, 0]).statistic == 0.0
