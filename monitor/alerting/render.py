"""Channel-neutral rendering: the JSON document and the plain-text pieces receivers share.

Every receiver shows the same three parts in the same order, so a responder
learns one shape: **what happened** (window, then one line per drifting column
with statistic, threshold, current vs baseline and sample sizes), **why it
matters** (traffic share, whether outputs moved), **what to do** (runbook link
first, then first steps). Channel-specific layouts (Slack blocks, PagerDuty
summary) live with their receivers and reuse these pieces.
"""

from __future__ import annotations

from typing import Any

from driftwarden.monitor.alerting.model import Alert, Digest, Notification
from driftwarden.monitor.verdicts.narrative import format_value, iso

DOCUMENT_VERSION = "1"

CHANGE_WORDS = {
    "new": "Firing",
    "escalated": "Escalated",
    "deescalated": "De-escalated",
    "unchanged": "Still firing",
    "resolved": "Resolved",
}


def headline(alert: Alert) -> str:
    """The title with how it changed since the receiver's last message."""
    word = CHANGE_WORDS[alert.change]
    if alert.change == "escalated" and alert.previous_tier.label != "none":
        word = f"Escalated from {alert.previous_tier.label}"
    elif alert.change == "deescalated":
        word = f"De-escalated from {alert.previous_tier.label}"
    return f"{word}: {alert.title}"


def context_line(alert: Alert) -> str:
    since = iso(alert.starts_at)
    until = f", resolved {iso(alert.ends_at)}" if alert.ends_at is not None else ""
    return (
        f"environment {alert.environment} · model {alert.model_id} · baseline v"
        f"{alert.baseline_version} · since {since}{until} · fingerprint {alert.fingerprint}"
    )


def digest_text(digest: Digest) -> str:
    lines = [
        f"Drift digest for {digest.environment}: {iso(digest.period_start)} to "
        f"{iso(digest.period_end)}, {len(digest.entries)} model(s) left tier none",
    ]
    for e in digest.entries:
        tiers = ", ".join(f"{n} {t}" for t, n in sorted(e.windows_by_tier.items()))
        cols = ", ".join(e.columns) or "no column named"
        lines.append(
            f"  - {e.model_id}: highest {e.highest_tier.label}; {e.windows} window(s) ({tiers}); "
            f"columns: {cols}"
        )
    return "\n".join(lines)


def alert_document(alert: Alert) -> dict[str, Any]:
    doc = _alert_document(alert)
    if alert.report_url:  # only when configured: documents without it stay as they were
        doc["report_url"] = alert.report_url
    return doc


def _alert_document(alert: Alert) -> dict[str, Any]:
    return {
        "status": alert.status,
        "change": alert.change,
        "fingerprint": alert.fingerprint,
        "labels": dict(alert.labels),
        "title": alert.title,
        "what_happened": list(alert.what_happened),
        "why_it_matters": alert.why_it_matters,
        "what_to_do": list(alert.what_to_do),
        "runbook_url": alert.runbook_url,
        "tier": alert.tier.label,
        "previous_tier": alert.previous_tier.label,
        "resolution": alert.resolution,
        "starts_at": iso(alert.starts_at),
        "ends_at": iso(alert.ends_at) if alert.ends_at is not None else None,
        "window": {
            "index": alert.window_index,
            "start": iso(alert.window_start),
            "end": iso(alert.window_end),
            "events": alert.events,
        },
        "traffic_affected": alert.traffic_affected,
        "outputs_moved": alert.outputs_moved,
        "columns": [
            {
                "column": c.column,
                "role": c.role,
                "kind": c.kind,
                "tier": c.tier.label,
                "finding": c.finding,
                "statistic": c.statistic,
                "value": c.value,
                "threshold": c.threshold,
                "value_text": format_value(c.statistic, c.value),
                "current": c.current,
                "baseline": c.baseline,
                "n_current": c.n_current,
                "n_reference": c.n_reference,
                "runbook_url": c.runbook_url,
            }
            for c in alert.columns
        ],
    }


def digest_document(digest: Digest) -> dict[str, Any]:
    return {
        "environment": digest.environment,
        "period_start": iso(digest.period_start),
        "period_end": iso(digest.period_end),
        "models": [
            {
                "model": e.model_id,
                "highest_tier": e.highest_tier.label,
                "windows": e.windows,
                "windows_by_tier": dict(e.windows_by_tier),
                "columns": list(e.columns),
                "first_window_end": iso(e.first_window_end),
                "last_window_end": iso(e.last_window_end),
            }
            for e in digest.entries
        ],
    }


def document(notification: Notification) -> dict[str, Any]:
    """The JSON body of the generic webhook, the JSONL file and the replay report."""
    doc: dict[str, Any] = {
        "version": DOCUMENT_VERSION,
        "id": notification.id,
        "kind": notification.kind,
        "receiver": notification.receiver,
        "created_at": iso(notification.created_at),
    }
    if notification.digest is not None:
        doc["digest"] = digest_document(notification.digest)
        return doc
    doc.update(
        {
            "status": notification.status,
            "group_key": notification.group_key,
            "group_labels": dict(notification.group_labels),
            "alerts": [alert_document(a) for a in notification.alerts],
        }
    )
    return doc
