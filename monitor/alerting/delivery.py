"""What a delivery attempt can come to, and how an HTTP answer maps onto it.

Three outcomes, because they need three different reactions:

- `Delivered`: done; remove from the outbox.
- `RetryLater`: the receiver could take it later (429, 5xx, 408, time-out,
  connection error); back off, honouring `Retry-After`.
- `Rejected`: retrying cannot help (400, 401, 403, 404, 410, other 4xx,
  redirects). The notification is dropped and one error names the config to fix.
  `endpoint=True` means the URL or credential is wrong, not this payload, so the
  receiver's circuit opens too.

Every reason is made here, from an answer or an exception, and passes through
the receiver's `Redactor` (`redaction.py`) on the way: an answer that echoes the
request URL or a header must not put the credential into a log line or the
outbox's `last_error`.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from driftwarden.monitor.alerting.redaction import NO_SECRETS, Redactor

if TYPE_CHECKING:  # the local receivers use this module; httpx loads with an HTTP receiver
    import httpx

ENDPOINT_STATUSES = frozenset({401, 403, 404, 410})
RETRY_STATUSES = frozenset({408, 425, 429})


@dataclass(frozen=True, slots=True)
class Delivered:
    status: int | None = None


@dataclass(frozen=True, slots=True)
class RetryLater:
    reason: str
    retry_after: float | None = None
    status: int | None = None


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: str
    fix: str
    status: int | None = None
    endpoint: bool = False


DeliveryResult = Delivered | RetryLater | Rejected


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from `Retry-After`: delay-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - now)


def classify_response(
    response: httpx.Response, *, now: float, fix: str, redactor: Redactor = NO_SECRETS
) -> DeliveryResult:
    """Map an HTTP answer to an outcome; `fix` names the config to check on a rejection."""
    status = response.status_code
    body = " ".join(response.text.split())  # one line, whatever the receiver sent
    if 200 <= status < 300:
        return Delivered(status=status)
    if status in RETRY_STATUSES or status >= 500:
        return RetryLater(
            reason=redactor.scrub(f"HTTP {status} {body}".strip()),
            retry_after=parse_retry_after(response.headers.get("retry-after"), now=now),
            status=status,
        )
    if 300 <= status < 400:
        return Rejected(
            reason=redactor.scrub(
                f"HTTP {status} redirect to {response.headers.get('location', '?')}"
            ),
            fix=f"{fix}: use the final URL (redirects are not followed)",
            status=status,
            endpoint=True,
        )
    return Rejected(
        reason=redactor.scrub(f"HTTP {status} {body}".strip()),
        fix=fix,
        status=status,
        endpoint=status in ENDPOINT_STATUSES,
    )
