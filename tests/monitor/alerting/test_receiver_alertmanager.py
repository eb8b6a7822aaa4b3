"""Alertmanager push body: labels name the alert, values go to annotations."""

from __future__ import annotations

from datetime import datetime

import httpx

from driftwarden.monitor.alerting.delivery import Delivered, Rejected
from driftwarden.monitor.alerting.receivers.alertmanager import AlertmanagerPushReceiver, postable
from driftwarden.monitor.config import AlertmanagerReceiver
from driftwarden.monitor.verdicts.tier import Tier
from tests.monitor.alerting.receiver_cases import alert, notification

NOW = 1_800_000_000.0


def ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_firing_alert_stays_active_for_four_resend_intervals() -> None:
    (item,) = postable([alert()], now=NOW, resend_interval=60.0)
    assert item["labels"] == {
        "alertname": "DriftwardenModelDrift",
        "model": "credit-risk",
        "environment": "prod",
        "severity": "critical",
    }
    assert ts(item["endsAt"]) == NOW + 240.0
    assert ts(item["startsAt"]) < NOW
    ann = item["annotations"]
    assert ann["summary"].startswith("[CRITICAL]")
    assert ann["runbook_url"].startswith("https://")
    assert all(isinstance(v, str) for v in ann.values())


def test_escalation_ends_the_previous_severity_in_the_same_request() -> None:
    body = postable(
        [alert(Tier.CRITICAL, change="escalated", previous=Tier.WARNING)],
        now=NOW,
        resend_interval=60.0,
    )
    assert [(b["labels"]["severity"], ts(b["endsAt"]) > NOW) for b in body] == [
        ("critical", True),
        ("warning", False),
    ]


def test_resolve_posts_ends_at_now() -> None:
    (item,) = postable([alert(status="resolved", change="resolved")], now=NOW, resend_interval=60)
    assert ts(item["endsAt"]) == NOW
    assert ts(item["startsAt"]) < NOW


def test_posts_an_array_to_api_v2_alerts_and_400_is_permanent() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            return httpx.Response(200)
        return httpx.Response(400, json="start time must be before end time")

    config = AlertmanagerReceiver(name="am", type="alertmanager", url="http://am:9093/")
    receiver = AlertmanagerPushReceiver(
        config, client=httpx.Client(transport=httpx.MockTransport(handler))
    )
    assert isinstance(receiver.send(notification(), now=NOW), Delivered)
    assert seen[0].url == "http://am:9093/api/v2/alerts"
    assert isinstance(receiver.send(notification(), now=NOW), Rejected)
