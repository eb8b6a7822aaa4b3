"""The pipeline over an alert state store: faults, corrupt pieces, handovers, silences, identity."""

from __future__ import annotations

import errno
import json
import random
from pathlib import Path
from typing import Any

import msgspec
from structlog.testing import capture_logs

from driftwarden.monitor.alerting import AlertPipeline
from driftwarden.monitor.alerting.silences import Silence, SilenceFile, SilenceStore
from driftwarden.monitor.alerting.state_writer import COMPONENT
from driftwarden.monitor.alerting.store import CORRUPT, SILENCES_KEY, STATE_KEY, DirectoryAlertStore
from driftwarden.monitor.verdicts.tier import Tier
from tests.monitor.alerting.alert_fakes import (
    FakeClock,
    FakeReceiver,
    MemoryAlertStore,
    alerting_settings,
)
from tests.monitor.alerting.alert_verdicts import episode, verdict

N, W, C = Tier.NONE, Tier.WARNING, Tier.CRITICAL


class Hook:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []

    def __call__(self, component: str, error: str | None) -> None:
        self.calls.append((component, error))


def build(
    clock: FakeClock,
    store: Any,
    *,
    hook: Hook | None = None,
    monitor: str | None = "group-a",
    start_suspended: bool = False,
) -> tuple[AlertPipeline, dict[str, FakeReceiver]]:
    fakes = {
        "log": FakeReceiver("log"),
        "chat": FakeReceiver("chat"),
        "pager": FakeReceiver("pager"),
    }
    pipeline = AlertPipeline(
        alerting_settings(),
        environment="prod",
        monitor=monitor,
        clock=clock,
        store=store,
        on_store_fault=hook,
        start_suspended=start_suspended,
        rng=random.Random(7),
        sleep=clock.sleep,
        receivers=fakes,
    )
    return pipeline, fakes


def pages(fakes: dict[str, FakeReceiver]) -> list[str]:
    return [f"{a.model_id}:{a.status}" for n in fakes["pager"].sent for a in n.alerts]


def feed(pipeline: AlertPipeline, clock: FakeClock, verdicts: Any) -> None:
    for v in verdicts:
        pipeline.observe(v)
        clock.now = max(clock.now, v.window_end)
        pipeline.dispatch()


# --- faults ----------------------------------------------------------------------------


def test_a_full_disk_never_stops_alerting_and_state_catches_up_when_space_returns(
    clock: FakeClock,
) -> None:
    store, hook = MemoryAlertStore(), Hook()
    pipeline, fakes = build(clock, store, hook=hook)
    verdicts = episode([W, C, C, C, C, N])
    store.fail_with = OSError(errno.ENOSPC, "No space left on device")
    feed(pipeline, clock, verdicts[:3])  # no exception reaches the caller (the consumer loop)
    assert pages(fakes) == ["credit-risk:firing"]  # delivery goes on from memory
    assert hook.calls[0] == (COMPONENT, "ENOSPC: No space left on device")
    assert STATE_KEY not in store.data
    store.fail_with = None
    clock.sleep(60.0)  # past the back-off
    pipeline.dispatch()
    assert hook.calls[-1] == (COMPONENT, None)
    # What was written after recovery is the whole truth: a restart neither re-pages...
    pipeline.close()
    again, fakes2 = build(clock, store)
    feed(again, clock, verdicts[3:])
    assert pages(fakes2) == ["credit-risk:resolved"]  # ...nor forgets to resolve


def test_a_broker_outage_during_writes_is_the_same_fault(clock: FakeClock) -> None:
    from driftwarden.monitor.alerting.store import AlertStateError

    store, hook = MemoryAlertStore(), Hook()
    pipeline, fakes = build(clock, store, hook=hook)
    store.fail_with = AlertStateError("write not acknowledged within 30s")
    feed(pipeline, clock, episode([C, C]))
    assert pages(fakes) == ["credit-risk:firing"]
    assert hook.calls
    assert all(error is not None for _, error in hook.calls)


# --- corrupt pieces ----------------------------------------------------------------------


def test_a_corrupt_state_file_is_moved_aside_and_the_daemon_starts_clean(
    tmp_path: Path, clock: FakeClock
) -> None:
    (tmp_path / "alerting-state.json").write_bytes(b'{"version": 1, "lifecycle": {"incid')
    hook = Hook()
    pipeline, fakes = build(clock, DirectoryAlertStore(tmp_path), hook=hook)
    (aside,) = tmp_path.glob("alerting-state.json.corrupt-*")
    assert aside.read_bytes().startswith(b'{"version": 1')
    assert [c for c, _ in hook.calls] == [CORRUPT]  # an event, not a lasting condition
    assert "corrupt alert state 'state'" in str(hook.calls[0][1])
    feed(pipeline, clock, episode([C, C]))
    assert pages(fakes) == ["credit-risk:firing"]  # the documented cost: notified again once
    assert json.loads((tmp_path / "alerting-state.json").read_bytes())["lifecycle"]["incidents"]


def test_a_truncated_outbox_entry_is_set_aside_and_the_others_are_delivered(
    tmp_path: Path, clock: FakeClock
) -> None:
    first, _ = build(clock, DirectoryAlertStore(tmp_path))
    first.observe(verdict(0, C, model="m1"))
    first.observe(verdict(0, C, model="m2"))
    first.close()  # nothing dispatched: both pages are in the outbox
    entries = sorted((tmp_path / "outbox").glob("*.json"))
    pager_entries = [p for p in entries if b'"receiver":"pager"' in p.read_bytes()]
    assert len(pager_entries) == 2
    broken = pager_entries[0]
    broken.write_bytes(broken.read_bytes()[:40])
    hook = Hook()
    second, fakes = build(clock, DirectoryAlertStore(tmp_path), hook=hook)
    second.dispatch()
    assert len(pages(fakes)) == 1
    assert list((tmp_path / "outbox").glob(f"{broken.name}.corrupt-*"))
    assert [c for c, e in hook.calls if e is not None] == [CORRUPT]


def test_corrupt_silences_are_forgotten_not_fatal(tmp_path: Path, clock: FakeClock) -> None:
    (tmp_path / "silences.json").write_bytes(b"\x00\x01not json")
    pipeline, fakes = build(clock, DirectoryAlertStore(tmp_path), hook=Hook())
    feed(pipeline, clock, episode([C, C]))
    assert pages(fakes) == ["credit-risk:firing"]
    assert list(tmp_path.glob("silences.json.corrupt-*"))


# --- handover (hot-standby replicas) -----------------------------------------------------


def test_a_handover_pages_once_and_the_next_owner_resolves_once(clock: FakeClock) -> None:
    shared = MemoryAlertStore()
    active, fakes_a = build(clock, shared)
    standby, fakes_b = build(clock, shared, start_suspended=True)
    verdicts = episode([W, C, C, C, N])
    feed(active, clock, verdicts[:3])
    standby.dispatch()  # a standby delivers nothing and writes nothing
    writes_before = len(shared.writes)
    active.suspend()
    assert active.pending() == []
    assert len(shared.writes) == writes_before  # everything was already written
    standby.resume()
    feed(standby, clock, verdicts[3:])
    feed(active, clock, verdicts[3:])  # a late verdict on the old owner is not alerted
    assert pages(fakes_a) == ["credit-risk:firing"]
    assert pages(fakes_b) == ["credit-risk:resolved"]


def test_a_suspended_member_judges_no_verdict_and_logs_who_does(clock: FakeClock) -> None:
    standby, _ = build(clock, MemoryAlertStore(), start_suspended=True)
    late = verdict(0, C)
    with capture_logs() as logs:
        assert standby.observe(late) == []
    assert {
        "event": "alert_verdict_while_suspended",
        "log_level": "warning",
        "model": "credit-risk",
        "window_end": late.window_end,
        "consequence": "not alerted here; the member that owns alerting judges it",
    } in logs
    assert standby.state.event_now is None  # event time waits for the owner too


def test_a_member_that_hands_over_during_a_fault_no_longer_reports_it(clock: FakeClock) -> None:
    store, hook = MemoryAlertStore(), Hook()
    pipeline, _ = build(clock, store, hook=hook)
    store.fail_with = OSError(errno.EIO, "Input/output error")
    feed(pipeline, clock, episode([C, C]))
    assert hook.calls[-1] == (COMPONENT, "EIO: Input/output error")
    pipeline.suspend()  # the forced write fails too: logged, and the state is dropped
    assert hook.calls[-1] == (COMPONENT, None)
    assert pipeline.writer is not None
    assert not pipeline.writer.faulted


def test_a_notification_pending_at_the_handover_is_sent_by_the_next_owner_only(
    clock: FakeClock,
) -> None:
    from driftwarden.monitor.alerting.delivery import RetryLater

    shared = MemoryAlertStore()
    active, fakes_a = build(clock, shared)
    fakes_a["pager"].outcome = lambda note, now: RetryLater(reason="503")
    feed(active, clock, episode([C, C]))
    active.suspend()
    successor, fakes_b = build(clock, shared, start_suspended=True)
    successor.resume()
    clock.sleep(3600.0)
    successor.dispatch()
    active.dispatch()
    assert pages(fakes_a) == []
    assert pages(fakes_b) == ["credit-risk:firing"]


def test_suspend_stops_a_delivery_round_after_the_send_in_flight(clock: FakeClock) -> None:
    pipeline, fakes = build(clock, MemoryAlertStore())
    for model in ("m1", "m2", "m3"):
        pipeline.observe(verdict(0, C, model=model))
    from driftwarden.monitor.alerting.delivery import Delivered

    def send_then_lose_ownership(note: Any, now: float) -> Any:
        pipeline._suspended = True  # what suspend() does first, from the consumer thread
        return Delivered()

    fakes["pager"].outcome = send_then_lose_ownership
    pipeline.dispatch(clock.now + 1)
    assert len(fakes["pager"].attempts) + len(fakes["chat"].attempts) == 1


# --- silences ---------------------------------------------------------------------------


def _silence_bytes(*silences: Silence) -> bytes:
    return msgspec.json.encode(SilenceFile(silences=list(silences)))


def test_a_silence_written_by_the_cli_is_picked_up_without_a_restart(clock: FakeClock) -> None:
    store = MemoryAlertStore()
    pipeline, fakes = build(clock, store)
    feed(pipeline, clock, [verdict(0, N, model="fraud")])
    silence = Silence(
        id="s1",
        matchers=('model="fraud"',),
        starts_at=0.0,
        ends_at=4e9,
        created_by="ana",
        comment="known",
        created_at=0.0,
    )
    store.others_write(SILENCES_KEY, _silence_bytes(silence))
    clock.sleep(5.0)  # past the poll interval
    pipeline.dispatch()
    feed(pipeline, clock, episode([C, C], model="fraud", start=1))
    feed(pipeline, clock, episode([C, C], model="credit-risk", start=1))
    assert pages(fakes) == ["credit-risk:firing"]


def test_silences_survive_a_restart_through_the_store(tmp_path: Path, clock: FakeClock) -> None:
    SilenceStore(DirectoryAlertStore(tmp_path)).add(
        matchers=['model="fraud"'],
        starts_at=0.0,
        ends_at=4e9,
        created_by="ana",
        comment="known",
        now=0.0,
    )
    pipeline, fakes = build(clock, DirectoryAlertStore(tmp_path))
    feed(pipeline, clock, episode([C, C], model="fraud"))
    assert pages(fakes) == []


# --- identity ---------------------------------------------------------------------------


def test_two_monitors_of_one_model_have_separate_incidents(clock: FakeClock) -> None:
    a, fakes_a = build(clock, None, monitor="team-a")
    b, fakes_b = build(clock, None, monitor="team-b")
    feed(a, clock, episode([C, C]))
    feed(b, clock, episode([C, C]))
    (alert_a,) = fakes_a["pager"].sent[0].alerts
    (alert_b,) = fakes_b["pager"].sent[0].alerts
    assert alert_a.fingerprint != alert_b.fingerprint  # PagerDuty dedup_key differs
    assert alert_a.labels["monitor"] == "team-a"
    assert alert_b.labels["monitor"] == "team-b"


def test_replicas_of_one_monitor_share_the_incident(clock: FakeClock) -> None:
    a, fakes_a = build(clock, None, monitor="team-a")
    b, fakes_b = build(clock, None, monitor="team-a")
    feed(a, clock, episode([C, C]))
    feed(b, clock, episode([C, C]))
    assert fakes_a["pager"].sent[0].alerts[0].fingerprint == (
        fakes_b["pager"].sent[0].alerts[0].fingerprint
    )


def test_without_a_monitor_id_the_fingerprint_is_the_one_of_earlier_releases(
    clock: FakeClock,
) -> None:
    from driftwarden.monitor.alerting.fingerprint import fingerprint

    pipeline, fakes = build(clock, None, monitor=None)
    feed(pipeline, clock, episode([C, C]))
    (alert,) = fakes["pager"].sent[0].alerts
    assert "monitor" not in alert.labels
    old = {"alertname": "DriftwardenModelDrift", "environment": "prod", "model": "credit-risk"}
    assert alert.fingerprint == fingerprint(old)
