from __future__ import annotations

from pathlib import Path

import msgspec

from driftwarden.monitor.alerting.describe import IncidentMoment, build_alert
from driftwarden.monitor.alerting.model import Alert, Notification, Status
from driftwarden.monitor.alerting.outbox import Outbox
from driftwarden.monitor.alerting.state import load_state
from driftwarden.monitor.alerting.state_writer import StateWriter
from driftwarden.monitor.alerting.store import DirectoryAlertStore
from driftwarden.monitor.verdicts.tier import Tier
from tests.monitor.alerting.alert_verdicts import verdict


def alert(model: str, status: Status = "firing") -> Alert:
    return build_alert(
        verdict(0, Tier.CRITICAL, model=model),
        IncidentMoment(
            environment="prod",
            status=status,
            tier=Tier.CRITICAL,
            previous_tier=Tier.NONE,
            started_at=0.0,
            tiers_seen=(Tier.CRITICAL,),
            change="new",
        ),
    )


def note(nid: str, *alerts: Alert, receiver: str = "pager") -> Notification:
    return Notification(
        id=nid,
        receiver=receiver,
        kind="alert",
        route_id="root",
        group_key="g",
        group_labels={},
        created_at=0.0,
        alerts=alerts,
    )


class Stored:
    """An outbox over a directory store, as the pipeline builds it (stage, then commit)."""

    def __init__(self, directory: Path) -> None:
        store = DirectoryAlertStore(directory)
        loaded = load_state(store)
        self.writer = StateWriter(store)
        for key, raw in loaded.raw.items():
            self.writer.remember(key, raw)
        self.box = Outbox(self.writer, loaded.outbox)

    def put(self, notification: Notification, *, now: float) -> list[str]:
        superseded = self.box.put(notification, now=now)
        assert self.writer.commit()
        return superseded


def test_entries_survive_a_restart_in_order(tmp_path: Path) -> None:
    first = Stored(tmp_path)
    first.put(note("a", alert("m1")), now=1.0)
    first.put(note("b", alert("m2")), now=2.0)
    again = Stored(tmp_path)
    assert [e.notification.id for e in again.box.entries()] == ["a", "b"]
    again.box.remove(again.box.entries()[0].seq)
    assert again.writer.commit()
    assert [e.notification.id for e in Stored(tmp_path).box.entries()] == ["b"]
    assert [p.name for p in (tmp_path / "outbox").iterdir()] == ["000000000002.json"]


def test_a_resolve_takes_its_alert_out_of_the_queued_trigger(tmp_path: Path) -> None:
    box = Stored(tmp_path)
    box.put(note("trigger", alert("m1"), alert("m2")), now=0.0)
    box.put(note("other-receiver", alert("m1"), receiver="chat"), now=0.0)
    assert box.put(note("resolve", alert("m1", "resolved")), now=1.0) == []
    by_id = {e.notification.id: e.notification for e in Stored(tmp_path).box.entries()}
    assert [a.model_id for a in by_id["trigger"].alerts] == ["m2"]
    assert [a.model_id for a in by_id["other-receiver"].alerts] == ["m1"]
    assert box.put(note("resolve-2", alert("m2", "resolved")), now=2.0) == ["trigger"]


def test_the_same_notification_is_enqueued_once() -> None:
    box = Outbox(None)
    box.put(note("a", alert("m1")), now=0.0)
    box.put(note("a", alert("m1")), now=0.0)
    assert len(box) == 1


def test_an_in_flight_entry_is_coalesced_when_its_attempt_fails() -> None:
    box = Outbox(None)
    box.put(note("trigger", alert("m1")), now=0.0)
    (entry,) = box.entries()
    box.claim(entry.seq)
    box.put(note("resolve", alert("m1", "resolved")), now=1.0)
    assert len(box) == 2  # untouched while being delivered
    assert box.release(entry, next_attempt_at=5.0, error="down") == ["trigger"]
    assert [e.notification.id for e in box.entries()] == ["resolve"]
    assert msgspec.json.decode(msgspec.json.encode(box.entries()[0]))["attempts"] == 0
