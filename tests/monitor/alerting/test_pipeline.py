"""The pipeline end to end with fake receivers: lifecycle, restart, replay mode."""

from __future__ import annotations

import random
from pathlib import Path

from driftwarden.monitor.alerting import AlertPipeline
from driftwarden.monitor.alerting.model import Notification
from driftwarden.monitor.verdicts.tier import Tier
from tests.monitor.alerting.alert_fakes import FakeClock, FakeReceiver, alerting_settings
from tests.monitor.alerting.alert_verdicts import episode, verdict

N, INF, W, C = Tier.NONE, Tier.INFO, Tier.WARNING, Tier.CRITICAL


def build(
    clock: FakeClock, state_dir: Path | None, *, real: bool = True, **settings: object
) -> tuple[AlertPipeline, dict[str, FakeReceiver]]:
    fakes = {
        "log": FakeReceiver("log"),
        "chat": FakeReceiver("chat"),
        "pager": FakeReceiver("pager"),
    }
    pipeline = AlertPipeline(
        alerting_settings(**settings),
        environment="prod",
        clock=clock,
        state_dir=state_dir,
        real_receivers=real,
        rng=random.Random(7),
        sleep=clock.sleep,
        receivers=fakes,
    )
    return pipeline, fakes


def run(pipeline: AlertPipeline, clock: FakeClock, tiers: list[Tier]) -> list[Notification]:
    notes: list[Notification] = []
    for v in episode(tiers):
        notes += pipeline.observe(v)
        clock.now = v.window_end
        pipeline.dispatch()
    return notes


def test_one_episode_is_one_page_one_escalation_update_and_one_resolve(clock: FakeClock) -> None:
    pipeline, fakes = build(clock, None)
    run(pipeline, clock, [N, W, W, C, C, C, W, N, N])
    assert fakes["pager"].events() == [
        (fakes["pager"].sent[0].alerts[0].fingerprint, "firing", "critical"),
        (fakes["pager"].sent[0].alerts[0].fingerprint, "resolved", "critical"),
    ]
    chat = [(a.status, a.change, a.tier.label) for n in fakes["chat"].sent for a in n.alerts]
    assert chat == [
        ("firing", "new", "warning"),
        ("firing", "escalated", "critical"),
        ("firing", "deescalated", "warning"),
        ("resolved", "resolved", "warning"),
    ]


def test_page_resolves_when_incident_drops_below_the_paging_route(clock: FakeClock) -> None:
    """critical -> warning ends the page (below_route) while chat keeps the incident open."""
    pipeline, fakes = build(clock, None)
    run(pipeline, clock, [C, W])
    (trigger,), (resolve,) = (n.alerts for n in fakes["pager"].sent)
    assert trigger.firing
    assert not resolve.firing
    assert resolve.resolution == "below_route"
    assert resolve.title.startswith("[RESOLVED] credit-risk (prod): no longer critical")
    assert [a.status for n in fakes["chat"].sent for a in n.alerts] == ["firing", "firing"]


def test_no_drift_sends_nothing(clock: FakeClock) -> None:
    pipeline, fakes = build(clock, None)
    assert run(pipeline, clock, [N] * 50) == []
    assert all(not f.sent for f in fakes.values())


def test_info_goes_to_the_root_receiver_only(clock: FakeClock) -> None:
    pipeline, fakes = build(clock, None)
    run(pipeline, clock, [INF, INF, N])
    assert [a.status for n in fakes["log"].sent for a in n.alerts] == ["firing", "resolved"]
    assert not fakes["chat"].sent
    assert not fakes["pager"].sent


def test_repeat_after_repeat_interval_while_it_persists(clock: FakeClock) -> None:
    pipeline, fakes = build(clock, None)
    run(pipeline, clock, [W] * 49 + [N])  # 49 windows of 5 min: repeats at 4 h and 8 h... (4h05)
    changes = [a.change for n in fakes["chat"].sent for a in n.alerts]
    assert changes == ["new", "unchanged", "resolved"]
    assert fakes["chat"].sent[1].created_at - fakes["chat"].sent[0].created_at == 4 * 3600


def test_restart_neither_repages_nor_forgets_to_resolve(tmp_path: Path, clock: FakeClock) -> None:
    first, fakes1 = build(clock, tmp_path)
    verdicts = episode([W, C, C, C, N])
    for v in verdicts[:3]:
        first.observe(v)
        first.dispatch()
    first.close()
    second, fakes2 = build(clock, tmp_path)
    # The engine restarts from an older checkpoint and re-emits window 2: ignored.
    assert second.observe(verdicts[2]) == []
    for v in verdicts[3:]:
        second.observe(v)
        second.dispatch()
    assert [a.status for n in fakes1["pager"].sent for a in n.alerts] == ["firing"]
    assert [a.status for n in fakes2["pager"].sent for a in n.alerts] == ["resolved"]


def test_replay_without_real_receivers_returns_but_does_not_send(clock: FakeClock) -> None:
    pipeline, fakes = build(clock, None, real=False)
    notes = run(pipeline, clock, [W, C, N])
    assert {n.receiver for n in notes} == {"chat", "pager"}
    assert not fakes["chat"].attempts
    assert not fakes["pager"].attempts
    assert pipeline.pending() == []


def test_observe_is_deterministic(clock: FakeClock) -> None:
    runs = []
    for _ in range(2):
        pipeline, _ = build(FakeClock(), None, real=False)
        runs.append(
            [
                (n.id, n.receiver, [a.change for a in n.alerts])
                for n in run(pipeline, clock, [INF, W, C, W, N])
            ]
        )
    assert runs[0] == runs[1]
    assert runs[0]


def test_two_models_are_two_incidents(clock: FakeClock) -> None:
    pipeline, fakes = build(clock, None)
    for i in range(3):
        for model in ("credit-risk", "fraud"):
            pipeline.observe(verdict(i, C, model=model))
    pipeline.dispatch()
    fps = {a.fingerprint for n in fakes["pager"].sent for a in n.alerts}
    assert len(fps) == 2
