"""Performance estimated from scores before labels arrive, and when not to trust it.

The synthetic worlds (tests/support/classifiers.py) know the truth: the
estimate is compared with the realised metrics of the same windows' labels.
"""

from __future__ import annotations

import numpy as np
import pytest

from driftwarden.detectors.performance import (
    Calibration,
    ClassificationState,
    estimate_metrics,
    fit_calibration,
    realised_metrics,
    uniform_edges,
)
from tests.support.classifiers import LogisticWorld, SoftmaxWorld, non_monotone_scores

BINARY = ["0", "1"]


def _window(
    classes: list[str], rows: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> ClassificationState:
    state = ClassificationState.empty(classes, uniform_edges())
    state.add_batch(*rows)
    return state


def _errors_under_covariate_shift(
    world: LogisticWorld | SoftmaxWorld, classes: list[str], *, windows: int, seed: int
) -> tuple[dict[str, float], int]:
    rng = np.random.default_rng(seed)
    labels, _, scores = world.sample(rng, 50_000)
    calibration = fit_calibration(labels, scores, classes, uniform_edges())
    errors: dict[str, list[float]] = {"accuracy": [], "roc_auc": [], "f1": []}
    reliable = 0
    for _ in range(windows):
        shift = (float(rng.uniform(-1, 1)), float(rng.uniform(-1, 1)))
        state = _window(classes, world.sample(rng, 10_000, shift=shift))
        realised = realised_metrics(state)
        estimate = estimate_metrics(state, calibration)
        reliable += estimate.reliable
        for metric, values in errors.items():
            values.append(abs(estimate.metrics[metric] - realised[metric]))
    return {metric: float(np.mean(v)) for metric, v in errors.items()}, reliable


@pytest.mark.parametrize(
    "temperature",
    [
        pytest.param(1.0, id="calibrated"),
        pytest.param(2.0, id="overconfident-repaired-by-the-isotonic-map"),
    ],
)
def test_estimate_tracks_realised_accuracy_and_roc_auc_under_covariate_shift(
    temperature: float,
) -> None:
    """The issue's bar: mean absolute error <= 0.01 over >= 50 windows."""
    errors, reliable = _errors_under_covariate_shift(
        LogisticWorld(temperature=temperature), BINARY, windows=50, seed=7
    )
    assert errors["accuracy"] <= 0.01
    assert errors["roc_auc"] <= 0.01
    assert errors["f1"] <= 0.01
    assert reliable == 50


def test_multiclass_estimate_tracks_realised_accuracy_and_roc_auc() -> None:
    errors, reliable = _errors_under_covariate_shift(
        SoftmaxWorld(), ["a", "b", "c"], windows=20, seed=5
    )
    assert errors["accuracy"] <= 0.01
    assert errors["roc_auc"] <= 0.01
    assert reliable == 20


def test_a_model_no_calibration_map_can_repair_is_flagged_not_silently_wrong() -> None:
    rng = np.random.default_rng(3)
    labels, _, scores = non_monotone_scores(rng, 50_000)
    calibration = fit_calibration(labels, scores, BINARY, uniform_edges())
    state = _window(BINARY, non_monotone_scores(rng, 10_000))
    estimate = estimate_metrics(state, calibration)
    realised = realised_metrics(state)
    assert abs(estimate.metrics["accuracy"] - realised["accuracy"]) > 0.05  # would mislead
    assert not estimate.reliable
    assert "not calibrated on the reference" in estimate.reasons[0]


def test_scores_in_bins_the_reference_never_saw_make_the_estimate_unreliable() -> None:
    rng = np.random.default_rng(4)
    world = LogisticWorld(weights=(0.5, -0.3), bias=0.0)  # reference scores stay mid-range
    labels, _, scores = world.sample(rng, 20_000)
    calibration = fit_calibration(labels, scores, BINARY, uniform_edges())
    far = LogisticWorld(weights=(0.5, -0.3), bias=4.0)  # scores pushed near 1
    estimate = estimate_metrics(_window(BINARY, far.sample(rng, 2_000)), calibration)
    assert not estimate.reliable
    assert any("never saw" in reason for reason in estimate.reasons)


def test_a_small_window_is_estimated_but_flagged_as_small() -> None:
    rng = np.random.default_rng(5)
    world = LogisticWorld()
    labels, _, scores = world.sample(rng, 20_000)
    calibration = fit_calibration(labels, scores, BINARY, uniform_edges())
    estimate = estimate_metrics(_window(BINARY, world.sample(rng, 50)), calibration)
    assert "accuracy" in estimate.metrics
    assert not estimate.reliable
    assert estimate.reasons == ("only 50 scored predictions; an estimate needs at least 300",)


def test_concept_drift_is_invisible_to_the_estimate_and_visible_in_realised_accuracy() -> None:
    """The documented limit: scores cannot show that P(y | x) changed."""
    rng = np.random.default_rng(6)
    world = LogisticWorld()
    labels, _, scores = world.sample(rng, 50_000)
    calibration = fit_calibration(labels, scores, BINARY, uniform_edges())
    state = _window(BINARY, world.sample(rng, 10_000, concept_flip=0.2))
    estimate = estimate_metrics(state, calibration)
    realised = realised_metrics(state)
    assert estimate.reliable
    assert estimate.metrics["accuracy"] - realised["accuracy"] > 0.05


def test_predictions_without_labels_give_the_same_estimate_as_labelled_ones() -> None:
    rng = np.random.default_rng(8)
    world = LogisticWorld()
    labels, _, scores = world.sample(rng, 20_000)
    calibration = fit_calibration(labels, scores, BINARY, uniform_edges())
    rows = world.sample(rng, 3_000)
    unlabelled = ClassificationState.empty(BINARY, uniform_edges())
    unlabelled.add_batch(None, rows[1], rows[2])
    assert estimate_metrics(unlabelled, calibration) == estimate_metrics(
        _window(BINARY, rows), calibration
    )


def test_a_window_without_scored_predictions_has_no_estimate() -> None:
    rng = np.random.default_rng(9)
    labels, _, scores = LogisticWorld().sample(rng, 1_000)
    calibration = fit_calibration(labels, scores, BINARY, uniform_edges())
    estimate = estimate_metrics(ClassificationState.empty(BINARY, uniform_edges()), calibration)
    assert estimate.metrics == {}
    assert not estimate.reliable


def test_calibration_round_trips_through_plain_json() -> None:
    rng = np.random.default_rng(10)
    labels, _, scores = SoftmaxWorld().sample(rng, 5_000)
    calibration = fit_calibration(labels, scores, ["a", "b", "c"], uniform_edges(50))
    again = Calibration.from_dict(calibration.to_dict())
    assert again.to_dict() == calibration.to_dict()
