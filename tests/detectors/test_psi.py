"""Population Stability Index and total variation."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from driftwarden.detectors.errors import DetectorInputError
from driftwarden.detectors.psi import psi, total_variation

PROPERTY = settings(max_examples=60, deadline=None)


@st.composite
def count_pairs(draw: st.DrawFn, min_bins: int = 2, max_bins: int = 12) -> tuple[list[int], ...]:
    """Two count vectors over the same bins, neither empty."""
    k = draw(st.integers(min_bins, max_bins))
    vector = st.lists(st.integers(0, 1000), min_size=k, max_size=k).filter(lambda v: sum(v) > 0)
    return draw(vector), draw(vector)


def test_hand_computed_psi_of_a_fifty_fifty_split_moving_to_quarter_three_quarters() -> None:
    # p = (0.5, 0.5), q = (0.25, 0.75)
    # PSI = (0.25 - 0.5) * ln(0.25 / 0.5) + (0.75 - 0.5) * ln(0.75 / 0.5)
    #     = -0.25 * ln(0.5) + 0.25 * ln(1.5) = 0.25 * ln(1.5 / 0.5) = 0.25 * ln 3
    #     = 0.25 * 1.0986123 = 0.2746531
    result = psi([50, 50], [25, 75])
    assert result.statistic == pytest.approx(0.25 * math.log(3), rel=1e-12)
    assert result.p_value is None
    assert (result.n_reference, result.n_current) == (100, 100)


def test_hand_computed_floor_keeps_an_empty_bin_finite() -> None:
    # p = (1, 0) -> (1, 1e-4) after the floor; q = (0.5, 0.5)
    # PSI = (0.5 - 1) * ln(0.5 / 1) + (0.5 - 1e-4) * ln(0.5 / 1e-4)
    #     = 0.5 * ln 2 + 0.4999 * ln 5000 = 0.3465736 + 4.2579054 = 4.6044790
    expected = 0.5 * math.log(2) + 0.4999 * math.log(5000)
    assert psi([10, 0], [5, 5]).statistic == pytest.approx(expected, rel=1e-12)
    assert psi([10, 0], [5, 5], floor=1e-6).statistic > expected


def test_hand_computed_total_variation_is_the_share_that_moved() -> None:
    # |0.5 - 0.25| + |0.5 - 0.75| = 0.5; half of it: a quarter of traffic moved bins.
    assert total_variation([50, 50], [25, 75]) == pytest.approx(0.25)
    assert total_variation([1, 0], [0, 1]) == pytest.approx(1.0)


@PROPERTY
@given(count_pairs())
def test_psi_equals_symmetrised_kl_divergence_from_scipy(pair: tuple[list[int], ...]) -> None:
    """PSI = KL(q||p) + KL(p||q) on the floored (not renormalised) shares."""
    reference, current = pair
    floor = 1e-4
    p = np.maximum(np.array(reference) / sum(reference), floor)
    q = np.maximum(np.array(current) / sum(current), floor)
    expected = float(special.rel_entr(q, p).sum() + special.rel_entr(p, q).sum())
    assert psi(reference, current, floor=floor).statistic == pytest.approx(
        expected, rel=1e-9, abs=1e-12
    )


@PROPERTY
@given(count_pairs().filter(lambda pair: min(pair[0]) > 0 and min(pair[1]) > 0))
def test_psi_without_empty_bins_matches_scipy_entropy(pair: tuple[list[int], ...]) -> None:
    reference, current = pair
    # Every count >= 1 out of at most 12 * 1000: shares >= 1/12000 > 1e-6, so no floor applies.
    expected = stats.entropy(current, reference) + stats.entropy(reference, current)
    assert psi(reference, current, floor=1e-6).statistic == pytest.approx(
        expected, rel=1e-9, abs=1e-12
    )


@PROPERTY
@given(count_pairs())
def test_psi_and_total_variation_are_zero_on_identical_inputs(
    pair: tuple[list[int], ...],
) -> None:
    reference, _ = pair
    assert psi(reference, reference).statistic == 0.0
    assert total_variation(reference, reference) == 0.0


@PROPERTY
@given(count_pairs())
def test_psi_and_total_variation_are_symmetric_and_non_negative(
    pair: tuple[list[int], ...],
) -> None:
    reference, current = pair
    forward, backward = psi(reference, current), psi(current, reference)
    assert forward.statistic >= 0.0
    assert forward.statistic == pytest.approx(backward.statistic, rel=1e-12, abs=1e-15)
    tv = total_variation(reference, current)
    assert 0.0 <= tv <= 1.0 + 1e-12
    assert tv == pytest.approx(total_variation(current, reference), rel=1e-12, abs=1e-15)


@PROPERTY
@given(count_pairs(), st.randoms(use_true_random=False), st.integers(2, 50))
def test_psi_is_invariant_to_bin_order_and_to_scaling_counts(
    pair: tuple[list[int], ...], rng: object, factor: int
) -> None:
    reference, current = pair
    order = list(range(len(reference)))
    rng.shuffle(order)  # type: ignore[attr-defined]
    base = psi(reference, current).statistic
    permuted = psi([reference[i] for i in order], [current[i] for i in order]).statistic
    scaled = psi([c * factor for c in reference], [c * factor for c in current]).statistic
    assert permuted == pytest.approx(base, rel=1e-12, abs=1e-15)
    assert scaled == pytest.approx(base, rel=1e-9, abs=1e-15)
    assert total_variation([c * factor for c in reference], current) == pytest.approx(
        total_variation(reference, current), rel=1e-9, abs=1e-15
    )


@PROPERTY
@given(st.floats(0.5, 4.0), st.integers(1, 6))
def test_psi_grows_with_the_shift_of_a_discretised_normal(sigma: float, max_shift: int) -> None:
    """A log-concave shape shifted further apart never scores lower (not true for any shape).

    Once the supports are disjoint the floor caps PSI, so growth is weak, not strict.
    """
    grid = np.arange(-30, 31)
    density = np.exp(-0.5 * (grid / sigma) ** 2)
    reference = np.round(1e6 * density / density.sum()).astype(int)
    values = [psi(reference, np.roll(reference, k)).statistic for k in range(max_shift + 1)]
    assert all(b >= a - 1e-12 for a, b in itertools.pairwise(values))
    assert values[1] > values[0]


def test_empty_window_gives_zero_not_a_crash() -> None:
    result = psi([10, 20], [0, 0])
    assert (result.statistic, result.p_value, result.n_current) == (0.0, None, 0)
    assert psi([0, 0], [1, 2]).statistic == 0.0
    assert total_variation([10, 20], [0, 0]) == 0.0


@pytest.mark.parametrize("floor", [0.0, -1e-4, 1.0, float("nan")])
def test_floor_outside_zero_one_is_rejected(floor: float) -> None:
    with pytest.raises(DetectorInputError, match="floor"):
        psi([1, 2], [2, 1], floor=floor)


def test_mismatched_bins_are_rejected() -> None:
    with pytest.raises(DetectorInputError, match="bins"):
        psi([1, 2, 3], [1, 2])


def test_the_package_name_psi_stays_the_function_after_its_module_is_imported() -> None:
    """`driftwarden.detectors.psi(...)` works whatever the engine imported before."""
    import importlib

    from driftwarden import detectors

    importlib.import_module("driftwarden.detectors.psi")
    importlib.import_module("driftwarden.detectors.chi_square")
    from driftwarden.detectors import chi_square, psi

    assert detectors.psi is psi
    assert callable(psi)
    assert callable(chi_square)
    assert psi([50, 30, 20], [50, 30, 20]).statistic == 0.0
