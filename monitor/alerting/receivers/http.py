"""What the HTTP receivers share: the client and the errors a send can raise.

Its own module so that httpx loads with the first HTTP receiver built, never where
only the local receivers (log, file) deliver: replay's start-up (docs/benchmarks.md).
"""

from __future__ import annotations

import httpx

from driftwarden.monitor.alerting.delivery import RetryLater
from driftwarden.monitor.alerting.redaction import NO_SECRETS, Redactor
from driftwarden.monitor.config import DeliverySettings


def http_client(delivery: DeliverySettings, transport: httpx.BaseTransport | None) -> httpx.Client:
    """Explicit time-outs on every phase; redirects are failures (a moved URL is a config bug)."""
    timeout = httpx.Timeout(
        connect=min(3.0, delivery.timeout),
        read=delivery.timeout,
        write=delivery.timeout,
        pool=min(3.0, delivery.timeout),
    )
    return httpx.Client(timeout=timeout, follow_redirects=False, transport=transport)


SEND_ERRORS = (httpx.HTTPError, httpx.InvalidURL, UnicodeError)
"""What `client.post` raises for a bad URL, header or network: a delivery problem, not a bug.

httpx's messages can quote the URL or a header value (h11's "Illegal header
value b'...'"), hence the redactor in `classify_error`.
"""


def classify_error(exc: Exception, *, redactor: Redactor = NO_SECRETS) -> RetryLater:
    if isinstance(exc, httpx.TimeoutException):
        return RetryLater(reason=f"time-out ({type(exc).__name__})")
    return RetryLater(reason=redactor.scrub(f"{type(exc).__name__}: {exc}"))
