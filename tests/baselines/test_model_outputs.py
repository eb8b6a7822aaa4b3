"""Reading a window's outputs and outcomes by the baseline's performance section."""

from __future__ import annotations

import math

import numpy as np
import pytest

from driftwarden.baselines.build import build_baseline
from driftwarden.baselines.build_performance import PerformanceSpec
from driftwarden.baselines.model_outputs import encode_classes, read_outputs
from driftwarden.baselines.performance import ReferencePerformance
from driftwarden.baselines.schema import Schema
from tests.support.classifiers import LogisticWorld, SoftmaxWorld


def _performance(
    table: dict[str, np.ndarray], outputs: tuple[str, ...], **spec: object
) -> ReferencePerformance:
    baseline = build_baseline(
        "m",
        table,
        Schema(outputs=outputs),
        version=1,
        created_at="2026-01-01T00:00:00Z",
        driftwarden_version="9.9",
        performance=PerformanceSpec(**spec),  # type: ignore[arg-type]
    )
    assert baseline.performance is not None
    return baseline.performance


@pytest.fixture(scope="module")
def binary_with_label() -> ReferencePerformance:
    rng = np.random.default_rng(1)
    labels, predicted, scores = LogisticWorld().sample(rng, 2_000)
    table = {"x": rng.normal(size=2_000), "score": scores, "label": predicted, "y": labels}
    return _performance(
        table, ("score", "label"), target="y", prediction="label", scores=("score",)
    )


def test_predicted_classes_and_scores_come_from_the_named_columns(
    binary_with_label: ReferencePerformance,
) -> None:
    outputs = read_outputs(
        binary_with_label,
        {"score": [0.9, None, 0.2, "x"], "label": [1, 0, None, "maybe"], "other": [1, 2, 3, 4]},
    )
    assert outputs.predicted.tolist() == [1, 0, -1, -1]
    assert outputs.scores is not None
    first, absent, low, text = outputs.scores[:, 0].tolist()
    assert (first, low) == (0.9, 0.2)
    assert math.isnan(absent)
    assert math.isnan(text)


def test_outcomes_are_spelled_like_categories_so_1_and_1_0_and_text_1_are_one_class(
    binary_with_label: ReferencePerformance,
) -> None:
    values = [1, 1.0, "1", 0, False, True, None, float("nan"), [1], "2"]
    assert encode_classes(binary_with_label, values).tolist() == [
        1,
        1,
        1,
        0,
        -1,
        -1,
        -1,
        -1,
        -1,
        -1,
    ]


def test_a_score_only_binary_model_predicts_at_its_threshold() -> None:
    rng = np.random.default_rng(2)
    labels, _, scores = LogisticWorld().sample(rng, 2_000)
    perf = _performance(
        {"x": rng.normal(size=2_000), "score": scores, "y": labels}, ("score",), target="y"
    )
    outputs = read_outputs(perf, {"score": [0.49, 0.5, None]})
    assert outputs.predicted.tolist() == [0, 1, -1]


def test_a_multiclass_model_without_a_label_predicts_its_most_probable_class() -> None:
    rng = np.random.default_rng(3)
    labels, _, scores = SoftmaxWorld().sample(rng, 2_000)
    names = np.array(["a", "b", "c"], dtype=object)
    table = {"p_a": scores[:, 0], "p_b": scores[:, 1], "p_c": scores[:, 2], "y": names[labels]}
    perf = _performance(
        table, ("p_a", "p_b", "p_c"), target="y", scores={"a": "p_a", "b": "p_b", "c": "p_c"}
    )
    outputs = read_outputs(perf, {"p_a": [0.1, 0.7], "p_b": [0.6, None], "p_c": [0.3, 0.3]})
    assert outputs.predicted.tolist() == [1, -1]
    assert outputs.scores is not None
    assert outputs.scores.shape == (2, 3)


def test_regression_outputs_are_numbers_with_nan_where_missing() -> None:
    rng = np.random.default_rng(4)
    actual = rng.normal(10, 2, 2_000)
    table = {"x": rng.normal(size=2_000), "forecast": actual + 0.5, "sales": actual}
    perf = _performance(table, ("forecast",), target="sales")
    outputs = read_outputs(perf, {"forecast": [1.5, None, "n/a"]})
    assert outputs.scores is None
    assert outputs.predicted[0] == 1.5
    assert np.isnan(outputs.predicted[1:]).all()
