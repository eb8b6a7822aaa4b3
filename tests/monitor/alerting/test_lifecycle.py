from __future__ import annotations

from driftwarden.monitor.alerting.lifecycle import (
    MAX_FINALS_KEPT,
    LifecycleState,
    advance,
    advance_incident,
    already_seen,
    judged_before,
)
from driftwarden.monitor.verdicts.tier import Tier
from tests.monitor.alerting.alert_verdicts import episode

N, INF, W, C = Tier.NONE, Tier.INFO, Tier.WARNING, Tier.CRITICAL


def transitions(tiers: list[Tier]) -> list[str | None]:
    state = LifecycleState()
    out: list[str | None] = []
    for v in episode(tiers):
        step = advance(state, v, fingerprint="fp")
        out.append(step.transition if step else None)
    return out


def test_an_episode_opens_escalates_deescalates_and_resolves() -> None:
    assert transitions([N, W, W, C, W, N, N]) == [
        None,
        "opened",
        "continued",
        "escalated",
        "deescalated",
        "resolved",
        None,
    ]


def test_incident_keeps_its_start_and_every_tier_it_reached() -> None:
    state = LifecycleState()
    verdicts = episode([INF, C, W])
    for v in verdicts:
        advance(state, v, fingerprint="fp")
    incident = state.incidents["credit-risk"]
    assert incident.started_at == verdicts[0].window_start
    assert incident.tiers_seen == [INF, W, C]


def test_a_window_seen_before_is_recognised() -> None:
    state = LifecycleState()
    first, second = episode([W, W])
    advance(state, first, fingerprint="fp")
    assert already_seen(state, first)
    assert not already_seen(state, second)


def test_incidents_under_other_keys_open_and_resolve_apart() -> None:

    state = LifecycleState()
    drift = episode([W])[0]
    advance(state, drift, fingerprint="drift")
    step = advance_incident(
        state,
        "DriftwardenModelPerformance:credit-risk",
        model_id="credit-risk",
        tier=C,
        started_at=0.0,
        fingerprint="perf",
    )
    assert step is not None
    assert step.transition == "opened"
    resolved = advance_incident(
        state,
        "DriftwardenModelPerformance:credit-risk",
        model_id="credit-risk",
        tier=N,
        started_at=0.0,
        fingerprint="perf",
    )
    assert resolved is not None
    assert resolved.transition == "resolved"
    assert set(state.incidents) == {"credit-risk"}  # the drift incident is still open


def test_a_final_window_is_judged_once_in_any_order() -> None:

    state = LifecycleState()
    assert [judged_before(state, "m", w) for w in (3, 1, 2)] == [False, False, False]
    assert [judged_before(state, "m", w) for w in (1, 2, 3)] == [True, True, True]
    assert not judged_before(state, "other", 1)
    for w in range(10, 10 + MAX_FINALS_KEPT):
        judged_before(state, "m", w)
    assert len(state.finals["m"]) == MAX_FINALS_KEPT  # bounded: the oldest are forgotten
