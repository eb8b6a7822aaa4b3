"""Counting into windows bins every value exactly as the baseline builder binned training data."""

from __future__ import annotations

import functools
import itertools
import math
from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwarden.baselines.binning import bin_counts
from driftwarden.monitor.ingest.batch import ColumnValues, ModelBatch
from driftwarden.monitor.ingest.columns import categorical_column, numeric_column
from driftwarden.monitor.ingest.layout import ModelLayout
from driftwarden.monitor.windows.window import WindowState
from driftwarden.monitor.windows.windowing import accumulate
from tests.monitor.factories import make_baseline
from tests.monitor.test_window import same_counts

LAYOUT = ModelLayout.from_baseline(make_baseline())  # x, c, score (numeric 0..10), label
X, C, SCORE, LABEL = LAYOUT.columns
assert X.edges is not None

numbers = st.one_of(
    st.sampled_from([float(e) for e in X.edges]),  # on an edge, the closed top one included
    st.sampled_from([math.nextafter(10.0, 11.0), math.nextafter(0.0, -1.0), -0.0]),
    st.floats(min_value=-20, max_value=20),
    st.integers(min_value=-3, max_value=13),
    st.floats(allow_nan=False, allow_infinity=True, width=64),
)
cells = st.one_of(numbers, st.none(), st.just("12"), st.just(True))


def batch_of(xs: list[object], scores: list[object], labels: list[object]) -> ModelBatch:
    n = len(xs)
    return ModelBatch(
        model_id=LAYOUT.model_id,
        index=np.arange(n, dtype=np.int64),
        timestamps=np.arange(n, dtype=np.float64),
        request_ids=[None] * n,
        columns=[
            numeric_column(xs),
            categorical_column(["a"] * n, C),
            numeric_column(scores),
            categorical_column(labels, LABEL),
        ],
        unknown=np.zeros(n, dtype=np.int64),
    )


def present(column: ColumnValues, mask: np.ndarray) -> np.ndarray:
    keep = mask & ~column.missing & ~column.type_error
    return column.values[keep]


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            cells, cells, st.sampled_from(["approve", "decline", None, 3]), st.integers(0, 2)
        ),
        min_size=1,
        max_size=200,
    )
)
def test_window_counts_are_the_builders_bin_counts_value_for_value(
    rows: list[tuple[object, object, object, int]],
) -> None:
    xs, scores, labels, keys = (list(part) for part in zip(*rows, strict=True))
    batch = batch_of(xs, scores, labels)
    key_array = np.array(keys, dtype=np.int64)
    windows: dict[int, WindowState] = {}
    accumulate(LAYOUT, batch, key_array, windows)

    assert sorted(windows) == sorted(set(keys))
    for key, state in windows.items():
        mask = key_array == key
        assert state.events == int(mask.sum())
        for slot in (X, SCORE):
            column = batch.columns[slot.index]
            assert slot.edges is not None
            values = present(column, mask)
            bins = state.bins[slot.offset : slot.stop]
            assert bins.tolist() == bin_counts(values, slot.edges).tolist()
            assert state.counted[slot.index] == len(values)
            assert state.missing[slot.index] == int((column.missing & mask).sum())
            assert state.type_errors[slot.index] == int((column.type_error & mask).sum())
            if len(values):
                assert state.mins[slot.index] == values.min()
                assert state.maxs[slot.index] == values.max()
                exact = sum(map(Fraction, values.tolist()), Fraction(0))
                assert Fraction(state.sums[slot.index], 2**1074) == exact
                assert state.mean(slot.index) == float(exact / len(values))
        label = batch.columns[LABEL.index]
        codes = label.values[mask & (label.values >= 0)]
        expected = np.bincount(codes, minlength=LABEL.n_bins)
        assert state.bins[LABEL.offset : LABEL.stop].tolist() == expected.tolist()


finite = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),  # the whole range, signs mixed
    st.floats(min_value=-1e-300, max_value=1e-300),  # tiny, subnormals included
    st.sampled_from([5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308]),
    st.floats(min_value=-1e6, max_value=1e6),
    st.integers(min_value=-(2**60), max_value=2**60),
)


def count_shares(
    values: list[float], partition_of: list[int], cuts: set[int], order: list[int]
) -> WindowState:
    """Count each partition's values in batches cut at `cuts`, then merge the partitions
    in `order`: how a consumer group's members count one window."""
    shares = []
    for p in order:  # each partition's events get times 0, 1, ...: one window, key 0
        mine = [v for v, q in zip(values, partition_of, strict=True) if q == p]
        windows: dict[int, WindowState] = {}
        bounds = [0, *sorted(c for c in cuts if 0 < c < len(mine)), len(mine)]
        for start, stop in itertools.pairwise(bounds):
            piece = mine[start:stop]
            n = len(piece)
            batch = batch_of(piece, [None] * n, [None] * n)
            accumulate(LAYOUT, batch, np.zeros(n, dtype=np.int64), windows)
        shares.append(windows.get(0, WindowState.empty(LAYOUT, 0)))
    return functools.reduce(WindowState.merge, shares)


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(finite, min_size=1, max_size=300),
    data=st.data(),
)
def test_a_windows_sum_and_mean_are_exact_however_its_values_are_batched_partitioned_and_merged(
    values: list[float], data: st.DataObject
) -> None:
    """Issue 17: 3 members on 12 partitions must report the window 1 member and replay do."""
    values = [float(v) for v in values]
    partitions = data.draw(st.integers(1, 12))
    partition_of = data.draw(
        st.lists(st.integers(0, partitions - 1), min_size=len(values), max_size=len(values))
    )
    cuts = data.draw(st.sets(st.integers(1, max(1, len(values) - 1)), max_size=20))
    order = data.draw(st.permutations(range(partitions)))

    split = count_shares(values, partition_of, cuts, order)
    whole = count_shares(values, [0] * len(values), set(), [0])

    exact = sum(map(Fraction, values), Fraction(0))
    assert Fraction(split.sums[X.index], 2**1074) == exact
    assert split.sums == whole.sums
    mean = split.mean(X.index)
    assert mean == float(exact / len(values))
    assert math.copysign(1.0, mean) == math.copysign(1.0, whole.mean(X.index))
    assert same_counts(split, whole)
    assert (split.mins[X.index], split.maxs[X.index]) == (min(values), max(values))
