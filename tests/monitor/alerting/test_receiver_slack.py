"""Slack incoming-webhook contract against a local imitation (127.0.0.1)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from driftwarden.monitor.alerting.delivery import Delivered, Rejected, RetryLater
from driftwarden.monitor.alerting.receivers import Receiver, build_receiver
from driftwarden.monitor.alerting.receivers.slack import slack_message
from driftwarden.monitor.config import DeliverySettings, SlackReceiver
from driftwarden.monitor.verdicts.tier import Tier
from tests.monitor.alerting.alert_fakes import Answer, LocalServer
from tests.monitor.alerting.receiver_cases import alert, notification

Start = Callable[[Answer], LocalServer]


def slack(url: str, timeout: float = 0.5) -> Receiver:
    config = SlackReceiver(name="chat", type="slack", webhook_url=url)
    return build_receiver(config, delivery=DeliverySettings(timeout=timeout))


def test_posts_block_kit_with_text_fallback(local_server: Start) -> None:
    server = local_server(Answer(200, b"ok"))
    result = slack(server.url + "/services/T/B/X").send(notification(), now=0.0)
    assert result == Delivered(status=200)
    (req,) = server.requests
    body = req.json()
    assert req.path == "/services/T/B/X"
    assert req.headers["content-type"] == "application/json"
    assert body["text"].startswith("Firing: [CRITICAL] credit-risk (prod)")
    kinds = [b["type"] for b in body["blocks"]]
    assert kinds == ["header", "section", "section", "section", "context"]
    header = body["blocks"][0]["text"]
    assert header["type"] == "plain_text"
    assert len(header["text"]) <= 150
    sections = [b["text"]["text"] for b in body["blocks"][1:4]]
    assert sections[0].startswith("*What happened*")
    assert "income" in sections[0]
    assert sections[1].startswith("*Why it matters*")
    assert "<https://runbooks.example/credit-risk|Runbook>" in sections[2]


def test_data_derived_strings_are_mrkdwn_escaped() -> None:
    body = slack_message(notification(alert(column_name="<!channel> & <b>")))
    mrkdwn = [body["text"]] + [
        obj["text"]
        for block in body["blocks"]
        for obj in [block.get("text"), *block.get("elements", [])]
        if obj and obj["type"] == "mrkdwn"
    ]
    assert not any("<!channel>" in t for t in mrkdwn)
    assert any("&lt;!channel&gt; &amp; &lt;b&gt;" in t for t in mrkdwn)
    assert body["blocks"][0]["text"]["type"] == "plain_text"  # not parsed for mentions


def test_many_alerts_stay_under_fifty_blocks() -> None:
    many = [alert(column_name=f"c{i}") for i in range(20)]
    body = slack_message(notification(*many))
    assert len(body["blocks"]) <= 50
    assert "more alerts" in body["blocks"][-1]["text"]["text"]


@pytest.mark.parametrize(
    ("status", "body", "endpoint"),
    [
        (400, b"invalid_payload", False),
        (400, b"no_text", False),
        (403, b"invalid_token", True),
        (404, b"no_service", True),
        (410, b"channel_is_archived", True),
    ],
)
def test_client_errors_are_permanent_and_name_the_config(
    local_server: Start, status: int, body: bytes, endpoint: bool
) -> None:
    server = local_server(Answer(status, body))
    result = slack(server.url).send(notification(), now=0.0)
    assert isinstance(result, Rejected)
    assert result.status == status
    assert body.decode() in result.reason
    assert result.endpoint is endpoint
    assert "alerting.receivers[chat].webhook_url" in result.fix


def test_rate_limit_is_retried_after_retry_after(local_server: Start) -> None:
    server = local_server(
        Answer(429, b'{"ok":false,"error":"rate_limited","retry_after":1}', {"Retry-After": "1"})
    )
    result = slack(server.url).send(notification(), now=0.0)
    assert isinstance(result, RetryLater)
    assert result.retry_after == 1.0
    assert result.status == 429


def test_server_errors_and_time_outs_are_retried(local_server: Start) -> None:
    assert isinstance(
        slack(local_server(Answer(500, b"rollup_error")).url).send(notification(), now=0.0),
        RetryLater,
    )
    slow = local_server(Answer(200, b"ok", delay=1.0))
    result = slack(slow.url, timeout=0.2).send(notification(), now=0.0)
    assert isinstance(result, RetryLater)
    assert "time-out" in result.reason


def test_connection_refused_is_retried() -> None:
    server = LocalServer(Answer())
    url = server.url
    server.close()
    assert isinstance(slack(url).send(notification(), now=0.0), RetryLater)


def test_resolved_message_uses_a_check_mark_header() -> None:
    body = slack_message(notification(alert(Tier.WARNING, status="resolved", change="resolved")))
    assert body["blocks"][0]["text"]["text"].startswith(":white_check_mark: Resolved: [RESOLVED]")
