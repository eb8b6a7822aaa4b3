"""A receiver outage during a drift episode, and a restart with a non-empty outbox.

Injected wall clock and seeded jitter: nothing here sleeps for real.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

from driftwarden.monitor.alerting import AlertPipeline, RecordingMetrics
from driftwarden.monitor.alerting.delivery import Delivered, DeliveryResult, RetryLater
from driftwarden.monitor.alerting.model import Notification
from driftwarden.monitor.verdicts.tier import Tier
from tests.monitor.alerting.alert_fakes import (
    FakeClock,
    FakeReceiver,
    PagerDutyModel,
    alerting_settings,
)
from tests.monitor.alerting.alert_verdicts import episode

N, W, C = Tier.NONE, Tier.WARNING, Tier.CRITICAL
WINDOW = 10.0


def build(
    clock: FakeClock, state_dir: Path | None, metrics: RecordingMetrics | None = None
) -> tuple[AlertPipeline, dict[str, FakeReceiver]]:
    fakes = {n: FakeReceiver(n) for n in ("log", "chat", "pager")}
    settings = alerting_settings(
        route={
            "receiver": "log",
            "group_by": ["model"],
            "group_wait": "0s",
            "group_interval": "10s",
            "repeat_interval": "1h",
            "routes": [
                {"matchers": ['tier="critical"'], "receiver": "pager", "continue": True},
                {"matchers": ['tier=~"warning|critical"'], "receiver": "chat"},
            ],
        }
    )
    pipeline = AlertPipeline(
        settings,
        environment="prod",
        clock=clock,
        state_dir=state_dir,
        metrics=metrics,
        rng=random.Random(42),
        sleep=clock.sleep,
        receivers=fakes,
    )
    return pipeline, fakes


def down_between(start: float, end: float) -> Callable[[Notification, float], DeliveryResult]:
    def outcome(note: Notification, now: float) -> DeliveryResult:
        if start <= now < end:
            return RetryLater(reason="connection refused")
        return Delivered()

    return outcome


def drive(pipeline: AlertPipeline, clock: FakeClock, tiers: list[Tier], *, tail: float) -> None:
    """One verdict per 10 s window, dispatching every simulated second, then `tail` more seconds."""
    for v in episode(tiers, window=WINDOW):
        while clock.now < v.window_end:
            clock.now += 1.0
            pipeline.dispatch()
        pipeline.observe(v)
        pipeline.dispatch()
    for _ in range(int(tail)):
        clock.now += 1.0
        pipeline.dispatch()


def pagerduty_view(fake: FakeReceiver) -> PagerDutyModel:
    model = PagerDutyModel()
    for note in fake.sent:
        for alert in note.alerts:
            model.apply(alert.fingerprint, "trigger" if alert.firing else "resolve")
    return model


def test_receivers_down_for_60s_lose_nothing_and_page_once(clock: FakeClock) -> None:
    metrics = RecordingMetrics()
    pipeline, fakes = build(clock, None, metrics)
    t_start = clock.now = episode([N], window=WINDOW)[0].window_start
    tiers = [N, W, W, C] + [C] * 12 + [W, W, N, N]  # critical from 40 s to 160 s
    outage = (t_start + 35.0, t_start + 95.0)  # 60 s, covering the page and the escalation
    fakes["pager"].outcome = down_between(*outage)
    fakes["chat"].outcome = down_between(*outage)
    drive(pipeline, clock, tiers, tail=600)

    assert pipeline.pending() == []
    pd = pagerduty_view(fakes["pager"])
    assert (pd.pages, pd.resolves, pd.open) == (1, 1, set())
    assert [a.status for n in fakes["pager"].sent for a in n.alerts] == ["firing", "resolved"]
    assert fakes["pager"].sent_at[0] >= outage[1]
    chat = [(a.change, a.tier.label) for n in fakes["chat"].sent for a in n.alerts]
    assert chat == [
        ("new", "warning"),
        ("escalated", "critical"),
        ("deescalated", "warning"),
        ("resolved", "warning"),
    ]
    assert metrics.sent[("pager", "success")] == 2
    assert metrics.sent[("pager", "retry")] >= 1
    assert metrics.pending == {"log": 0, "chat": 0, "pager": 0}
    # The circuit breaker keeps a dead receiver from being hammered once a second.
    during = [now for now, _ in fakes["pager"].attempts if outage[0] <= now < outage[1]]
    assert len(during) <= 10


def test_a_trigger_is_never_delivered_after_its_resolve(clock: FakeClock) -> None:
    """The page condition ends while PagerDuty is down: the queued trigger is dropped."""
    pipeline, fakes = build(clock, None)
    t_start = clock.now = episode([N], window=WINDOW)[0].window_start
    fakes["pager"].outcome = down_between(t_start + 35.0, t_start + 95.0)
    drive(pipeline, clock, [N, W, W, C, C, W, N, N], tail=600)
    assert pipeline.pending() == []
    assert fakes["pager"].sent == []  # nothing to page about any more, nothing to resolve
    assert fakes["pager"].attempts  # it was tried while down
    statuses = [a.status for n in fakes["chat"].sent for a in n.alerts]
    assert statuses == ["firing", "firing", "firing", "resolved"]


def test_restart_with_pending_outbox_delivers_each_exactly_once(
    tmp_path: Path, clock: FakeClock
) -> None:
    first, fakes1 = build(clock, tmp_path)
    for fake in fakes1.values():
        fake.outcome = lambda note, now: RetryLater(reason="down")
    for v in episode([W, C, C], window=WINDOW):
        clock.now = v.window_end
        first.observe(v)
        first.dispatch()
    pending = [(n.receiver, n.id) for n in first.pending()]
    assert {r for r, _ in pending} == {"chat", "pager"}
    assert len(pending) == 2  # chat's queued warning was superseded by the escalation
    first.close()

    clock.now += 3600.0
    second, fakes2 = build(clock, tmp_path)
    assert [(n.receiver, n.id) for n in second.pending()] == pending
    second.drain(deadline=clock.now + 30)
    second.dispatch()
    delivered = sorted((n.receiver, n.id) for f in fakes2.values() for n in f.sent)
    assert delivered == sorted(pending)
    assert second.pending() == []
    second.close()
    third, fakes3 = build(clock, tmp_path)
    third.dispatch()
    assert all(not f.attempts for f in fakes3.values())
