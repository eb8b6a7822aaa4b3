from __future__ import annotations

from driftwarden.monitor.alerting.lifecycle import LifecycleState, advance, already_seen
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
