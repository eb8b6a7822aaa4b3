"""Generic webhook: Standard Webhooks headers and signature, idempotency across retries."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable

from driftwarden.monitor.alerting.delivery import Delivered, Rejected, RetryLater
from driftwarden.monitor.alerting.receivers import Receiver, build_receiver
from driftwarden.monitor.config import DeliverySettings, WebhookReceiver
from tests.monitor.alerting.alert_fakes import Answer, LocalServer
from tests.monitor.alerting.receiver_cases import notification

Start = Callable[[Answer], LocalServer]
SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def webhook(url: str) -> Receiver:
    config = WebhookReceiver(
        name="rollback", type="webhook", url=url, secret=SECRET, headers={"x-team": "ml"}
    )
    return build_receiver(config, delivery=DeliverySettings(timeout=0.5))


def test_signature_verifies_with_the_standard_webhooks_recipe(local_server: Start) -> None:
    server = local_server(Answer(204, b""))
    assert isinstance(webhook(server.url).send(notification(), now=1_800_000_000.5), Delivered)
    (req,) = server.requests
    h = req.headers
    assert h["webhook-id"] == h["idempotency-key"] == "r.abc.1.1"
    assert h["webhook-timestamp"] == "1800000000"
    assert h["x-team"] == "ml"
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    signed = f"{h['webhook-id']}.{h['webhook-timestamp']}.".encode() + req.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    assert h["webhook-signature"] == f"v1,{expected}"
    body = json.loads(req.body)
    assert body["alerts"][0]["labels"]["model"] == "credit-risk"


def test_a_retry_keeps_the_id_and_re_signs_the_new_timestamp(local_server: Start) -> None:
    server = local_server(Answer(200, b""))
    server.answers.append(Answer(503, b"", {"Retry-After": "5"}))
    receiver = webhook(server.url)
    first = receiver.send(notification(), now=100.0)
    assert isinstance(first, RetryLater)
    assert first.retry_after == 5.0
    assert isinstance(receiver.send(notification(), now=110.0), Delivered)
    a, b = (r.headers for r in server.requests)
    assert a["webhook-id"] == b["webhook-id"]
    assert (a["webhook-timestamp"], b["webhook-timestamp"]) == ("100", "110")
    assert a["webhook-signature"] != b["webhook-signature"]


def test_gone_and_redirects_are_permanent(local_server: Start) -> None:
    gone = webhook(local_server(Answer(410, b"")).url).send(notification(), now=0.0)
    assert isinstance(gone, Rejected)
    assert gone.endpoint
    moved = webhook(local_server(Answer(301, b"", {"Location": "https://x"})).url).send(
        notification(), now=0.0
    )
    assert isinstance(moved, Rejected)
    assert "final URL" in moved.fix
