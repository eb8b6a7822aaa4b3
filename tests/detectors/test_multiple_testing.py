"""Benjamini-Hochberg and Bonferroni adjustment.

Against `scipy.stats.false_discovery_control(method="bh")`: rel 1e-12 (the same
arithmetic, in a different order).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from driftwarden.detectors.errors import DetectorInputError
from driftwarden.detectors.multiple_testing import adjust

PROPERTY = settings(max_examples=60, deadline=None)
p_values = st.lists(st.floats(0.0, 1.0), min_size=1, max_size=40)
alphas = st.floats(0.001, 0.5)


def test_hand_computed_benjamini_hochberg() -> None:
    # Sorted p: 0.01 (rank 1), 0.03 (2), 0.04 (3), 0.5 (4); m = 4.
    # m * p / rank: 0.04, 0.06, 0.05333, 0.5; running minimum from the top:
    # 0.04, 0.05333, 0.05333, 0.5. At alpha = 0.05 only the first is rejected.
    result = adjust([0.01, 0.04, 0.03, 0.5], method="bh", alpha=0.05)
    assert result.adjusted == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.5], rel=1e-12)
    assert result.rejected == (True, False, False, False)


def test_hand_computed_bonferroni() -> None:
    # 4 * p capped at 1: 0.04, 0.16, 0.12, 1.0.
    result = adjust([0.01, 0.04, 0.03, 0.5], method="bonferroni", alpha=0.05)
    assert result.adjusted == pytest.approx([0.04, 0.16, 0.12, 1.0], rel=1e-12)
    assert result.rejected == (True, False, False, False)


def test_tests_that_did_not_run_pass_through_and_do_not_count() -> None:
    # m = 2 (the None entries are not tests): BH of (0.02, 0.03) is (0.03, 0.03).
    result = adjust([None, 0.02, None, 0.03], method="bh", alpha=0.05)
    assert result.adjusted[0::2] == (None, None)
    assert result.adjusted[1::2] == pytest.approx((0.03, 0.03), rel=1e-12)
    assert result.rejected == (False, True, False, True)


def test_none_method_leaves_p_values_alone() -> None:
    result = adjust([0.01, 0.2, None], method="none", alpha=0.05)
    assert result.adjusted == (0.01, 0.2, None)
    assert result.rejected == (True, False, False)


def test_empty_input_gives_empty_result() -> None:
    result = adjust([], method="bh", alpha=0.05)
    assert (result.rejected, result.adjusted) == ((), ())


@PROPERTY
@given(p_values, alphas)
def test_bh_matches_scipy_false_discovery_control(ps: list[float], alpha: float) -> None:
    expected = stats.false_discovery_control(ps, method="bh")
    result = adjust(ps, method="bh", alpha=alpha)
    assert result.adjusted == pytest.approx(expected.tolist(), rel=1e-12, abs=1e-300)
    assert result.rejected == tuple(bool(a <= alpha) for a in expected)


@PROPERTY
@given(p_values, alphas)
def test_bh_rejects_exactly_the_step_up_set(ps: list[float], alpha: float) -> None:
    """Reject every p <= p_(k) for the largest k with p_(k) <= k * alpha / m."""
    m = len(ps)
    ordered = np.sort(ps)
    thresholds = np.arange(1, m + 1) * alpha / m
    # Exactly on a threshold, k * alpha / m and m * p / k round differently: not a BH question.
    assume(np.all(np.abs(ordered - thresholds) > 1e-12))
    passing = np.flatnonzero(ordered <= thresholds)
    cutoff = ordered[passing[-1]] if passing.size else -1.0
    assert adjust(ps, method="bh", alpha=alpha).rejected == tuple(p <= cutoff for p in ps)


@PROPERTY
@given(p_values, alphas)
def test_adjusted_values_are_valid_and_bonferroni_is_stricter_than_bh(
    ps: list[float], alpha: float
) -> None:
    bh = adjust(ps, method="bh", alpha=alpha)
    bonferroni = adjust(ps, method="bonferroni", alpha=alpha)
    for raw, b, f in zip(ps, bh.adjusted, bonferroni.adjusted, strict=True):
        assert b is not None
        assert f is not None
        assert raw <= b <= 1.0
        assert b <= f + 1e-15
        assert f == pytest.approx(min(1.0, raw * len(ps)))
    assert all(b or not f for b, f in zip(bh.rejected, bonferroni.rejected, strict=True))


@pytest.mark.parametrize(
    ("ps", "kwargs", "fragment"),
    [
        ([0.1, 1.5], {"method": "bh", "alpha": 0.05}, "1.5 at position 1"),
        ([float("nan")], {"method": "bh", "alpha": 0.05}, "nan at position 0"),
        ([-0.1], {"method": "bonferroni", "alpha": 0.05}, "position 0"),
        ([0.1], {"method": "holm", "alpha": 0.05}, "unknown"),
        ([0.1], {"method": "bh", "alpha": 0.0}, "alpha"),
        ([0.1], {"method": "bh", "alpha": 1.0}, "alpha"),
    ],
)
def test_invalid_inputs_are_rejected(
    ps: list[float], kwargs: dict[str, object], fragment: str
) -> None:
    with pytest.raises(DetectorInputError, match=fragment):
        adjust(ps, **kwargs)  # type: ignore[arg-type]
