"""The alerting side of `driftwarden_alerts_sent_total` and `driftwarden_alert_outbox_pending`.

Alerting does not import the daemon's metrics registry: it reports through this
small protocol, which `monitor/telemetry/metrics.py` can implement (or wrap with two
lambdas) when the daemon wires the pipeline. Outcomes are the ones docs/metrics.md
lists: `success`, `retry`, `failed` (rejected, not retried), `dropped` (older
than `delivery.max_age`, or suppressed in a replay without real receivers).
"""

from __future__ import annotations

from typing import Literal, Protocol

Outcome = Literal["success", "retry", "failed", "dropped"]


class AlertMetrics(Protocol):
    def alert_sent(self, receiver: str, outcome: Outcome) -> None: ...

    def outbox_pending(self, receiver: str, count: int) -> None: ...


class NullMetrics:
    """Used when nobody listens (tests, replay without a registry)."""

    def alert_sent(self, receiver: str, outcome: Outcome) -> None:
        return None

    def outbox_pending(self, receiver: str, count: int) -> None:
        return None


class RecordingMetrics:
    """Counts in plain dicts; handy in tests and for a replay report."""

    def __init__(self) -> None:
        self.sent: dict[tuple[str, str], int] = {}
        self.pending: dict[str, int] = {}

    def alert_sent(self, receiver: str, outcome: Outcome) -> None:
        self.sent[(receiver, outcome)] = self.sent.get((receiver, outcome), 0) + 1

    def outbox_pending(self, receiver: str, count: int) -> None:
        self.pending[receiver] = count
