from __future__ import annotations

import json

import msgspec

from driftwarden.monitor.alerting.describe import build_alert
from driftwarden.monitor.alerting.model import Change, Notification
from driftwarden.monitor.alerting.render import document, headline
from driftwarden.monitor.verdicts.tier import Tier
from tests.monitor.alerting.alert_verdicts import escalated, verdict


def note(change: Change = "escalated") -> Notification:
    a = build_alert(verdict(1, Tier.CRITICAL), msgspec.structs.replace(escalated(), change=change))
    return Notification(
        id="n1",
        receiver="chat",
        kind="alert",
        route_id="root",
        group_key="root:{}",
        group_labels={},
        created_at=600.0,
        alerts=(a,),
    )


def test_headline_says_how_it_changed() -> None:
    assert headline(note().alerts[0]).startswith("Escalated from warning: [CRITICAL]")
    a = msgspec.structs.replace(note().alerts[0], change="unchanged")
    assert headline(a).startswith("Still firing: ")


def test_document_is_json_with_labels_columns_and_window() -> None:
    doc = json.loads(json.dumps(document(note())))
    (alert,) = doc["alerts"]
    assert doc["status"] == "firing"
    assert doc["version"] == "1"
    assert alert["labels"]["severity"] == "critical"
    assert alert["columns"][0]["column"] == "income"
    assert alert["window"]["events"] == 5000
