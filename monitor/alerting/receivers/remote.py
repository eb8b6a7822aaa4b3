"""The receivers that send over HTTP, built from their config with one shared client.

Apart from `receivers/__init__.py` so that building only local receivers (replay
without --send-alerts) never imports httpx.
"""

from __future__ import annotations

import httpx

from driftwarden.monitor.alerting.receivers.alertmanager import AlertmanagerPushReceiver
from driftwarden.monitor.alerting.receivers.base import Receiver
from driftwarden.monitor.alerting.receivers.http import http_client
from driftwarden.monitor.alerting.receivers.pagerduty import PagerDutyEventsReceiver
from driftwarden.monitor.alerting.receivers.slack import SlackWebhookReceiver
from driftwarden.monitor.alerting.receivers.webhook import JsonWebhookReceiver
from driftwarden.monitor.config import (
    AlertmanagerReceiver,
    DeliverySettings,
    PagerDutyReceiver,
    SlackReceiver,
    WebhookReceiver,
)
from driftwarden.monitor.config import (
    Receiver as ReceiverConfig,
)


def remote_receiver(
    config: ReceiverConfig,
    *,
    delivery: DeliverySettings,
    transport: httpx.BaseTransport | None = None,
) -> Receiver:
    client = http_client(delivery, transport)
    if isinstance(config, SlackReceiver):
        return SlackWebhookReceiver(config, client=client)
    if isinstance(config, PagerDutyReceiver):
        return PagerDutyEventsReceiver(config, client=client)
    if isinstance(config, AlertmanagerReceiver):
        return AlertmanagerPushReceiver(config, client=client)
    if isinstance(config, WebhookReceiver):
        return JsonWebhookReceiver(config, client=client)
    client.close()
    raise AssertionError(f"unknown receiver type {type(config).__name__}")
