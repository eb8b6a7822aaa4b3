"""PagerDuty Events API v2 contract against a local imitation of /v2/enqueue."""

from __future__ import annotations

from collections.abc import Callable

import msgspec
import pytest

from driftwarden.monitor.alerting.delivery import Delivered, Rejected, RetryLater
from driftwarden.monitor.alerting.receivers import Receiver, build_receiver
from driftwarden.monitor.alerting.receivers.pagerduty import MAX_SUMMARY, summary
from driftwarden.monitor.config import DeliverySettings, PagerDutyReceiver
from driftwarden.monitor.verdicts.tier import Tier
from tests.monitor.alerting.alert_fakes import Answer, LocalServer
from tests.monitor.alerting.receiver_cases import alert, notification

Start = Callable[[Answer], LocalServer]
KEY = "R0UTINGKEY0000000000000000000000"
ACCEPTED = Answer(
    202,
    b'{"status":"success","message":"Event processed","dedup_key":"k"}',
    {"content-type": "application/json"},
)


def pagerduty(url: str, timeout: float = 0.5) -> Receiver:
    config = PagerDutyReceiver(
        name="pager", type="pagerduty", url=url + "/v2/enqueue", routing_key=KEY
    )
    return build_receiver(config, delivery=DeliverySettings(timeout=timeout))


def test_trigger_event_follows_the_events_v2_contract(local_server: Start) -> None:
    server = local_server(ACCEPTED)
    a = alert(Tier.CRITICAL)
    assert pagerduty(server.url).send(notification(a), now=0.0) == Delivered(status=202)
    (req,) = server.requests
    event = req.json()
    assert req.path == "/v2/enqueue"
    assert event["routing_key"] == KEY
    assert event["event_action"] == "trigger"
    assert event["dedup_key"] == a.fingerprint
    assert len(event["dedup_key"]) <= 255
    payload = event["payload"]
    assert payload["severity"] == "critical"
    assert payload["source"] == "driftwarden/credit-risk/prod"
    assert payload["summary"].startswith("[CRITICAL] credit-risk (prod): drift in 1 column: income")
    assert len(payload["summary"]) <= MAX_SUMMARY
    details = payload["custom_details"]
    assert {"what_happened", "why_it_matters", "what_to_do", "columns"} <= details.keys()
    assert event["links"] == [{"href": "https://runbooks.example/credit-risk", "text": "Runbook"}]


def test_warning_maps_to_warning_and_escalation_reuses_the_dedup_key(local_server: Start) -> None:
    server = local_server(ACCEPTED)
    receiver = pagerduty(server.url)
    receiver.send(notification(alert(Tier.WARNING)), now=0.0)
    receiver.send(
        notification(alert(Tier.CRITICAL, change="escalated", previous=Tier.WARNING)), now=1.0
    )
    first, second = (r.json() for r in server.requests)
    assert (first["payload"]["severity"], second["payload"]["severity"]) == ("warning", "critical")
    assert first["dedup_key"] == second["dedup_key"]


def test_resolve_event_carries_only_key_and_action(local_server: Start) -> None:
    server = local_server(ACCEPTED)
    a = alert(status="resolved", change="resolved")
    pagerduty(server.url).send(notification(a), now=0.0)
    assert server.requests[0].json() == {
        "routing_key": KEY,
        "event_action": "resolve",
        "dedup_key": a.fingerprint,
    }


def test_summary_is_capped_at_1024_characters() -> None:
    long = msgspec.structs.replace(alert(), title="x" * 2000)
    assert len(summary(long)) == MAX_SUMMARY


def test_invalid_event_is_permanent(local_server: Start) -> None:
    server = local_server(
        Answer(
            400,
            b'{"status":"invalid event","message":"Event object is '
            b'invalid","errors":["Length of \'routing_key\' is incorrect"]}',
        )
    )
    result = pagerduty(server.url).send(notification(), now=0.0)
    assert isinstance(result, Rejected)
    assert result.status == 400
    assert not result.endpoint
    assert "routing_key" in result.fix


@pytest.mark.parametrize(
    "answer",
    [Answer(429, b"", {"Retry-After": "30"}), Answer(500, b'{"status":"error"}'), Answer(503, b"")],
)
def test_rate_limits_and_server_errors_are_retried(local_server: Start, answer: Answer) -> None:
    result = pagerduty(local_server(answer).url).send(notification(), now=0.0)
    assert isinstance(result, RetryLater)
    if answer.status == 429:
        assert result.retry_after == 30.0


def test_time_out_is_retried(local_server: Start) -> None:
    slow = local_server(Answer(202, b"{}", delay=1.0))
    assert isinstance(pagerduty(slow.url, timeout=0.2).send(notification(), now=0.0), RetryLater)
