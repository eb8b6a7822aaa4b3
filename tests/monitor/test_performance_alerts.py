"""Late realised performance is an incident of its own, alerted when labels are final.

A window's realised performance is judged when its labels are final, days
after the window closed. It steps the model's `DriftwardenModelPerformance`
incident (docs/alerting.md), never the drift incident of the windows closing
meanwhile, so the two open and resolve apart, and one drop pages once however
many windows confirm it (docs/verdicts.md, section 5).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from driftwarden.baselines.store import load_baseline
from driftwarden.monitor.alerting.fingerprint import alert_labels, fingerprint
from driftwarden.monitor.alerting.model import Alert
from driftwarden.monitor.alerting.pipeline import AlertPipeline, replay_pipeline
from driftwarden.monitor.engine import Engine
from driftwarden.monitor.outcomes.pending import PendingStore
from driftwarden.monitor.verdicts.performance import PerformanceVerdict
from driftwarden.monitor.verdicts.tier import Tier
from driftwarden.monitor.verdicts.verdict import WindowVerdict
from tests.monitor.factories import settings_with
from tests.monitor.performance_stream import MODEL, Stream, build_baseline

POLICY = {
    "window": {"size": "1h", "allowed_lateness": "0s"},
    "significance": {"min_samples": 100},
    "clear_after": 2,
}


@pytest.fixture(scope="module")
def stream() -> Stream:
    rng = np.random.default_rng(51)
    stream = Stream()
    for window in range(2):
        stream.add_window(rng, window, 2_000, messy=False)
    for window in range(2, 5):
        stream.add_window(rng, window, 2_000, flip=0.2, messy=False)
    for window in range(5, 9):
        stream.add_window(rng, window, 2_000, messy=False)
    return stream


def _engine(tmp_path: Path) -> Engine:
    build_baseline(tmp_path)
    baseline = load_baseline(tmp_path / "store" / MODEL)
    settings = settings_with(
        policy=POLICY,
        outcomes={"horizon": "2d", "min_coverage": 0.99},
    )
    return Engine(
        [baseline], settings, wall_clock=None, outcome_store=PendingStore(tmp_path / "store.db")
    )


def _alerts(pipeline: AlertPipeline, verdict: WindowVerdict | PerformanceVerdict) -> list[Alert]:
    if isinstance(verdict, WindowVerdict):
        notes = pipeline.observe(verdict)
    else:
        notes = pipeline.observe_performance(verdict)
    return [a for note in notes for a in note.alerts]


def test_a_realised_drop_pages_its_own_incident_once_and_resolves_apart_from_drift(
    tmp_path: Path, stream: Stream
) -> None:
    engine = _engine(tmp_path)
    pipeline = replay_pipeline(engine.settings)
    at_close: list[WindowVerdict] = []
    alerts: list[Alert] = []
    for window in range(9):  # every window but the last closes; outcomes come later
        for verdict in engine.process(stream.window_payloads(window)[0], stream="p"):
            at_close.append(verdict)
            alerts.extend(_alerts(pipeline, verdict))
    assert [v.window_index for v in at_close] == list(range(8))
    assert all(v.tier == Tier.NONE for v in at_close), "concept drift: scores look the same"
    assert alerts == []

    for window in range(8):
        engine.process_outcomes(stream.window_payloads(window)[1], stream="o")
    finals = [p for _, p in engine.take_final_labels() if p is not None]
    assert [p.window_index for p in finals] == list(range(8))
    assert [p.condition for p in finals][:5] == [Tier.NONE] * 2 + [Tier.CRITICAL] * 3
    for final in finals:
        alerts.extend(_alerts(pipeline, final))

    assert {a.labels["alertname"] for a in alerts} == {"DriftwardenModelPerformance"}
    assert len({a.fingerprint for a in alerts}) == 1
    firing = [a for a in alerts if a.status == "firing"]
    assert [a.title for a in firing] == [
        "[INFO] credit-risk (production): realised performance dropped on window "
        "1970-01-01T02:00:00Z",
        "[CRITICAL] credit-risk (production): realised performance dropped on window "
        "1970-01-01T03:00:00Z",
    ]
    critical = [a for a in firing if a.tier == Tier.CRITICAL]
    assert len(critical) == 1, f"one page for the incident, not one per window: {alerts}"
    assert any("accuracy fell from" in line for line in critical[0].what_happened)
    # Back to the reference for policy.clear_after final windows: the incident resolves.
    # (Its notification waits for the group's group_interval on the event clock, which a
    # replay does not advance past its last window.)
    assert "DriftwardenModelPerformance:credit-risk" not in pipeline.state.lifecycle.incidents
    held = [a for g in pipeline.state.groups.groups.values() for a in g.alerts.values()]
    assert [a.title for a in held if a.status == "resolved"] == [
        "[RESOLVED] credit-risk (production): realised performance finding cleared (was critical)"
    ]
    # The drift incident never opened: nothing of it was resolved either.
    assert "credit-risk" not in pipeline.state.lifecycle.incidents
    # Re-emitted after a restart: applied once.
    assert _alerts(pipeline, finals[3]) == []
    pipeline.close()


def test_the_performance_incident_has_an_identity_apart_from_the_drift_incident(
    tmp_path: Path, stream: Stream
) -> None:
    engine = _engine(tmp_path)
    pipeline = replay_pipeline(engine.settings)
    for window in range(6):
        for verdict in engine.process(stream.window_payloads(window)[0], stream="p"):
            pipeline.observe(verdict)
    for window in range(5):
        engine.process_outcomes(stream.window_payloads(window)[1], stream="o")
    for _, final in engine.take_final_labels():
        assert final is not None
        pipeline.observe_performance(final)
    incidents = pipeline.state.lifecycle.incidents
    assert set(incidents) == {"DriftwardenModelPerformance:credit-risk"}
    identity = {
        "model_id": MODEL,
        "environment": engine.settings.environment,
        "tier": Tier.CRITICAL,
        "baseline_version": 1,
        "monitor": engine.settings.kafka.group_id,
    }
    drift = fingerprint(alert_labels(**identity))
    performance = fingerprint(alert_labels(**identity, alertname="DriftwardenModelPerformance"))
    coverage = fingerprint(alert_labels(**identity, alertname="DriftwardenLabelCoverage"))
    assert incidents["DriftwardenModelPerformance:credit-risk"].fingerprint == performance
    assert len({drift, performance, coverage}) == 3  # PagerDuty dedup_key: three incidents
    pipeline.close()
