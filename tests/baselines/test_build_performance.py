"""`baseline build --target`: the reference performance section, built, frozen, reloaded."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from driftwarden.baselines.artifact import (
    baseline_to_body,
    canonical_json,
    decode_artifact,
    encode_artifact,
)
from driftwarden.baselines.build import build_baseline
from driftwarden.baselines.build_performance import PerformanceSpec
from driftwarden.baselines.errors import BaselineCorrupt, BaselineError, TrainingDataError
from driftwarden.baselines.schema import Schema
from driftwarden.baselines.store import load_baseline
from driftwarden.detectors.performance import (
    ClassificationState,
    RegressionState,
    realised_metrics,
)
from tests.support.classifiers import LogisticWorld, SoftmaxWorld

CREATED = "2026-01-01T00:00:00Z"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "baselines" / "credit-risk"


def _binary_table(n: int = 5_000, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels, predicted, scores = LogisticWorld().sample(rng, n)
    return {
        "x1": rng.normal(size=n),
        "score": scores,
        "label": np.where(predicted == 1, "bad", "good").astype(object),
        "defaulted": np.where(labels == 1, "bad", "good").astype(object),
    }


def _build(table: dict[str, np.ndarray], spec: PerformanceSpec | None, **kwargs: Any) -> Any:
    return build_baseline(
        "credit-risk",
        table,
        Schema(outputs=kwargs.pop("outputs", ("score", "label"))),
        version=1,
        created_at=CREATED,
        driftwarden_version="9.9",
        performance=spec,
        **kwargs,
    )


def test_binary_performance_round_trips_through_the_artifact() -> None:
    table = _binary_table()
    spec = PerformanceSpec(target="defaulted", positive_class="bad")
    baseline = _build(table, spec)
    again = decode_artifact(encode_artifact(baseline), source="test")
    perf = again.performance
    assert perf is not None
    assert (perf.task, perf.prediction, dict(perf.scores)) == ("binary", "label", {"bad": "score"})
    assert perf.classes == ("good", "bad")
    assert perf.n == 5_000
    assert again.performance.state.to_dict() == baseline.performance.state.to_dict()
    assert again.performance.calibration.to_dict() == baseline.performance.calibration.to_dict()
    assert [c.name for c in again.columns] == ["x1", "score", "label"]  # no target column


def test_reference_metrics_are_the_realised_metrics_of_the_training_rows() -> None:
    table = _binary_table()
    perf = _build(table, PerformanceSpec(target="defaulted", positive_class="bad")).performance
    state = ClassificationState.empty(["good", "bad"], perf.state.score_edges)
    state.add_batch(table["defaulted"].astype(str), table["label"].astype(str), table["score"])
    expected = realised_metrics(state)
    assert {m: r.value for m, r in perf.metrics.items()} == {
        m: v for m, v in expected.items() if m not in {"n_labelled", "n_scored"}
    }
    assert all(r.std > 0 for r in perf.metrics.values())


def test_a_binary_model_with_only_a_score_predicts_at_one_half() -> None:
    table = _binary_table()
    table["defaulted"] = (table["defaulted"] == "bad").astype(np.int64)
    del table["label"]
    perf = _build(table, PerformanceSpec(target="defaulted"), outputs=("score",)).performance
    assert (perf.classes, perf.positive_class, perf.threshold) == (("0", "1"), "1", 0.5)
    assert perf.prediction is None
    assert dict(perf.scores) == {"1": "score"}


def test_a_multiclass_model_reads_one_probability_column_per_class() -> None:
    rng = np.random.default_rng(2)
    labels, predicted, scores = SoftmaxWorld().sample(rng, 3_000)
    names = np.array(["a", "b", "c"])
    table = {
        "x": rng.normal(size=3_000),
        "p_a": scores[:, 0],
        "p_b": scores[:, 1],
        "p_c": scores[:, 2],
        "label": names[predicted].astype(object),
        "truth": names[labels].astype(object),
    }
    spec = PerformanceSpec(target="truth", scores={"a": "p_a", "b": "p_b", "c": "p_c"})
    baseline = _build(table, spec, outputs=("p_a", "p_b", "p_c", "label"))
    perf = decode_artifact(encode_artifact(baseline), source="test").performance
    assert perf.task == "multiclass"
    assert perf.score_columns == ("p_a", "p_b", "p_c")
    assert perf.metrics["accuracy"].value == pytest.approx(np.mean(labels == predicted))
    assert isinstance(perf.empty_state(), ClassificationState)


def test_a_numeric_target_with_fractions_is_a_regression_with_no_estimate() -> None:
    rng = np.random.default_rng(3)
    actual = rng.normal(100, 10, 2_000)
    table = {"x": rng.normal(size=2_000), "forecast": actual + rng.normal(0, 2, 2_000)}
    table["sales"] = actual
    perf = _build(table, PerformanceSpec(target="sales"), outputs=("forecast",)).performance
    assert (perf.task, perf.prediction, perf.calibration) == ("regression", "forecast", None)
    assert set(perf.metrics) == {"mae", "rmse", "mean_error"}
    assert isinstance(perf.empty_state(), RegressionState)


def test_classes_other_than_0_1_need_the_positive_class_named() -> None:
    with pytest.raises(BaselineError, match="--positive-class"):
        _build(_binary_table(), PerformanceSpec(target="defaulted"))


def test_a_target_that_is_a_model_output_is_refused() -> None:
    with pytest.raises(BaselineError, match="also a model output"):
        _build(_binary_table(), PerformanceSpec(target="label"))


def test_a_score_column_that_is_not_an_output_is_refused_with_the_fix() -> None:
    spec = PerformanceSpec(target="defaulted", positive_class="bad", scores=("x1",))
    with pytest.raises(BaselineError, match="--outputs x1"):
        _build(_binary_table(), spec)


def test_scores_outside_zero_one_are_refused() -> None:
    table = _binary_table()
    table["score"] = table["score"] * 4 - 2
    spec = PerformanceSpec(target="defaulted", positive_class="bad", scores=("score",))
    with pytest.raises(TrainingDataError, match="outside"):
        _build(table, spec)


def test_a_baseline_without_target_has_no_performance_section_and_keeps_its_hash() -> None:
    """Artifacts written before performance existed must keep verifying."""
    table = _binary_table()
    baseline = _build(table, None)
    assert baseline.performance is None
    assert "performance" not in baseline_to_body(baseline)
    example = load_baseline(EXAMPLE)
    assert example.performance is None
    stored = json.loads(next(EXAMPLE.glob("*.json")).read_text())
    assert (
        hashlib.sha256(canonical_json(baseline_to_body(example))).hexdigest()
        == stored["content_sha256"]
    )


def test_a_section_naming_a_column_that_is_not_an_output_is_refused_on_load() -> None:
    baseline = _build(_binary_table(), PerformanceSpec(target="defaulted", positive_class="bad"))
    body = baseline_to_body(baseline)
    body["performance"]["prediction"] = "x1"
    document = {
        "format": "driftwarden.baseline/1",
        "content_sha256": hashlib.sha256(canonical_json(body)).hexdigest(),
        "body": body,
    }
    with pytest.raises(BaselineCorrupt, match="'x1' is not one of the baseline's output"):
        decode_artifact(json.dumps(document).encode(), source="edited")


def test_an_unreadable_reference_state_is_refused_on_load() -> None:
    baseline = _build(_binary_table(), PerformanceSpec(target="defaulted", positive_class="bad"))
    body = baseline_to_body(baseline)
    body["performance"]["state"]["confusion"] = [[1]]
    document = {
        "format": "driftwarden.baseline/1",
        "content_sha256": hashlib.sha256(canonical_json(body)).hexdigest(),
        "body": body,
    }
    with pytest.raises(BaselineCorrupt, match="not readable"):
        decode_artifact(json.dumps(document).encode(), source="edited")
