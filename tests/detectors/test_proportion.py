"""One-sided excess-proportion test.

Against `scipy.stats.binomtest(alternative="greater")`: rel 1e-9, since both are
the exact binomial upper tail computed by different scipy routines.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from driftwarden.detectors.errors import DetectorInputError
from driftwarden.detectors.proportion import excess_proportion

PROPERTY = settings(max_examples=60, deadline=None)


@st.composite
def windows(draw: st.DrawFn) -> tuple[int, int, float]:
    n = draw(st.integers(1, 2000))
    count = draw(st.integers(0, n))
    rate = draw(st.floats(1e-4, 0.9999))
    return count, n, rate


def test_hand_computed_three_missing_out_of_ten_against_a_ten_percent_baseline() -> None:
    # statistic = 3/10 - 0.1 = 0.2
    # P(X >= 3), X ~ Bin(10, 0.1) = 1 - P(0) - P(1) - P(2)
    #   = 1 - 0.9**10 - 10 * 0.1 * 0.9**9 - 45 * 0.01 * 0.9**8
    #   = 1 - 0.3486784 - 0.3874205 - 0.1937102 = 0.0701908
    result = excess_proportion(3, 10, 0.1)
    assert result.statistic == pytest.approx(0.2, rel=1e-12)
    expected = 1 - 0.9**10 - 10 * 0.1 * 0.9**9 - 45 * 0.01 * 0.9**8
    assert result.p_value == pytest.approx(expected, rel=1e-9)
    assert result.p_value == pytest.approx(0.0701908, abs=1e-7)
    assert (result.n_reference, result.n_current) == (0, 10)


@PROPERTY
@given(windows())
def test_matches_scipy_binomtest_greater(window: tuple[int, int, float]) -> None:
    count, n, rate = window
    expected = stats.binomtest(count, n, rate, alternative="greater").pvalue
    result = excess_proportion(count, n, rate)
    # Below ~1e-100 both are series evaluated near the underflow limit and agree to
    # ~1e-8 relative (seen: 2e-9 at 1.7e-290); no decision hangs on such a p-value.
    rel = 1e-9 if expected > 1e-100 else 1e-6
    assert result.p_value == pytest.approx(expected, rel=rel, abs=1e-300)
    assert result.statistic == pytest.approx(count / n - rate)


@PROPERTY
@given(windows())
def test_p_value_never_rises_as_the_count_grows(window: tuple[int, int, float]) -> None:
    count, n, rate = window
    lower = excess_proportion(count, n, rate).p_value
    assert lower is not None
    assert 0.0 <= lower <= 1.0
    if count < n:
        higher = excess_proportion(count + 1, n, rate).p_value
        assert higher is not None
        assert higher <= lower


def test_any_occurrence_of_a_zero_rate_event_has_p_zero() -> None:
    assert excess_proportion(1, 1000, 0.0).p_value == 0.0
    nothing = excess_proportion(0, 1000, 0.0)
    assert (nothing.statistic, nothing.p_value) == (0.0, 1.0)


def test_a_share_below_its_baseline_is_not_significant() -> None:
    result = excess_proportion(1, 1000, 0.05)
    assert result.statistic < 0
    assert result.p_value == pytest.approx(1.0)


def test_empty_window_gives_zero_and_p_one() -> None:
    result = excess_proportion(0, 0, 0.3, n_reference=5000)
    assert (result.statistic, result.p_value, result.n_reference, result.n_current) == (
        0.0,
        1.0,
        5000,
        0,
    )


@pytest.mark.parametrize(
    ("count", "n", "rate", "fragment"),
    [
        (5, 4, 0.1, "exceeds n"),
        (-1, 4, 0.1, "count -1"),
        (1, 4.0, 0.1, "n 4.0"),
        (True, 4, 0.1, "count True"),
        (1, 4, 1.5, "baseline_rate"),
        (1, 4, float("nan"), "baseline_rate"),
    ],
)
def test_invalid_inputs_are_rejected(count: int, n: int, rate: float, fragment: str) -> None:
    with pytest.raises(DetectorInputError, match=fragment):
        excess_proportion(count, n, rate)
