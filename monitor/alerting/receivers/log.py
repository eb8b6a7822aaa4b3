"""The `log` receiver: one structured log event per alert (structlog)."""

from __future__ import annotations

from typing import Any

import structlog

from driftwarden.monitor.alerting.delivery import Delivered, DeliveryResult
from driftwarden.monitor.alerting.model import Notification
from driftwarden.monitor.config import LogReceiver
from driftwarden.monitor.verdicts.narrative import iso


class StructlogReceiver:
    def __init__(self, config: LogReceiver, *, logger: Any = None) -> None:
        self.name = config.name
        self.send_resolved = config.send_resolved
        self._log = (
            logger if logger is not None else structlog.get_logger("driftwarden.monitor.alerting")
        )

    def send(self, notification: Notification, *, now: float) -> DeliveryResult:
        if notification.digest is not None:
            d = notification.digest
            self._log.info(
                "alert_digest_sent",
                receiver=self.name,
                period_start=iso(d.period_start),
                period_end=iso(d.period_end),
                models={e.model_id: e.highest_tier.label for e in d.entries},
            )
            return Delivered()
        for alert in notification.alerts:
            method = (
                self._log.warning if alert.firing and alert.tier.label != "info" else self._log.info
            )
            method(
                "alert_notified",
                receiver=self.name,
                notification_id=notification.id,
                status=alert.status,
                change=alert.change,
                model=alert.model_id,
                environment=alert.environment,
                tier=alert.tier.label,
                fingerprint=alert.fingerprint,
                title=alert.title,
                columns=[c.column for c in alert.columns],
                runbook_url=alert.runbook_url,
                window_end=iso(alert.window_end),
            )
        return Delivered()

    def close(self) -> None:
        return None
