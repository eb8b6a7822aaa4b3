"""monitor/verdicts/performance.py: the estimate at close and the tier tracks."""

from __future__ import annotations

import numpy as np
import pytest

from driftwarden.baselines.performance import ReferencePerformance
from driftwarden.baselines.store import load_baseline
from driftwarden.detectors.performance import ClassificationState
from driftwarden.monitor.config import ModelPolicy, OutcomeSettings
from driftwarden.monitor.verdicts.performance import LabelRecord, PerformanceJudge
from driftwarden.monitor.verdicts.tier import Tier
from tests.monitor.performance_stream import MODEL, build_baseline


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> ReferencePerformance:
    path = tmp_path_factory.mktemp("baseline")
    build_baseline(path)
    perf = load_baseline(path / "store" / MODEL).performance
    assert perf is not None
    return perf


def _judge(reference: ReferencePerformance, **outcomes: object) -> PerformanceJudge:
    return PerformanceJudge(MODEL, reference, ModelPolicy(), OutcomeSettings(**outcomes))


def _window(reference: ReferencePerformance, scores: np.ndarray) -> ClassificationState:
    state = reference.empty_state()
    assert isinstance(state, ClassificationState)
    state.add_batch(None, (scores >= 0.5).astype(np.int64), scores)
    return state


def test_scores_crowding_the_threshold_are_an_estimated_drop_raised_after_sustain(
    reference: ReferencePerformance,
) -> None:
    """A calibrated model scoring near 0.5 is right about half the time: the estimate sees it."""
    judge = _judge(reference)
    rng = np.random.default_rng(81)
    calm = judge.at_close(_window(reference, rng.uniform(0.02, 0.98, 3_000)), 0)
    assert calm.tier == Tier.NONE
    first = judge.at_close(_window(reference, rng.uniform(0.42, 0.58, 3_000)), 1)
    second = judge.at_close(_window(reference, rng.uniform(0.42, 0.58, 3_000)), 2)
    assert first.estimate_reliable
    assert {f.metric for f in first.findings} >= {"accuracy"}
    assert all(f.kind == "estimated" for f in first.findings)
    assert first.condition == Tier.CRITICAL
    assert first.tier < Tier.CRITICAL <= second.tier  # sustain: two windows for critical
    assert "accuracy fell from 0.76 to 0.5" in first.what_happened
    assert "no labels yet" in first.what_happened


def test_an_unreliable_estimate_is_shown_but_raises_nothing(
    reference: ReferencePerformance,
) -> None:
    judge = _judge(reference)
    few = judge.at_close(_window(reference, np.full(50, 0.5)), 0)
    assert not few.estimate_reliable
    assert few.estimated["accuracy"] == pytest.approx(0.5, abs=0.05)
    assert few.findings == ()
    assert few.tier == Tier.NONE
    assert few.what_happened.startswith("performance estimate unreliable: only 50 scored")


def test_the_tracks_and_kept_estimates_round_trip_through_the_evaluator_state(
    reference: ReferencePerformance,
) -> None:
    judge = _judge(reference)
    rng = np.random.default_rng(82)
    for key in range(3):
        judge.at_close(_window(reference, rng.uniform(0.42, 0.58, 3_000)), key)
    again = _judge(reference)
    again.restore(judge.state())
    assert again.state() == judge.state()
    assert again.tracks["estimated"].tier == Tier.CRITICAL
    assert sorted(again.estimates) == [0, 1, 2]


def test_without_outcomes_no_estimate_is_kept_for_a_realised_verdict(
    reference: ReferencePerformance,
) -> None:
    judge = PerformanceJudge(
        MODEL, reference, ModelPolicy(), OutcomeSettings(), keep_estimates=False
    )
    judge.at_close(_window(reference, np.random.default_rng(83).uniform(0, 1, 500)), 0)
    assert judge.estimates == {}


def test_configured_thresholds_replace_the_default_row(reference: ReferencePerformance) -> None:
    judge = _judge(
        reference, thresholds={"accuracy": {"info": 0.3, "warning": 0.4, "critical": 0.5}}
    )
    window = _window(reference, np.random.default_rng(84).uniform(0.42, 0.58, 3_000))
    verdict = judge.at_close(window, 0)
    assert "accuracy" not in {f.metric for f in verdict.findings}  # a 0.26 drop < 0.3


def test_low_coverage_steps_its_own_track_and_is_never_a_performance_drop(
    reference: ReferencePerformance,
) -> None:
    """Too few labels is a data-quality finding: its own track, tier and words."""
    judge = _judge(reference, low_coverage=0.5, horizon="7d")
    empty = reference.empty_state()
    labels = LabelRecord(
        n_predictions=1_000,
        n_labelled=0,
        label_coverage=0.0,
        label_delay_p50=None,
        label_delay_p95=None,
        final="horizon",
    )
    verdicts = [judge.at_final(key, empty, labels) for key in range(3)]
    assert all(v.coverage_low for v in verdicts)
    assert all(v.condition == Tier.NONE and v.tier == Tier.NONE for v in verdicts)
    assert [v.coverage_tier for v in verdicts][-1] == Tier.WARNING
    assert verdicts[0].performance_words == (
        "no realised performance: no prediction of the window got an outcome"
    )
    assert verdicts[0].coverage_words == (
        "label coverage 0% below outcomes.low_coverage 50% (0 of 1,000 predictions got an "
        "outcome within outcomes.horizon 604800s): check the outcome feed"
    )
    assert judge.tracks["realised"].tier == Tier.NONE
    again = _judge(reference)
    again.restore(judge.state())
    assert again.tracks["coverage"].tier == Tier.WARNING
    assert again.last_final == judge.last_final
