"""The regression window state: exact sums, merge, round trip, refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwarden.detectors.errors import DetectorInputError
from driftwarden.detectors.performance import RegressionState


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 300), cut=st.floats(0, 1))
def test_merging_two_parts_equals_counting_their_union(seed: int, n: int, cut: float) -> None:
    rng = np.random.default_rng(seed)
    actual, predicted = rng.normal(size=n), rng.normal(size=n)
    split = int(cut * n)
    first, second, whole = RegressionState(), RegressionState(), RegressionState()
    first.add_batch(actual[:split], predicted[:split])
    second.add_batch(actual[split:], predicted[split:])
    whole.add_batch(actual, predicted)
    merged = first.merge(second)
    assert merged.n == whole.n
    for key in ("sum_error", "sum_abs_error", "sum_squared_error"):
        assert merged.to_dict()[key] == pytest.approx(whole.to_dict()[key], abs=1e-9)


def test_to_dict_round_trips_through_json() -> None:
    state = RegressionState()
    state.add_batch(np.array([1.0, 2.0]), np.array([1.5, 1.0]))
    again = RegressionState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert again.to_dict() == state.to_dict()
    assert state.to_dict() == {
        "n": 2,
        "sum_error": -0.5,
        "sum_abs_error": 1.5,
        "sum_squared_error": 1.25,
    }


def test_a_missing_outcome_is_refused_so_the_caller_can_dead_letter_it() -> None:
    with pytest.raises(DetectorInputError, match="missing or infinite"):
        RegressionState().add_batch(np.array([np.nan]), np.array([1.0]))
