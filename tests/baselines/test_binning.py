"""Quantile bin edges and the shared counting function."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwarden.baselines.binning import DEFAULT_BINS, bin_counts, bin_indices, quantile_edges

# Values drawn from a few repeated "point masses" and a continuous range, so
# that ties, masses at the extremes and plain continuous data all show up.
values_strategy = st.lists(
    st.one_of(
        st.sampled_from([0.0, 1.0, -3.5, 100.0]),
        st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
        st.integers(min_value=-5, max_value=5).map(float),
    ),
    min_size=1,
    max_size=400,
)
bins_strategy = st.integers(min_value=1, max_value=40)


def _slow_slots(values: list[float], edges: list[float]) -> list[int]:
    """The counting rule written out case by case, as the reference for bin_indices."""
    k = len(edges) - 1
    out = []
    for x in values:
        if x < edges[0]:
            out.append(0)
        elif x > edges[-1]:
            out.append(k + 1)
        elif x == edges[-1]:
            out.append(k)
        else:
            out.append(next(i + 1 for i in range(k) if edges[i] <= x < edges[i + 1]))
    return out


def test_default_is_twenty_bins() -> None:
    assert DEFAULT_BINS == 20
    x = np.random.default_rng(0).normal(size=10_000)
    edges = quantile_edges(x)
    assert len(edges) == 21
    assert bin_counts(x, edges).tolist() == [0] + [500] * 20 + [0]


def test_boundaries_land_in_the_documented_slots() -> None:
    edges = np.array([0.0, 1.0, 2.0, 3.0])
    values = [-0.1, 0.0, 0.5, 1.0, 2.999, 3.0, 3.0001, -np.inf, np.inf]
    assert bin_indices(values, edges).tolist() == [0, 1, 1, 2, 3, 3, 4, 0, 4]


def test_bin_indices_returns_int64_and_counts_have_k_plus_two_slots() -> None:
    edges = np.array([0.0, 1.0, 2.0])
    assert bin_indices([0.5], edges).dtype == np.int64
    counts = bin_counts([], edges)
    assert counts.tolist() == [0, 0, 0, 0]
    assert counts.dtype == np.int64


def test_constant_column_gets_one_bin_closed_just_above_the_value() -> None:
    edges = quantile_edges([3.0] * 50)
    assert edges.tolist() == [3.0, np.nextafter(3.0, np.inf)]
    assert bin_counts([2.0, 3.0, 3.0, 4.0], edges).tolist() == [1, 2, 1]


def test_integer_column_with_few_values_gets_one_bin_per_value() -> None:
    ages = np.random.default_rng(1).integers(0, 7, size=5_000).astype(float)
    edges = quantile_edges(ages, bins=20)
    assert edges[:-1].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    counts = bin_counts(ages, edges)
    assert counts[1:-1].tolist() == [int((ages == v).sum()) for v in range(7)]
    assert bin_indices([6.5, 7.0], edges).tolist() == [8, 8]  # beyond the max: overflow


def test_point_mass_at_zero_is_isolated_from_the_continuous_part() -> None:
    rng = np.random.default_rng(2)
    balance = np.concatenate([np.zeros(850), rng.lognormal(size=150)])
    edges = quantile_edges(balance, bins=20)
    assert edges[0] == 0.0
    assert edges[1] == np.nextafter(0.0, np.inf)
    counts = bin_counts(balance, edges)
    assert counts[1] == 850
    assert (counts[2:-1] > 0).all()


def test_point_mass_at_the_maximum_gets_the_closed_last_bin() -> None:
    x = np.concatenate([np.linspace(0.0, 1.0, 100), np.full(100, 5.0)])
    edges = quantile_edges(x, bins=10)
    assert edges[-2] == 5.0
    assert edges[-1] == np.nextafter(5.0, np.inf)
    assert bin_counts(x, edges)[-2] == 100


def test_refuses_empty_and_non_finite_references() -> None:
    with pytest.raises(ValueError, match="empty"):
        quantile_edges([])
    with pytest.raises(ValueError, match="finite"):
        quantile_edges([1.0, np.nan, 2.0])
    with pytest.raises(ValueError, match="bins"):
        quantile_edges([1.0], bins=0)


@given(values=values_strategy, bins=bins_strategy)
@settings(max_examples=100, deadline=None)
def test_edges_are_strictly_increasing_and_span_the_reference(
    values: list[float], bins: int
) -> None:
    edges = quantile_edges(values, bins)
    assert len(edges) >= 2
    assert np.all(np.diff(edges) > 0)
    assert edges[0] == min(values)
    assert edges[-1] in (max(values), np.nextafter(max(values), np.inf))


@given(values=values_strategy, bins=bins_strategy)
@settings(max_examples=100, deadline=None)
def test_reference_counts_sum_to_n_with_no_empty_interior_bin(
    values: list[float], bins: int
) -> None:
    edges = quantile_edges(values, bins)
    counts = bin_counts(values, edges)
    assert counts.sum() == len(values)
    assert counts[0] == 0
    assert counts[-1] == 0
    assert (counts[1:-1] > 0).all()


@given(values=values_strategy, bins=bins_strategy)
@settings(max_examples=100, deadline=None)
def test_point_masses_are_alone_in_their_bin(values: list[float], bins: int) -> None:
    x = np.asarray(values)
    edges = quantile_edges(x, bins)
    candidates = np.quantile(np.sort(x), np.linspace(0, 1, bins + 1))
    masses = set(candidates[1:][candidates[1:] == candidates[:-1]].tolist())
    counts = bin_counts(x, edges)
    for mass in masses:
        slot = int(bin_indices([mass], edges)[0])
        assert counts[slot] == int((x == mass).sum())


@given(values=values_strategy, bins=bins_strategy)
@settings(max_examples=100, deadline=None)
def test_few_distinct_values_get_one_bin_each(values: list[float], bins: int) -> None:
    distinct = sorted(set(values))
    edges = quantile_edges(values, bins)
    if len(distinct) <= bins:
        assert edges[:-1].tolist() == distinct
        counts = bin_counts(values, edges)
        assert counts[1:-1].tolist() == [values.count(v) for v in distinct]
    else:
        assert len(edges) - 1 <= 2 * bins


@given(
    values=st.lists(st.floats(allow_nan=False), max_size=50),
    reference=values_strategy,
    bins=bins_strategy,
)
@settings(max_examples=100, deadline=None)
def test_bin_indices_matches_the_counting_rule(
    values: list[float], reference: list[float], bins: int
) -> None:
    edges = quantile_edges(reference, bins)
    probes = values + edges.tolist() + [float(np.nextafter(e, -np.inf)) for e in edges]
    assert bin_indices(probes, edges).tolist() == _slow_slots(probes, edges.tolist())
