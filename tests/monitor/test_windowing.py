"""Counting into windows bins every value exactly as the baseline builder binned training data."""

from __future__ import annotations

import math

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
                if np.abs(values).max() < 1e150:  # beyond, the moments may saturate at inf
                    expected_sum = math.fsum(values)
                    assert math.isclose(
                        state.sums[slot.index], expected_sum, rel_tol=1e-9, abs_tol=1e-6
                    )
        label = batch.columns[LABEL.index]
        codes = label.values[mask & (label.values >= 0)]
        expected = np.bincount(codes, minlength=LABEL.n_bins)
        assert state.bins[LABEL.offset : LABEL.stop].tolist() == expected.tolist()
