"""One module per receiver type; `build_receivers` turns config into instances.

Every receiver implements `Receiver` (`base.py`): `send(notification, now=...)`
returns a `DeliveryResult` and never raises for a delivery problem. `log` and
`file` are local (always used, also in replay); the others talk HTTP through an
`httpx.Client` with explicit time-outs and no redirects (`http.py`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from driftwarden.monitor.alerting.receivers.base import Receiver
from driftwarden.monitor.alerting.receivers.file import FileLogReceiver
from driftwarden.monitor.alerting.receivers.log import StructlogReceiver
from driftwarden.monitor.config import DeliverySettings, FileReceiver, LogReceiver
from driftwarden.monitor.config import (
    Receiver as ReceiverConfig,
)

if TYPE_CHECKING:
    import httpx

LOCAL_TYPES = frozenset({"log", "file"})


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
    # Imported here: httpx loads only when an HTTP receiver is built, not in a replay
    # without --send-alerts (tests/monitor/test_startup_imports.py).
    from driftwarden.monitor.alerting.receivers.remote import remote_receiver  # noqa: PLC0415

    return remote_receiver(config, delivery=delivery, transport=transport)


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


__all__ = ["LOCAL_TYPES", "Receiver", "build_receiver", "build_receivers"]
