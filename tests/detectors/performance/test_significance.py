"""When a performance change is a finding, and how severe it is."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from driftwarden.detectors.errors import DetectorInputError
from driftwarden.detectors.performance import (
    ChangeThresholds,
    ClassificationState,
    Estimate,
    ReferenceMetric,
    classification_reference,
    estimate_findings,
    estimate_metrics,
    fit_calibration,
    performance_findings,
    realised_metrics,
    uniform_edges,
)
from tests.support.classifiers import LogisticWorld

ACCURACY = {"accuracy": ReferenceMetric(value=0.94, std=0.0024, rows=10_000, n_reference=100_000)}


def test_a_drop_of_three_points_on_five_thousand_rows_is_a_warning() -> None:
    (finding,) = performance_findings({"accuracy": 0.91}, ACCURACY, n_labelled=5_000)
    assert finding.metric == "accuracy"
    assert finding.kind == "realised"
    assert finding.change == pytest.approx(-0.03)
    assert finding.severity == "warning"
    assert finding.n == 5_000
    # z = 0.03 / (0.0024 * sqrt(10000 * (1/5000 + 1/100000)))
    z = 0.03 / (0.0024 * math.sqrt(10_000 * (1 / 5_000 + 1 / 100_000)))
    assert finding.p_value == pytest.approx(0.5 * math.erfc(z / math.sqrt(2)), rel=1e-12)


def test_the_same_drop_on_fifty_rows_is_not_significant() -> None:
    assert performance_findings({"accuracy": 0.91}, ACCURACY, n_labelled=50) == ()


def test_a_significant_change_below_the_info_threshold_is_not_a_finding() -> None:
    """A huge window makes a 0.005 drop significant; it is still too small to report."""
    assert performance_findings({"accuracy": 0.935}, ACCURACY, n_labelled=10_000_000) == ()


def test_an_improvement_is_never_a_finding() -> None:
    assert performance_findings({"accuracy": 0.99}, ACCURACY, n_labelled=5_000) == ()


def test_a_rise_of_a_loss_is_the_bad_direction() -> None:
    reference = {"log_loss": ReferenceMetric(0.2, 0.005, 10_000, 100_000)}
    (finding,) = performance_findings({"log_loss": 0.32}, reference, n_labelled=5_000)
    assert finding.severity == "critical"
    assert performance_findings({"log_loss": 0.1}, reference, n_labelled=5_000) == ()


def test_relative_thresholds_are_shares_of_the_reference_value() -> None:
    reference = {"mae": ReferenceMetric(2.0, 0.01, 10_000, 100_000)}
    (finding,) = performance_findings({"mae": 2.25}, reference, n_labelled=5_000)
    assert finding.severity == "warning"  # 12.5% worse: warning from 10%, critical from 20%
    (finding,) = performance_findings({"mae": 2.45}, reference, n_labelled=5_000)
    assert finding.severity == "critical"


def test_user_thresholds_in_metric_units_decide_the_severity() -> None:
    strict = {"accuracy": ChangeThresholds(info=0.005, warning=0.01, critical=0.02)}
    (finding,) = performance_findings(
        {"accuracy": 0.91}, ACCURACY, n_labelled=5_000, thresholds=strict
    )
    assert finding.severity == "critical"


def test_score_metrics_are_tested_at_the_number_of_scored_rows() -> None:
    reference = {"roc_auc": ReferenceMetric(0.9, 0.003, 10_000, 100_000)}
    assert performance_findings({"roc_auc": 0.85}, reference, n_labelled=5_000, n_scored=20) == ()
    assert performance_findings({"roc_auc": 0.85}, reference, n_labelled=20, n_scored=5_000)


def test_thresholds_out_of_order_are_refused() -> None:
    with pytest.raises(DetectorInputError, match="info <= warning <= critical"):
        ChangeThresholds(info=0.05, warning=0.01, critical=0.1)


def test_an_unknown_metric_with_a_threshold_is_refused() -> None:
    reference = {"speed": ReferenceMetric(1.0, 0.01, 100, 100)}
    with pytest.raises(DetectorInputError, match="speed"):
        performance_findings(
            {"speed": 0.5},
            reference,
            n_labelled=100,
            thresholds={"speed": ChangeThresholds(0.1, 0.1, 0.1)},
        )


def _reference(seed: int) -> tuple[LogisticWorld, np.random.Generator, dict, object]:
    world = LogisticWorld()
    rng = np.random.default_rng(seed)
    labels, predicted, scores = world.sample(rng, 100_000)
    _, reference = classification_reference(labels, predicted, scores, ["0", "1"], uniform_edges())
    calibration = fit_calibration(labels, scores, ["0", "1"], uniform_edges())
    return world, rng, reference, calibration


def _findings(state: ClassificationState, reference: dict, calibration: object) -> list:
    realised = performance_findings(
        realised_metrics(state), reference, n_labelled=state.n_labelled, n_scored=state.n_scored
    )
    estimate = estimate_metrics(state, calibration)  # type: ignore[arg-type]
    return [*realised, *estimate_findings(estimate, reference)]


@pytest.mark.slow
def test_a_thousand_windows_without_drift_raise_no_performance_warning() -> None:
    """The issue's calibration bar, realised and estimated, at window sizes 500-5,000."""
    world, rng, reference, calibration = _reference(seed=11)
    severities = []
    for _ in range(1_000):
        state = ClassificationState.empty(["0", "1"], uniform_edges())
        state.add_batch(*world.sample(rng, int(rng.integers(500, 5_001))))
        severities += [f.severity for f in _findings(state, reference, calibration)]
    assert [s for s in severities if s != "info"] == []
    assert len(severities) <= 5  # info findings, too, are rare


def test_concept_drift_on_the_same_windows_raises_a_warning() -> None:
    """The counterpart of the calibration test: the same machinery does fire."""
    world, rng, reference, calibration = _reference(seed=11)
    state = ClassificationState.empty(["0", "1"], uniform_edges())
    state.add_batch(*world.sample(rng, 5_000, concept_flip=0.1))
    findings = _findings(state, reference, calibration)
    assert {f.metric for f in findings if f.severity != "info"} >= {"accuracy", "roc_auc"}
    assert all(f.kind == "realised" for f in findings)  # scores cannot see concept drift


@settings(max_examples=60, deadline=None)
@given(
    drop=st.floats(0.011, 0.2),
    more=st.floats(0.001, 0.1),
    n=st.integers(100, 100_000),
    factor=st.integers(2, 10),
)
def test_a_larger_drop_or_a_larger_window_is_never_less_significant(
    drop: float, more: float, n: int, factor: int
) -> None:
    def p_value(change: float, rows: int) -> float:
        found = performance_findings(
            {"accuracy": 0.94 - change}, ACCURACY, n_labelled=rows, alpha=1 - 1e-12
        )
        return found[0].p_value if found else 1.0

    assert p_value(drop + more, n) <= p_value(drop, n)
    assert p_value(drop, n * factor) <= p_value(drop, n)


def test_an_unreliable_estimate_raises_no_finding_however_far_it_fell() -> None:
    fallen = {"accuracy": 0.5}
    unreliable = Estimate(fallen, reliable=False, reasons=("scores left the range",), n=5_000)
    assert estimate_findings(unreliable, ACCURACY) == ()
    (finding,) = estimate_findings(Estimate(fallen, reliable=True, n=5_000), ACCURACY)
    assert (finding.kind, finding.severity, finding.n) == ("estimated", "critical", 5_000)
