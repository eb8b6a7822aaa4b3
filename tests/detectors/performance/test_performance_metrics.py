"""Realised metrics against scikit-learn on the same rows.

Count metrics must be equal (the same counts, the same formula); roc_auc comes
from score histograms, so it is exact when no two different scores share a bin
and within 0.01 when scores are spread out.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as sk

from driftwarden.detectors.performance import (
    ClassificationState,
    RegressionState,
    realised_metrics,
    uniform_edges,
)
from driftwarden.detectors.performance.classification import CALIBRATION_BINS

PROPERTY = settings(max_examples=50, deadline=None)


def _classes(k: int) -> list[str]:
    return [f"c{i}" for i in range(k)]


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 400), k=st.integers(2, 6))
def test_accuracy_precision_recall_f1_equal_scikit_learn(seed: int, n: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, n)
    predicted = np.where(rng.random(n) < 0.6, labels, rng.integers(0, k, n))
    state = ClassificationState.empty(_classes(k), uniform_edges(20))
    state.add_batch(labels, predicted, None)
    got = realised_metrics(state)
    options = {"zero_division": 0.0, **({"pos_label": 1} if k == 2 else {"average": "macro"})}
    assert got["accuracy"] == sk.accuracy_score(labels, predicted)
    assert got["precision"] == sk.precision_score(labels, predicted, **options)
    assert got["recall"] == sk.recall_score(labels, predicted, **options)
    assert got["f1"] == sk.f1_score(labels, predicted, **options)
    assert got["n_labelled"] == n


def _binary_rows(
    seed: int, n: int, *, grid: int | None, shape: tuple[float, float] = (1.0, 5.0)
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    labels[:2] = [0, 1]  # both classes, so roc_auc is defined
    a, b = rng.uniform(*shape, size=2)
    scores = np.clip(rng.beta(a, b, n) + 0.15 * labels * rng.random(), 0, 1)
    if grid is not None:  # one distinct score per bin: the histogram loses nothing
        scores = (np.floor(scores * grid).clip(0, grid - 1) + 0.5) / grid
    return labels, (scores >= 0.5).astype(np.int64), scores


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 400))
def test_binary_roc_auc_is_exact_when_each_bin_holds_one_distinct_score(seed: int, n: int) -> None:
    labels, predicted, scores = _binary_rows(seed, n, grid=200)
    state = ClassificationState.empty(["0", "1"], uniform_edges(200))
    state.add_batch(labels, predicted, scores)
    assert realised_metrics(state)["roc_auc"] == pytest.approx(
        sk.roc_auc_score(labels, scores), abs=1e-12
    )


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(200, 3000))
def test_binary_roc_auc_from_histograms_is_within_0_01_of_scikit_learn(seed: int, n: int) -> None:
    """Scores spread over [0, 1] (beta shapes 1-5), the case the 0.01 promise is about."""
    labels, predicted, scores = _binary_rows(seed, n, grid=None)
    state = ClassificationState.empty(["0", "1"], uniform_edges(200))
    state.add_batch(labels, predicted, scores)
    assert abs(realised_metrics(state)["roc_auc"] - sk.roc_auc_score(labels, scores)) <= 0.01


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 2000))
def test_roc_auc_error_never_exceeds_half_the_share_of_pairs_sharing_a_bin(
    seed: int, n: int
) -> None:
    """The exact bound for any scores, even piled up in one bin (beta shape 0.1)."""
    labels, predicted, scores = _binary_rows(seed, n, grid=None, shape=(0.1, 5.0))
    state = ClassificationState.empty(["0", "1"], uniform_edges(200))
    state.add_batch(labels, predicted, scores)
    positives = state.true_hist[0, 1].astype(float)
    negatives = state.true_hist[0, 0].astype(float)
    bound = 0.5 * float(positives @ negatives) / (positives.sum() * negatives.sum())
    error = abs(realised_metrics(state)["roc_auc"] - sk.roc_auc_score(labels, scores))
    assert error <= bound + 1e-12


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(200, 2000), k=st.integers(3, 5))
def test_multiclass_roc_auc_is_within_0_01_of_one_vs_rest_macro(seed: int, n: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, n)
    labels[:k] = np.arange(k)
    logits = rng.normal(size=(n, k)) + 1.5 * np.eye(k)[labels] * rng.random()
    scores = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    state = ClassificationState.empty(_classes(k), uniform_edges(200))
    state.add_batch(labels, scores.argmax(axis=1), scores)
    expected = sk.roc_auc_score(labels, scores, multi_class="ovr", average="macro")
    assert abs(realised_metrics(state)["roc_auc"] - expected) <= 0.01


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 400), k=st.integers(2, 5))
def test_brier_and_log_loss_equal_scikit_learn(seed: int, n: int, k: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, n)
    probabilities = rng.dirichlet(np.ones(k), size=n)
    state = ClassificationState.empty(_classes(k), uniform_edges(50))
    state.add_batch(labels, probabilities.argmax(axis=1), probabilities)
    got = realised_metrics(state)
    scores = probabilities[:, 1] if k == 2 else probabilities
    assert got["brier"] == pytest.approx(
        sk.brier_score_loss(labels, scores, labels=list(range(k))), rel=1e-9
    )
    assert got["log_loss"] == pytest.approx(
        sk.log_loss(labels, probabilities, labels=list(range(k))), rel=1e-9
    )


def _ece(confidence: np.ndarray, correct: np.ndarray) -> float:
    """Equal-width bins, written out row by row as the textbook states it."""
    total = 0.0
    for b in range(CALIBRATION_BINS):
        low, high = b / CALIBRATION_BINS, (b + 1) / CALIBRATION_BINS
        inside = (confidence >= low) & ((confidence < high) | (b == CALIBRATION_BINS - 1))
        if inside.any():
            gap = abs(correct[inside].mean() - confidence[inside].mean())
            total += inside.sum() / confidence.size * gap
    return total


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 400), k=st.integers(2, 4))
def test_ece_matches_the_textbook_definition(seed: int, n: int, k: int) -> None:
    """Binary: on the positive-class score; multi-class: top-label confidence."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, n)
    probabilities = rng.dirichlet(np.ones(k), size=n)
    state = ClassificationState.empty(_classes(k), uniform_edges(50))
    state.add_batch(labels, probabilities.argmax(axis=1), probabilities)
    if k == 2:
        expected = _ece(probabilities[:, 1], labels == 1)
    else:
        expected = _ece(probabilities.max(axis=1), probabilities.argmax(axis=1) == labels)
    assert realised_metrics(state)["ece"] == pytest.approx(expected, abs=1e-9)


def test_score_metrics_are_absent_when_the_window_has_no_scores() -> None:
    state = ClassificationState.empty(["0", "1"], uniform_edges(10))
    state.add_batch(np.array([0, 1]), np.array([0, 1]), None)
    got = realised_metrics(state)
    assert got["accuracy"] == 1.0
    assert not {"roc_auc", "brier", "log_loss", "ece"} & set(got)


def test_roc_auc_is_absent_when_the_window_holds_one_class_only() -> None:
    state = ClassificationState.empty(["0", "1"], uniform_edges(10))
    state.add_batch(np.array([1, 1]), np.array([1, 0]), np.array([0.9, 0.2]))
    assert "roc_auc" not in realised_metrics(state)


@PROPERTY
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 400))
def test_regression_metrics_equal_scikit_learn(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    actual = rng.normal(10, 3, n)
    predicted = actual + rng.normal(0.5, 2, n)
    state = RegressionState.empty()
    state.add_batch(actual, predicted)
    got = realised_metrics(state)
    assert got["mae"] == pytest.approx(sk.mean_absolute_error(actual, predicted), rel=1e-9)
    assert got["rmse"] == pytest.approx(sk.root_mean_squared_error(actual, predicted), rel=1e-9)
    assert got["mean_error"] == pytest.approx(float(np.mean(predicted - actual)), rel=1e-9)
