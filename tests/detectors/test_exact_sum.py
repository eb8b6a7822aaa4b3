"""Exact sums of floats: equal to the rational sum, whatever the values' order and scale."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from driftwarden.detectors import exact_sum as module
from driftwarden.detectors.exact_sum import UNIT_EXPONENT, exact_mean, exact_sum, units

UNIT = Fraction(2) ** UNIT_EXPONENT
LARGEST = 1.7976931348623157e308
SMALLEST = 5e-324

finite = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(min_value=-1e-300, max_value=1e-300),  # subnormals included
    st.floats(min_value=-1e3, max_value=1e3),
    st.sampled_from([SMALLEST, -SMALLEST, 2.2250738585072014e-308, LARGEST, -LARGEST, -0.0]),
)
arrays = hnp.arrays(np.float64, st.integers(0, 400), elements=finite)


def rational_sum(values: np.ndarray) -> Fraction:
    return sum(map(Fraction, values.tolist()), Fraction(0))


@settings(max_examples=500, deadline=None)
@given(arrays)
def test_the_sum_is_the_rational_sum_of_the_values(values: np.ndarray) -> None:
    assert exact_sum(values) * UNIT == rational_sum(values)


@settings(max_examples=300, deadline=None)
@given(arrays)
def test_sorted_values_give_the_same_sum_as_any_order(values: np.ndarray) -> None:
    shuffled = values.copy()
    np.random.default_rng(len(values)).shuffle(shuffled)
    assert exact_sum(np.sort(values), ascending=True) == exact_sum(shuffled)


@settings(max_examples=300, deadline=None)
@given(hnp.arrays(np.float64, st.integers(1, 400), elements=finite))
def test_the_mean_is_the_rational_mean_correctly_rounded(values: np.ndarray) -> None:
    mean = exact_mean(exact_sum(values), len(values))
    assert mean == float(rational_sum(values) / len(values))
    assert math.isfinite(mean)  # the mean of finite floats never overflows


@pytest.mark.parametrize(
    "values",
    [
        [],
        [0.0, -0.0],
        [SMALLEST] * 7,  # subnormals only: summed per exponent
        [LARGEST] * 5 + [-LARGEST] * 2,  # past float range on the way: summed per exponent
        [1e300, 1e-300, -1e300, 3.0],  # more exponents than the passes reach
        [2.0**-1060, 3 * 2.0**-1022],
        [0.1] * 10,  # the float sum is 0.9999999999999999
        [1e16, 1.0, -1e16],  # the float sum is 0.0
    ],
)
def test_edge_cases_are_exact(values: list[float]) -> None:
    array = np.array(values, dtype=np.float64)
    assert exact_sum(array) * UNIT == rational_sum(array)
    assert exact_sum(np.sort(array), ascending=True) * UNIT == rational_sum(array)


def test_float_sums_that_lose_bits_are_not_what_it_returns() -> None:
    """Ten 0.1s sum to exactly 10 times the float 0.1, not to the float sum 0.9999999999999999."""
    total = exact_sum(np.full(10, 0.1))
    assert total == 10 * units(0.1)
    assert exact_mean(total, 10) == 0.1


def test_long_arrays_are_summed_in_chunks_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "_CHUNK", 64)
    rng = np.random.default_rng(7)
    values = rng.normal(0, 1, 1000) * 10.0 ** rng.integers(-300, 300, 1000)
    assert exact_sum(values) * UNIT == rational_sum(values)
    assert exact_sum(np.sort(values), ascending=True) * UNIT == rational_sum(values)


@given(finite)
def test_units_are_exact(value: float) -> None:
    assert units(value) * UNIT == Fraction(value)
