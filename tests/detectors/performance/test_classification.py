"""The classification window state: counting, merging, serialising, refusing bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwarden.detectors.errors import DetectorInputError
from driftwarden.detectors.performance import ClassificationState, uniform_edges
from driftwarden.detectors.performance.classification import score_bins

PROPERTY = settings(max_examples=40, deadline=None)


def _rows(seed: int, n: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, n)
    predicted = rng.integers(0, k, n)
    scores = rng.random(n) if k == 2 else rng.dirichlet(np.ones(k), size=n)
    return labels, predicted, scores


def _state(k: int, rows: tuple[np.ndarray, ...], bins: int = 50) -> ClassificationState:
    state = ClassificationState.empty([f"c{i}" for i in range(k)], uniform_edges(bins))
    state.add_batch(*rows)
    return state


def _assert_same(a: ClassificationState, b: ClassificationState) -> None:
    left, right = a.to_dict(), b.to_dict()
    for key in ("classes", "confusion", "true_hist", "pred_hist", "n_scored", "ece_count"):
        assert left[key] == right[key], key
    for key in ("brier_sum", "log_loss_sum"):
        assert left[key] == pytest.approx(right[key], rel=1e-9, abs=1e-9)
    np.testing.assert_allclose(left["ece_confidence"], right["ece_confidence"], atol=1e-9)
    assert left["ece_correct"] == right["ece_correct"]


@PROPERTY
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 300),
    k=st.integers(2, 5),
    cut=st.floats(0, 1),
)
def test_merging_two_parts_equals_counting_their_union(
    seed: int, n: int, k: int, cut: float
) -> None:
    rows = _rows(seed, n, k)
    split = int(cut * n)
    first = _state(k, tuple(r[:split] for r in rows))
    second = _state(k, tuple(r[split:] for r in rows))
    _assert_same(first.merge(second), _state(k, rows))


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 200), k=st.integers(2, 4))
def test_to_dict_is_plain_json_and_round_trips(seed: int, n: int, k: int) -> None:
    state = _state(k, _rows(seed, n, k))
    text = json.dumps(state.to_dict(), allow_nan=False)
    again = ClassificationState.from_dict(json.loads(text))
    assert again.to_dict() == state.to_dict()


def test_predictions_without_labels_fill_only_the_prediction_histogram() -> None:
    """A window counts predictions at prediction time; outcomes come later."""
    _labels, predicted, scores = _rows(1, 100, 2)
    state = _state(2, (None, predicted, scores))  # type: ignore[arg-type]
    assert state.n_predicted == 100
    assert state.n_labelled == 0
    assert state.true_hist.sum() == 0
    assert state.n_scored == 0


def test_labels_are_accepted_as_class_names_and_booleans_as_json_spells_them() -> None:
    state = ClassificationState.empty(["false", "true"], uniform_edges(10))
    state.add_batch(np.array([True, False, True]), np.array(["true", "true", "false"]), None)
    assert state.confusion.tolist() == [[0, 1], [1, 1]]


def test_encode_marks_labels_outside_the_baseline_classes_with_minus_one() -> None:
    state = ClassificationState.empty(["a", "b", "c"], uniform_edges(10))
    assert state.encode(np.array(["c", "zzz", "a"], dtype=object)).tolist() == [2, -1, 0]


def test_an_unknown_label_is_refused_with_the_classes_named() -> None:
    state = ClassificationState.empty(["0", "1"], uniform_edges(10))
    with pytest.raises(DetectorInputError, match=r"'7'.*\['0', '1'\]"):
        state.add_batch(np.array(["7"]), np.array([0]), None)


def test_scores_outside_zero_one_are_refused_as_not_probabilities() -> None:
    state = ClassificationState.empty(["0", "1"], uniform_edges(10))
    with pytest.raises(DetectorInputError, match="probabilities in"):
        state.add_batch(np.array([1]), np.array([1]), np.array([1.7]))


def test_rows_with_a_missing_score_count_in_the_confusion_matrix_only() -> None:
    state = ClassificationState.empty(["0", "1"], uniform_edges(10))
    state.add_batch(np.array([1, 0]), np.array([1, 1]), np.array([0.9, np.nan]))
    assert state.n_labelled == 2
    assert state.n_scored == 1
    assert state.pred_hist.sum() == 1


def test_a_score_of_exactly_one_lands_in_the_last_bin() -> None:
    state = ClassificationState.empty(["0", "1"], uniform_edges(10))
    state.add_batch(np.array([1]), np.array([1]), np.array([1.0]))
    assert state.true_hist[0, 1, 9] == 1


def test_merging_states_of_different_classes_is_refused() -> None:
    a = ClassificationState.empty(["0", "1"], uniform_edges(10))
    b = ClassificationState.empty(["0", "2"], uniform_edges(10))
    with pytest.raises(DetectorInputError, match="same baseline"):
        a.merge(b)


def test_a_state_with_counts_of_the_wrong_shape_is_refused_on_load() -> None:
    raw = ClassificationState.empty(["0", "1"], uniform_edges(10)).to_dict()
    raw["confusion"] = [[0, 0, 0]]
    with pytest.raises(DetectorInputError, match="not readable"):
        ClassificationState.from_dict(raw)


def test_the_state_stays_the_same_size_however_many_rows_it_counts() -> None:
    small = _state(3, _rows(2, 10, 3))
    large = _state(3, _rows(3, 50_000, 3))
    assert len(json.dumps(small.to_dict())) > 0
    assert small.pred_hist.shape == large.pred_hist.shape
    assert small.confusion.shape == large.confusion.shape


@PROPERTY
@given(
    bins=st.integers(1, 400),
    seed=st.integers(0, 2**32 - 1),
    uniform=st.booleans(),
)
def test_score_bins_agree_with_a_binary_search_over_the_edges_even_at_the_edges(
    bins: int, seed: int, uniform: bool
) -> None:
    rng = np.random.default_rng(seed)
    if uniform:
        edges = uniform_edges(bins)
    else:
        edges = np.concatenate([[0.0], np.sort(rng.random(bins - 1)), [1.0]])
    scores = np.concatenate([rng.random(500), edges, [0.0, 1.0]])
    expected = np.clip(np.searchsorted(edges, scores, side="right") - 1, 0, bins - 1)
    assert score_bins(edges, scores).tolist() == expected.tolist()
