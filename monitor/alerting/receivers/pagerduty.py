"""PagerDuty Events API v2: one `trigger` or `resolve` per alert, `dedup_key` = fingerprint.

The fingerprint names the model's incident, not its tier, so warning ->
critical is a second trigger on the same key: PagerDuty adds it to the open
incident (raising its severity) instead of paging twice. A retry re-sends the
same events; PagerDuty dedupes them by key, so a retry never becomes a second
page. Answers: 202 accepted; 400 invalid event (permanent, the payload is
wrong); 429 and 5xx are retried. `summary` is capped at 1024 characters and the
whole event at 512 KB (the details are replaced by a note beyond that).
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from driftwarden.monitor.alerting.delivery import Delivered, DeliveryResult, classify_response
from driftwarden.monitor.alerting.describe import shorten
from driftwarden.monitor.alerting.model import Alert, Notification
from driftwarden.monitor.alerting.receivers.base import read_secret
from driftwarden.monitor.alerting.receivers.http import SEND_ERRORS, classify_error
from driftwarden.monitor.alerting.redaction import Redactor
from driftwarden.monitor.alerting.render import alert_document
from driftwarden.monitor.config import PagerDutyReceiver
from driftwarden.monitor.verdicts.narrative import iso

MAX_SUMMARY = 1024
MAX_EVENT_BYTES = 512_000
SEVERITY = {"critical": "critical", "warning": "warning", "info": "info"}


def summary(alert: Alert) -> str:
    """The incident title on the phone: title, then the strongest column's evidence."""
    lead = alert.what_happened[1] if len(alert.what_happened) > 1 else alert.what_happened[0]
    return shorten(f"{alert.title} | {lead}", MAX_SUMMARY)


def event(alert: Alert, *, routing_key: str) -> dict[str, Any]:
    if not alert.firing:
        return {
            "routing_key": routing_key,
            "event_action": "resolve",
            "dedup_key": alert.fingerprint,
        }
    doc = alert_document(alert)
    details = {
        "what_happened": doc["what_happened"],
        "why_it_matters": doc["why_it_matters"],
        "what_to_do": doc["what_to_do"],
        "runbook_url": doc["runbook_url"],
        "change": doc["change"],
        "window": doc["window"],
        "baseline_version": alert.baseline_version,
        "traffic_affected": alert.traffic_affected,
        "outputs_moved": alert.outputs_moved,
        "columns": doc["columns"],
    }
    body: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": alert.fingerprint,
        "client": "driftwarden",
        "payload": {
            "summary": summary(alert),
            "source": f"driftwarden/{alert.model_id}/{alert.environment}",
            "severity": SEVERITY.get(alert.tier.label, "error"),
            "timestamp": iso(alert.window_end),
            "component": alert.model_id,
            "group": alert.environment,
            "class": "model-drift",
            "custom_details": details,
        },
    }
    links = [{"href": alert.runbook_url, "text": "Runbook"}] if alert.runbook_url else []
    if alert.report_url:
        links.append({"href": alert.report_url, "text": "Report: this window"})
    if links:
        body["links"] = links
    if len(json.dumps(body).encode("utf-8")) > MAX_EVENT_BYTES:
        body["payload"]["custom_details"] = {
            "note": "details exceeded PagerDuty's 512 KB event limit; see the Slack message or "
            "the replay report for the full column list",
            "what_to_do": doc["what_to_do"][:5],
        }
    return body


def events(notification: Notification, *, routing_key: str) -> list[dict[str, Any]]:
    return [event(a, routing_key=routing_key) for a in notification.alerts]


class PagerDutyEventsReceiver:
    def __init__(self, config: PagerDutyReceiver, *, client: httpx.Client) -> None:
        self.name = config.name
        self.send_resolved = config.send_resolved
        self._url = config.url
        self._key = read_secret(
            config.routing_key,
            config.routing_key_file,
            where=f"alerting.receivers[{config.name}].routing_key",
        )
        self._client = client
        self._redactor = Redactor(urls=[config.url], secrets=[self._key])
        self._fix = (
            f"check alerting.receivers[{config.name}]: routing_key (32-character integration "
            "key of an Events API v2 integration) and url"
        )

    def send(self, notification: Notification, *, now: float) -> DeliveryResult:
        if notification.digest is not None:
            return Delivered()  # digests are not pages; config validation keeps them away
        for body in events(notification, routing_key=self._key):
            try:
                response = self._client.post(self._url, json=body)
            except SEND_ERRORS as exc:
                return classify_error(exc, redactor=self._redactor)
            result = classify_response(response, now=now, fix=self._fix, redactor=self._redactor)
            if not isinstance(result, Delivered):
                return result  # the retry re-sends all events; PagerDuty dedupes by dedup_key
        return Delivered(status=202)

    def close(self) -> None:
        self._client.close()
