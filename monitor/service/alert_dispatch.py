"""Delivering the alert outbox: the daemon's dispatcher thread and its delivery metrics.

The alert pipeline (`monitor.alerting`) queues notifications as verdicts come
in; the dispatcher delivers them from a thread of its own, so a slow receiver
never holds up the consumer loop.
"""

from __future__ import annotations

import threading
import time

import structlog

from driftwarden.monitor.alerting import AlertPipeline
from driftwarden.monitor.alerting.metrics import Outcome
from driftwarden.monitor.telemetry.metrics import Metrics

log = structlog.get_logger(__name__)


class AlertMetricsAdapter:
    """The alert pipeline's metrics protocol onto the daemon's registry."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def alert_sent(self, receiver: str, outcome: Outcome) -> None:
        self._metrics.record_alert(receiver, outcome)

    def outbox_pending(self, receiver: str, count: int) -> None:
        self._metrics.set_outbox_pending(receiver, count)


class AlertDispatcher:
    """One thread that delivers the outbox at once when `wake()` says a notification was
    queued, and every `interval` seconds for retries and timers, until stopped.

    Waking at once matters when a member catches up a backlog: hours of event time
    pass in seconds, and a trigger left for the next poll can be superseded by its
    own resolve before it was ever delivered (the incident would never page)."""

    def __init__(self, pipeline: AlertPipeline, *, interval: float = 1.0) -> None:
        self._pipeline = pipeline
        self._interval = interval
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alert-dispatcher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self._pipeline.dispatch()
            except Exception:  # a delivery bug must not kill alerting for good
                log.exception("alert_dispatch_failed")

    def stop_and_drain(self, deadline: float) -> None:
        """Stop the thread, then deliver what is pending until `deadline` (SIGTERM)."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=max(0.0, deadline - time.monotonic()))
        self._pipeline.drain(deadline=time.time() + max(0.0, deadline - time.monotonic()))
        self._pipeline.close()
