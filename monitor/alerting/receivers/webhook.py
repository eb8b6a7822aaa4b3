"""Generic JSON webhook, e.g. to start a rollback pipeline on a critical alert.

Body: the notification document (`render.document`). Headers follow Standard
Webhooks: `webhook-id` (the notification id, the same on every retry),
`webhook-timestamp` (Unix seconds of this attempt) and, when a secret is set,
`webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.
`Idempotency-Key` repeats the id for receivers that follow the IETF draft.
A secret written `whsec_<base64>` is decoded as Standard Webhooks specifies;
any other secret is used as UTF-8 bytes. 410 means "stop sending here".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import httpx

from driftwarden.monitor.alerting.delivery import DeliveryResult, classify_response
from driftwarden.monitor.alerting.model import Notification
from driftwarden.monitor.alerting.receivers.base import read_secret
from driftwarden.monitor.alerting.receivers.http import SEND_ERRORS, classify_error
from driftwarden.monitor.alerting.redaction import Redactor
from driftwarden.monitor.alerting.render import document
from driftwarden.monitor.config import WebhookReceiver
from driftwarden.monitor.errors import ConfigError


def secret_key(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except ValueError:
            raise ConfigError(
                "webhook secret starts with whsec_ but the rest is not base64; "
                "regenerate it or drop the prefix"
            ) from None
    return secret.encode("utf-8")


def sign(key: bytes, *, message_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def body_bytes(notification: Notification) -> bytes:
    return json.dumps(document(notification), sort_keys=True, separators=(",", ":")).encode()


class JsonWebhookReceiver:
    def __init__(self, config: WebhookReceiver, *, client: httpx.Client) -> None:
        self.name = config.name
        self.send_resolved = config.send_resolved
        self._url = config.url
        self._headers = {k: v.get_secret_value() for k, v in config.headers.items()}
        self._key: bytes | None = None
        # Header values are credentials too (Authorization: Bearer ...).
        secrets = list(self._headers.values())
        if config.secret is not None or config.secret_file is not None:
            secret = read_secret(
                config.secret,
                config.secret_file,
                where=f"alerting.receivers[{config.name}].secret",
            )
            secrets.append(secret)
            self._key = secret_key(secret)
        self._client = client
        self._redactor = Redactor(urls=[config.url], secrets=secrets)
        self._fix = f"check alerting.receivers[{config.name}].url, headers and secret"

    def headers(self, notification: Notification, body: bytes, *, now: float) -> dict[str, str]:
        timestamp = int(now)
        headers = {
            **self._headers,
            "content-type": "application/json",
            "webhook-id": notification.id,
            "webhook-timestamp": str(timestamp),
            "idempotency-key": notification.id,
        }
        if self._key is not None:
            headers["webhook-signature"] = sign(
                self._key, message_id=notification.id, timestamp=timestamp, body=body
            )
        return headers

    def send(self, notification: Notification, *, now: float) -> DeliveryResult:
        body = body_bytes(notification)
        try:
            response = self._client.post(
                self._url, content=body, headers=self.headers(notification, body, now=now)
            )
        except SEND_ERRORS as exc:
            return classify_error(exc, redactor=self._redactor)
        return classify_response(response, now=now, fix=self._fix, redactor=self._redactor)

    def close(self) -> None:
        self._client.close()
