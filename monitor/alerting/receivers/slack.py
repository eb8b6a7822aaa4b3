"""Slack incoming webhook: a Block Kit message with a plain `text` fallback.

Layout per alert: `header` (the headline, <= 150 chars), `section` What
happened, `section` Why it matters, `section` What to do (runbook link first),
`context` footer (environment, model, baseline, since, fingerprint). Data-derived
strings are mrkdwn-escaped (`&`, `<`, `>`) so a column or category name can never
become a mention or a link. Answers: 200 `ok`; 429 with `Retry-After` is retried;
400/403/404/410 are permanent (the webhook URL or its channel is the problem).
Slack has no idempotency key, so the read time-out stays generous
(`delivery.timeout`, 10 s by default) to make "posted but timed out" rare.
"""

from __future__ import annotations

from typing import Any

import httpx

from driftwarden.monitor.alerting.delivery import DeliveryResult, classify_response
from driftwarden.monitor.alerting.describe import shorten
from driftwarden.monitor.alerting.model import Alert, Digest, Notification
from driftwarden.monitor.alerting.receivers.base import read_secret
from driftwarden.monitor.alerting.receivers.http import SEND_ERRORS, classify_error
from driftwarden.monitor.alerting.redaction import Redactor
from driftwarden.monitor.alerting.render import context_line, digest_text, headline
from driftwarden.monitor.config import SlackReceiver

MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_ALERTS_PER_MESSAGE = 8  # 6 blocks each keeps a message under Slack's 50-block limit

_EMOJI = {"critical": ":rotating_light:", "warning": ":warning:", "info": ":information_source:"}


def escape(text: str) -> str:
    """Slack mrkdwn escaping for data-derived text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(url: str, label: str) -> str:
    # A URL from config may itself contain '|' or '>', which would end the link early.
    safe = url.replace(">", "%3E").replace("|", "%7C").replace(" ", "%20")
    return f"<{safe}|{escape(label)}>"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": shorten(text, MAX_SECTION)}}


def alert_blocks(alert: Alert) -> list[dict[str, Any]]:
    emoji = ":white_check_mark:" if not alert.firing else _EMOJI.get(alert.tier.label, "")
    header = shorten(f"{emoji} {headline(alert)}".strip(), MAX_HEADER)
    happened = "*What happened*\n" + "\n".join(f"• {escape(line)}" for line in alert.what_happened)
    todo = ["*What to do*"]
    if alert.runbook_url:
        todo.append(f"• {_link(alert.runbook_url, 'Runbook')}")
    if alert.report_url:
        todo.append(f"• {_link(alert.report_url, 'Report: this window')}")
    todo += [f"• {escape(step)}" for step in alert.what_to_do]
    return [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}},
        _section(happened),
        _section(f"*Why it matters*\n{escape(alert.why_it_matters)}"),
        _section("\n".join(todo)),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": escape(context_line(alert))}]},
    ]


def digest_blocks(digest: Digest) -> list[dict[str, Any]]:
    first, *rest = digest_text(digest).split("\n")
    return [
        {"type": "header", "text": {"type": "plain_text", "text": shorten(first, MAX_HEADER)}},
        _section("\n".join(escape(line.strip()).replace("- ", "• ", 1) for line in rest) or "-"),
    ]


def slack_message(notification: Notification) -> dict[str, Any]:
    """The JSON body: `blocks` for the layout, `text` for notifications and old clients."""
    if notification.digest is not None:
        first_line = digest_text(notification.digest).split("\n")[0]
        return {"text": escape(first_line), "blocks": digest_blocks(notification.digest)}
    alerts = list(notification.alerts)
    shown = alerts[:MAX_ALERTS_PER_MESSAGE]
    blocks: list[dict[str, Any]] = []
    for i, alert in enumerate(shown):
        if i:
            blocks.append({"type": "divider"})
        blocks += alert_blocks(alert)
    if len(alerts) > len(shown):
        blocks.append(_section(f"_+{len(alerts) - len(shown)} more alerts in this group_"))
    text = escape(headline(alerts[0])) if alerts else "driftwarden"
    if len(alerts) > 1:
        text += f" (and {len(alerts) - 1} more)"
    return {"text": text, "blocks": blocks[:MAX_BLOCKS]}


class SlackWebhookReceiver:
    def __init__(self, config: SlackReceiver, *, client: httpx.Client) -> None:
        self.name = config.name
        self.send_resolved = config.send_resolved
        self._url = read_secret(
            config.webhook_url,
            config.webhook_url_file,
            where=f"alerting.receivers[{config.name}].webhook_url",
        )
        self._client = client
        self._redactor = Redactor(urls=[self._url])
        self._fix = (
            f"check alerting.receivers[{config.name}].webhook_url (or webhook_url_file): the "
            "Slack webhook may be revoked or disabled, or its channel archived"
        )

    def send(self, notification: Notification, *, now: float) -> DeliveryResult:
        try:
            response = self._client.post(self._url, json=slack_message(notification))
        except SEND_ERRORS as exc:
            return classify_error(exc, redactor=self._redactor)
        return classify_response(response, now=now, fix=self._fix, redactor=self._redactor)

    def close(self) -> None:
        self._client.close()
