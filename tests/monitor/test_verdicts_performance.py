"""monitor/verdicts/performance.py: the estimate at close and the tier tracks."""

from __future__ import annotations

import numpy as np
import pytest

from driftwarden.baselines.performance import ReferencePerformance
from driftwarden.baselines.store import load_baseline
from driftwarden.detectors.performance import ClassificationState
from driftwarden.monitor.config import ModelPolicy, OutcomeSettings
from driftwarden.monitor.verdicts.performance import PerformanceJudge
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
