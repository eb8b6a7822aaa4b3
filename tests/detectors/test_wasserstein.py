"""Wasserstein-1 distance between binned distributions.

Two references, two tolerances:

- The piecewise-linear integral itself is checked against
  `scipy.stats.wasserstein_distance` on a fine discretisation of the same
  distributions (each bin's mass as S evenly spaced points): the discretisation
  is within W1 = w / (4S) of the uniform spread in a bin of width w, so the
  tolerance is 2 * max_width / (4S) per pair, plus 1e-9 for rounding.
- Against scipy on the raw samples the binning itself is the error: samples
  anywhere in a bin of width w are within W1 = w / 2 of the uniform spread, and
  out-of-range samples sit at distance |x - placed point| from where their mass
  is put, so |W_binned - W_raw| <= sum_i (p_i + q_i) * w_i / 2 + out-of-range
  terms (triangle inequality). That worst case (all mass on bin edges) is
  asserted, and it is loose: with 200 quantile bins of 4000 reference samples it
  is 4-10% of the distance while the measured error was at most 1.2% (plus
  2e-4 at no shift), so 2% of the distance + 0.001 is asserted as well.
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from driftwarden.detectors.errors import DetectorInputError
from driftwarden.detectors.wasserstein import wasserstein_binned

PROPERTY = settings(max_examples=60, deadline=None)
FloatArray = npt.NDArray[np.float64]
EDGES = [0.0, 1.0, 2.0]


@st.composite
def binned_pairs(draw: st.DrawFn) -> tuple[list[int], list[int], list[float]]:
    """Two count vectors with K+2 slots and K+1 strictly increasing edges."""
    k = draw(st.integers(1, 10))
    widths = draw(st.lists(st.floats(0.01, 10.0), min_size=k, max_size=k))
    start = draw(st.floats(-100.0, 100.0))
    edges = (start + np.concatenate([[0.0], np.cumsum(widths)])).tolist()
    vector = st.lists(st.integers(0, 1000), min_size=k + 2, max_size=k + 2)
    nonempty = vector.filter(lambda v: sum(v) > 0)
    return draw(nonempty), draw(nonempty), edges


def bin_counts(x: FloatArray, edges: FloatArray) -> list[int]:
    inside = x[(x >= edges[0]) & (x <= edges[-1])]
    interior = np.histogram(inside, edges)[0]
    return [int(np.sum(x < edges[0])), *interior.tolist(), int(np.sum(x > edges[-1]))]


def discretised(
    counts: list[int], edges: list[float], points: int
) -> tuple[FloatArray, FloatArray]:
    """Support and weights approximating the binned distribution with `points` per bin."""
    bounds = np.asarray(edges)
    support = [np.array([bounds[0]])]
    weights = [np.array([float(counts[0])])]
    for i in range(len(bounds) - 1):
        left, width = bounds[i], bounds[i + 1] - bounds[i]
        support.append(left + width * (np.arange(points) + 0.5) / points)
        weights.append(np.full(points, counts[i + 1] / points))
    support.append(np.array([bounds[-1]]))
    weights.append(np.array([float(counts[-1])]))
    return np.concatenate(support), np.concatenate(weights)


def test_hand_computed_uniform_bins_one_bin_apart() -> None:
    # Uniform on [0, 1] against uniform on [1, 2]: every unit of mass moves by 1.
    result = wasserstein_binned([0, 10, 0, 0], [0, 0, 10, 0], EDGES, scale=1.0)
    assert result.statistic == pytest.approx(1.0, rel=1e-12)
    assert result.p_value is None
    halved = wasserstein_binned([0, 10, 0, 0], [0, 0, 10, 0], EDGES, scale=2.0)
    assert halved.statistic == pytest.approx(0.5, rel=1e-12)


def test_hand_computed_spread_over_twice_the_range() -> None:
    # U[0, 1] against U[0, 2]: integral of |x - x/2| on [0, 1] = 1/4 plus integral of
    # |1 - x/2| on [1, 2] = 1/4, total 0.5 (quantiles: integral of |t - 2t| dt = 0.5).
    result = wasserstein_binned([0, 10, 0, 0], [0, 5, 5, 0], EDGES, scale=1.0)
    assert result.statistic == pytest.approx(0.5, rel=1e-12)


def test_hand_computed_overflow_mass_sits_at_its_point() -> None:
    # U[0, 1] against a point mass at 3: integral of x on [0, 1] (= 0.5) + 1 on [1, 3] (= 2).
    moved = wasserstein_binned([0, 10, 0, 0], [0, 0, 0, 10], EDGES, scale=1.0, overflow_at=3.0)
    assert moved.statistic == pytest.approx(2.5, rel=1e-12)
    # Default overflow point e_K = 2: 0.5 + 1 = 1.5, an under-measurement of far shifts.
    default = wasserstein_binned([0, 10, 0, 0], [0, 0, 0, 10], EDGES, scale=1.0)
    assert default.statistic == pytest.approx(1.5, rel=1e-12)


def test_hand_computed_cdf_difference_crossing_zero_inside_a_bin() -> None:
    # Reference: half at 0 (underflow at e_0), half at 2 (overflow at e_K). Current: U[0, 1].
    # F_ref - F_cur = 0.5 - x on [0, 1] (crosses zero at 0.5: two triangles, 0.125 each)
    # and 0.5 - 1 on [1, 2] (0.5): total 0.75. Quantiles: int_0^.5 t dt + int_.5^1 (2 - t) dt
    # = 0.125 + 0.625 = 0.75.
    result = wasserstein_binned([5, 0, 0, 5], [0, 10, 0, 0], EDGES, scale=1.0)
    assert result.statistic == pytest.approx(0.75, rel=1e-12)


@PROPERTY
@given(binned_pairs())
def test_exact_integral_matches_scipy_on_a_fine_discretisation(
    case: tuple[list[int], list[int], list[float]],
) -> None:
    reference, current, edges = case
    points = 200
    u, u_weights = discretised(reference, edges, points)
    v, v_weights = discretised(current, edges, points)
    expected = stats.wasserstein_distance(u, v, u_weights, v_weights)
    tolerance = 2 * float(np.max(np.diff(edges))) / (4 * points) + 1e-9
    result = wasserstein_binned(reference, current, edges, scale=1.0)
    assert result.statistic == pytest.approx(expected, abs=tolerance)


@pytest.mark.parametrize(("seed", "shift", "spread"), [(0, 0.0, 1.0), (1, 0.3, 1.0), (2, 1.0, 1.5)])
def test_binned_distance_is_within_the_binning_bound_of_scipy_on_raw_samples(
    seed: int, shift: float, spread: float
) -> None:
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(4000)
    b = shift + spread * rng.standard_normal(3000)
    edges = np.quantile(a, np.linspace(0.0, 1.0, 201))
    ref, cur = bin_counts(a, edges), bin_counts(b, edges)
    low, high = b[b < edges[0]], b[b > edges[-1]]
    under = float(low.mean()) if low.size else float(edges[0])
    over = float(high.mean()) if high.size else float(edges[-1])
    scale = float(a.std())
    result = wasserstein_binned(ref, cur, edges, scale=scale, underflow_at=under, overflow_at=over)
    raw = stats.wasserstein_distance(a, b)
    p = np.array(ref[1:-1]) / len(a)
    q = np.array(cur[1:-1]) / len(b)
    bound = float(np.sum((p + q) * np.diff(edges)) / 2)
    bound += float(np.abs(low - under).sum() + np.abs(high - over).sum()) / len(b)
    assert abs(result.statistic * scale - raw) <= bound + 1e-12
    assert abs(result.statistic * scale - raw) <= 0.02 * raw + 0.001


@PROPERTY
@given(binned_pairs())
def test_zero_on_identical_symmetric_non_negative_and_scale_free(
    case: tuple[list[int], list[int], list[float]],
) -> None:
    reference, current, edges = case
    base = wasserstein_binned(reference, current, edges, scale=1.0).statistic
    assert wasserstein_binned(reference, reference, edges, scale=1.0).statistic == 0.0
    assert base >= 0.0
    backward = wasserstein_binned(current, reference, edges, scale=1.0).statistic
    assert backward == pytest.approx(base, rel=1e-9, abs=1e-9)
    tripled = wasserstein_binned([3 * c for c in reference], current, edges, scale=1.0)
    assert tripled.statistic == pytest.approx(base, rel=1e-9, abs=1e-9)
    in_std_units = wasserstein_binned(reference, current, edges, scale=4.0).statistic
    assert in_std_units == pytest.approx(base / 4.0, rel=1e-12, abs=1e-15)


@PROPERTY
@given(st.lists(st.integers(0, 1000), min_size=1, max_size=10).filter(lambda v: sum(v) > 0))
def test_shifting_interior_mass_by_k_bins_costs_exactly_k_bin_widths(shape: list[int]) -> None:
    width = 0.5
    n_bins = len(shape) + 6
    edges = (width * np.arange(n_bins + 1)).tolist()
    reference = [0, *shape, *([0] * 6), 0]
    values = [
        wasserstein_binned(
            reference, [0, *([0] * k), *shape, *([0] * (6 - k)), 0], edges, scale=1.0
        )
        for k in range(7)
    ]
    for k, result in enumerate(values):
        assert result.statistic == pytest.approx(k * width, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("scale", [0.0, -1.0])
def test_non_positive_scale_falls_back_to_raw_units(scale: float) -> None:
    result = wasserstein_binned([0, 10, 0, 0], [0, 0, 10, 0], EDGES, scale=scale)
    assert result.statistic == pytest.approx(1.0)


def test_empty_window_gives_zero() -> None:
    result = wasserstein_binned([0, 10, 0, 0], [0, 0, 0, 0], EDGES, scale=1.0)
    assert (result.statistic, result.p_value, result.n_current) == (0.0, None, 0)


@pytest.mark.parametrize(
    ("edges", "kwargs", "fragment"),
    [
        ([0.0, 1.0], {}, "2 edges for 4 count slots"),
        ([0.0, 2.0, 1.0], {}, "strictly increasing"),
        ([0.0, 1.0, float("nan")], {}, "finite"),
        (EDGES, {"underflow_at": 0.5}, "underflow_at <= e_0"),
        (EDGES, {"overflow_at": 1.5}, "overflow_at >= e_K"),
        (EDGES, {"overflow_at": float("inf")}, "not finite"),
        (EDGES, {"scale": float("nan")}, "scale"),
    ],
)
def test_inconsistent_layout_is_rejected(
    edges: list[float], kwargs: dict[str, float], fragment: str
) -> None:
    arguments: dict[str, float] = {"scale": 1.0, **kwargs}
    with pytest.raises(DetectorInputError, match=re.escape(fragment)):
        wasserstein_binned([0, 10, 0, 0], [0, 0, 10, 0], edges, **arguments)


def test_a_layout_without_interior_bins_is_rejected() -> None:
    with pytest.raises(DetectorInputError, match="at least two edges"):
        wasserstein_binned([1, 2], [2, 1], [0.0], scale=1.0)
