"""Input validation shared by every histogram detector."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwarden.detectors.chi_square import chi_square
from driftwarden.detectors.counts import Histogram, as_count_pair, as_counts, shares, total
from driftwarden.detectors.errors import DetectorInputError
from driftwarden.detectors.jensen_shannon import jensen_shannon
from driftwarden.detectors.ks import ks_binned
from driftwarden.detectors.linf import linf
from driftwarden.detectors.psi import psi, total_variation
from driftwarden.detectors.wasserstein import wasserstein_binned
from driftwarden.errors import DriftwardenError


def test_lists_int_arrays_and_whole_floats_are_accepted_as_float64() -> None:
    for values in ([1, 2, 3], np.array([1, 2, 3], dtype=np.uint32), np.array([1.0, 2.0, 3.0])):
        counts = as_counts(values, name="reference")
        assert counts.dtype == np.float64
        assert counts.tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ([[1, 2], [3, 4]], "one-dimensional"),
        ([], "empty"),
        ([1, -1, 2], "negative value (-1 at bin 1)"),
        ([1.0, float("nan")], "non-finite value at bin 1"),
        ([1.0, float("inf")], "non-finite"),
        ([1.5, 2.0], "fractional value (1.5 at bin 0)"),
        (["a", "b"], "dtype"),
        ([1 + 2j], "dtype"),
    ],
)
def test_invalid_counts_raise_a_message_naming_the_vector_and_the_problem(
    values: npt.ArrayLike, fragment: str
) -> None:
    with pytest.raises(DetectorInputError, match=r"^current counts") as excinfo:
        as_counts(values, name="current")
    assert fragment in str(excinfo.value)


def test_mismatched_lengths_are_rejected_with_both_sizes() -> None:
    with pytest.raises(DetectorInputError, match=r"current counts have 2 bins but reference .* 3"):
        as_count_pair([1, 2, 3], [1, 2])


def test_detector_input_error_is_a_driftwarden_error_and_a_value_error() -> None:
    assert issubclass(DetectorInputError, DriftwardenError)
    assert issubclass(DetectorInputError, ValueError)


def test_shares_of_an_empty_vector_are_zero_not_nan() -> None:
    empty = as_counts([0, 0], name="current")
    assert shares(empty).tolist() == [0.0, 0.0]
    assert total(empty) == 0
    assert shares(as_counts([1, 3], name="current")).tolist() == [0.25, 0.75]


count_vectors = st.integers(min_value=3, max_value=12).flatmap(
    lambda k: st.tuples(
        st.lists(st.integers(0, 10_000), min_size=k, max_size=k),
        st.lists(st.integers(0, 10_000), min_size=k, max_size=k),
    )
)


@settings(max_examples=100, deadline=None)
@given(count_vectors)
def test_every_detector_gives_a_histogram_the_result_it_gives_its_counts(
    pair: tuple[list[int], list[int]],
) -> None:
    ref, cur = (np.array(v, dtype=np.int64) for v in pair)
    edges = np.arange(len(ref) - 1, dtype=np.float64)
    href, hcur = Histogram.of(ref, name="reference"), Histogram.of(cur)
    assert Histogram.of(href) is href
    assert (href.total, href.shares.tolist()) == (total(href.counts), shares(href.counts).tolist())
    for detect in (
        psi,
        jensen_shannon,
        linf,
        ks_binned,
        chi_square,
        lambda r, c: wasserstein_binned(r, c, edges, scale=1.0),
    ):
        assert detect(href, hcur) == detect(ref, cur)
    assert total_variation(href, hcur) == total_variation(ref, cur)


def test_a_histogram_is_validated_like_counts() -> None:
    with pytest.raises(DetectorInputError, match="negative value"):
        Histogram.of([1, -1])
    with pytest.raises(DetectorInputError, match="2 bins but reference counts have 3"):
        psi(Histogram.of([1, 2, 3], name="reference"), Histogram.of([1, 2]))
