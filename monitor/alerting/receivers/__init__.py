"""One module per receiver type; `build_receivers` turns config into instances.

Every receiver implements `Receiver` (`base.py`): `send(notification, now=...)`
returns a `DeliveryResult` and never raises for a delivery problem. `log` and
`file` are local (always used, also in replay); the others talk HTTP through an
`httpx.Client` with explicit time-outs and no redirects.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpx

from driftwarden.monitor.alerting.receivers.alertmanager import AlertmanagerPushReceiver
from driftwarden.monitor.alerting.receivers.base import Receiver
from driftwarden.monitor.alerting.receivers.file import FileLogReceiver
from driftwarden.monitor.alerting.receivers.log import StructlogReceiver
from driftwarden.monitor.alerting.receivers.pagerduty import PagerDutyEventsReceiver
from driftwarden.monitor.alerting.receivers.slack import SlackWebhookReceiver
from driftwarden.monitor.alerting.receivers.webhook import JsonWebhookReceiver
from driftwarden.monitor.config import (
    AlertmanagerReceiver,
    DeliverySettings,
    FileReceiver,
    LogReceiver,
    PagerDutyReceiver,
    SlackReceiver,
    WebhookReceiver,
)
from driftwarden.monitor.config import (
    Receiver as ReceiverConfig,
)

LOCAL_TYPES = frozenset({"log", "file"})


def http_client(delivery: DeliverySettings, transport: httpx.BaseTransport | None) -> httpx.Client:
    """Explicit time-outs on every phase; redirects are failures (a moved URL is a config bug)."""
    timeout = httpx.Timeout(
        connect=min(3.0, delivery.timeout),
        read=delivery.timeout,
        write=delivery.timeout,
        pool=min(3.0, delivery.timeout),
    )
    return httpx.Client(timeout=timeout, follow_redirects=False, transport=transport)


def build_receiver(
    config: ReceiverConfig,
    *,
    delivery: DeliverySettings,
    transport: httpx.BaseTransport | None = None,
) -> Receiver:
    if isinstance(config, LogReceiver):
        return StructlogReceiver(config)
    if isinstance(config, FileReceiver):
        return FileLogReceiver(config)
    client = http_client(delivery, transport)
    if isinstance(config, SlackReceiver):
        return SlackWebhookReceiver(config, client=client)
    if isinstance(config, PagerDutyReceiver):
        return PagerDutyEventsReceiver(config, client=client)
    if isinstance(config, AlertmanagerReceiver):
        return AlertmanagerPushReceiver(config, client=client)
    if isinstance(config, WebhookReceiver):
        return JsonWebhookReceiver(config, client=client)
    raise AssertionError(f"unknown receiver type {type(config).__name__}")


def build_receivers(
    configs: Iterable[ReceiverConfig],
    *,
    delivery: DeliverySettings,
    real_receivers: bool,
    transport: httpx.BaseTransport | None = None,
) -> dict[str, Receiver]:
    """Receivers by name; without `real_receivers` only the local ones (log, file)."""
    return {
        c.name: build_receiver(c, delivery=delivery, transport=transport)
        for c in configs
        if real_receivers or c.type in LOCAL_TYPES
    }


__all__ = ["LOCAL_TYPES", "Receiver", "build_receiver", "build_receivers", "http_client"]
