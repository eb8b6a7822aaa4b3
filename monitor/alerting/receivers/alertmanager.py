"""Prometheus Alertmanager API v2: `POST /api/v2/alerts`, for teams that already route there.

Alertmanager identifies an alert by its label set, so labels carry only what
names it: `alertname`, `model`, `environment` and `severity` (the tier, for
Alertmanager inhibition rules). Values that change while it fires (statistics,
baseline version, the text) go into annotations. Following Prometheus' own
sender, a firing alert is re-posted every `resend_interval` (wall clock) with
`endsAt = now + 4 x resend_interval`, so it stays active while driftwarden runs
and resolves by itself if driftwarden dies; a resolve posts `endsAt = now`.
An escalation changes `severity`, i.e. the label set: the receiver posts the new
severity firing and the one it last delivered as resolved, in one request.
A 400 answer means some alert was invalid (valid ones of the batch are stored
anyway): it is permanent for this payload, never retried as a whole.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from driftwarden.monitor.alerting.delivery import Delivered, DeliveryResult, classify_response
from driftwarden.monitor.alerting.model import Alert, Notification
from driftwarden.monitor.alerting.receivers.http import SEND_ERRORS, classify_error
from driftwarden.monitor.alerting.redaction import Redactor
from driftwarden.monitor.alerting.render import alert_document
from driftwarden.monitor.config import AlertmanagerReceiver
from driftwarden.monitor.verdicts.tier import Tier

IDENTITY = ("alertname", "model", "environment")


def rfc3339(ts: float) -> str:
    return (
        datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def labels_for(alert: Alert, tier: Tier) -> dict[str, str]:
    labels = {name: alert.labels[name] for name in IDENTITY}
    labels["severity"] = tier.label
    return labels


def annotations_for(alert: Alert) -> dict[str, str]:
    doc = alert_document(alert)
    out = {
        "summary": alert.title,
        "description": "\n".join([*alert.what_happened, alert.why_it_matters]),
        "what_to_do": "\n".join(alert.what_to_do),
        "baseline_version": str(alert.baseline_version),
        "columns": ", ".join(c["column"] for c in doc["columns"]),
        "traffic_affected": f"{alert.traffic_affected:.3f}",
        "outputs_moved": str(alert.outputs_moved).lower(),
        "fingerprint": alert.fingerprint,
    }
    if alert.runbook_url:
        out["runbook_url"] = alert.runbook_url
    if alert.report_url:
        out["report_url"] = alert.report_url
    return out


def postable(
    alerts: Sequence[Alert], *, now: float, resend_interval: float
) -> list[dict[str, Any]]:
    """The request body: firing alerts kept alive, resolved ones and replaced severities ended."""
    body: list[dict[str, Any]] = []
    for alert in alerts:
        starts = min(alert.starts_at, now - 1.0)  # Alertmanager rejects startsAt >= endsAt
        if alert.firing:
            body.append(
                {
                    "labels": labels_for(alert, alert.tier),
                    "annotations": annotations_for(alert),
                    "startsAt": rfc3339(starts),
                    "endsAt": rfc3339(now + 4 * resend_interval),
                }
            )
            if alert.change in ("escalated", "deescalated") and alert.previous_tier > Tier.NONE:
                body.append(
                    {
                        "labels": labels_for(alert, alert.previous_tier),
                        "annotations": annotations_for(alert),
                        "startsAt": rfc3339(starts),
                        "endsAt": rfc3339(now),
                    }
                )
        else:
            body.append(
                {
                    "labels": labels_for(alert, alert.tier),
                    "annotations": annotations_for(alert),
                    "startsAt": rfc3339(starts),
                    "endsAt": rfc3339(now),
                }
            )
    return body


class AlertmanagerPushReceiver:
    def __init__(self, config: AlertmanagerReceiver, *, client: httpx.Client) -> None:
        self.name = config.name
        self.send_resolved = config.send_resolved
        self.resend_interval = config.resend_interval
        self._url = config.url.rstrip("/") + "/api/v2/alerts"
        self._client = client
        self._redactor = Redactor(urls=[config.url, self._url])
        self._fix = (
            f"check alerting.receivers[{config.name}].url (the Alertmanager base URL, e.g. "
            "http://alertmanager:9093) and that its API v2 is reachable"
        )

    def _post(self, alerts: Sequence[Alert], now: float) -> DeliveryResult:
        body = postable(alerts, now=now, resend_interval=self.resend_interval)
        if not body:
            return Delivered()
        try:
            response = self._client.post(self._url, json=body)
        except SEND_ERRORS as exc:
            return classify_error(exc, redactor=self._redactor)
        return classify_response(response, now=now, fix=self._fix, redactor=self._redactor)

    def send(self, notification: Notification, *, now: float) -> DeliveryResult:
        if notification.digest is not None:
            return Delivered()
        return self._post(notification.alerts, now)

    def refresh(self, alerts: Sequence[Alert], *, now: float) -> DeliveryResult:
        """Re-post firing alerts unchanged so their `endsAt` moves forward."""
        return self._post([a for a in alerts if a.firing and a.change != "resolved"], now)

    def close(self) -> None:
        self._client.close()
