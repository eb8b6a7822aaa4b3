"""Reference performance: the value on all rows and the bootstrap spread at `rows` rows."""

from __future__ import annotations

import math

import numpy as np
import pytest

from driftwarden.detectors.errors import DetectorInputError
from driftwarden.detectors.performance import (
    classification_reference,
    realised_metrics,
    regression_reference,
    uniform_edges,
)
from tests.support.classifiers import LogisticWorld


def test_values_are_the_metrics_of_all_reference_rows() -> None:
    rng = np.random.default_rng(1)
    labels, predicted, scores = LogisticWorld().sample(rng, 20_000)
    state, reference = classification_reference(
        labels, predicted, scores, ["0", "1"], uniform_edges()
    )
    metrics = realised_metrics(state)
    assert {m: r.value for m, r in reference.items()} == {
        m: v for m, v in metrics.items() if m not in {"n_labelled", "n_scored"}
    }
    assert all(r.n_reference == 20_000 and r.rows == 10_000 for r in reference.values())


def test_the_accuracy_spread_matches_the_binomial_standard_error() -> None:
    rng = np.random.default_rng(2)
    labels, predicted, scores = LogisticWorld().sample(rng, 50_000)
    _, reference = classification_reference(
        labels, predicted, scores, ["0", "1"], uniform_edges(), resamples=400, rows=5_000
    )
    accuracy = reference["accuracy"]
    binomial = math.sqrt(accuracy.value * (1 - accuracy.value) / 5_000)
    assert accuracy.std == pytest.approx(binomial, rel=0.15)


def test_the_spread_is_reproducible_for_a_seed() -> None:
    rng = np.random.default_rng(3)
    rows = LogisticWorld().sample(rng, 5_000)
    first = classification_reference(*rows, ["0", "1"], uniform_edges(), seed=4)[1]
    second = classification_reference(*rows, ["0", "1"], uniform_edges(), seed=4)[1]
    assert first == second


def test_without_scores_only_count_metrics_have_a_reference() -> None:
    rng = np.random.default_rng(4)
    labels, predicted, _ = LogisticWorld().sample(rng, 5_000)
    _, reference = classification_reference(labels, predicted, None, ["0", "1"], uniform_edges())
    assert set(reference) == {"accuracy", "precision", "recall", "f1"}


def test_regression_reference_has_mae_rmse_and_mean_error() -> None:
    rng = np.random.default_rng(5)
    actual = rng.normal(size=20_000)
    predicted = actual + rng.normal(0.1, 1.0, 20_000)
    state, reference = regression_reference(actual, predicted)
    assert set(reference) == {"mae", "rmse", "mean_error"}
    assert reference["mean_error"].std == pytest.approx(1.0 / math.sqrt(10_000), rel=0.15)
    assert state.n == 20_000


def test_an_empty_reference_is_refused() -> None:
    with pytest.raises(DetectorInputError, match="at least one labelled row"):
        regression_reference(np.array([]), np.array([]))
