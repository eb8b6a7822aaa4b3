"""The calibration map: used only when it helps out of fold, judged along the score."""

from __future__ import annotations

import numpy as np
import pytest

from driftwarden.detectors.errors import DetectorInputError
from driftwarden.detectors.performance import fit_calibration, uniform_edges
from driftwarden.detectors.performance.calibration import (
    expected_calibration_error,
    hosmer_lemeshow,
)
from tests.support.classifiers import LogisticWorld, non_monotone_scores


def test_an_overconfident_model_gets_the_map_and_ends_up_calibrated_out_of_fold() -> None:
    rng = np.random.default_rng(1)
    labels, _, scores = LogisticWorld(temperature=2.0).sample(rng, 30_000)
    column = fit_calibration(labels, scores, ["0", "1"], uniform_edges()).columns[0]
    assert column.mapped
    assert column.ece_raw > 0.05
    assert column.ece < 0.01
    assert column.p_value > 0.01


def test_the_map_is_monotone_and_follows_the_observed_rate() -> None:
    rng = np.random.default_rng(2)
    labels, _, scores = LogisticWorld(temperature=0.5).sample(rng, 30_000)
    column = fit_calibration(labels, scores, ["0", "1"], uniform_edges(20)).columns[0]
    assert np.all(np.diff(column.probabilities) >= 0)
    edges = uniform_edges(20)
    inside = (scores >= edges[10]) & (scores < edges[11])
    assert column.probabilities[10] == pytest.approx(labels[inside].mean(), abs=0.02)


def test_a_non_monotone_model_stays_miscalibrated_along_the_score() -> None:
    rng = np.random.default_rng(3)
    labels, _, scores = non_monotone_scores(rng, 30_000)
    column = fit_calibration(labels, scores, ["0", "1"], uniform_edges()).columns[0]
    assert column.ece > 0.1
    assert column.p_value < 1e-6


def test_the_fit_is_deterministic_for_a_seed() -> None:
    rng = np.random.default_rng(4)
    labels, _, scores = LogisticWorld().sample(rng, 5_000)
    first = fit_calibration(labels, scores, ["0", "1"], uniform_edges(), seed=3)
    second = fit_calibration(labels, scores, ["0", "1"], uniform_edges(), seed=3)
    assert first.to_dict() == second.to_dict()


def test_a_perfect_forecast_has_zero_calibration_error_and_no_evidence_against_it() -> None:
    rng = np.random.default_rng(5)
    probabilities = rng.uniform(0, 1, 200_000)
    positive = rng.random(200_000) < probabilities
    assert expected_calibration_error(probabilities, positive, probabilities) < 0.005
    assert hosmer_lemeshow(probabilities, positive, probabilities) > 0.001


def test_too_few_reference_rows_are_refused_with_the_fix() -> None:
    with pytest.raises(DetectorInputError, match="more labelled data"):
        fit_calibration(np.array([0, 1]), np.array([0.2, 0.8]), ["0", "1"], uniform_edges())
