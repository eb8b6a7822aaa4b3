"""Delivery of the outbox: order, retries, circuit breakers, de-duplication, metrics.

Runs on the wall clock (passed in as `now`), never on event time. One round of
`dispatch(now)` walks the outbox in enqueue order and, per entry:

1. drops it when older than `delivery.max_age` (outcome `dropped`);
2. skips it while its back-off runs, while its receiver's circuit is open, or
   while an older entry for the same receiver and alert is still pending;
3. rewrites it against what the receiver has really received: `change` and
   `previous_tier` per alert, resolves for alerts it never saw firing removed
   (nothing to resolve there), resolved alerts removed for `send_resolved: false`;
4. sends it and records the outcome: success deletes the entry and remembers the
   alerts delivered; a retryable failure backs off with full jitter and
   `Retry-After`; a rejection drops it, logs the config to fix once, and opens
   the circuit when the endpoint itself is wrong.

After the first retryable failure a receiver gets no more attempts in the same
round: one dead receiver costs one time-out per round, not one per entry.
Alertmanager receivers additionally get their firing alerts re-posted every
`resend_interval` (see `receivers/alertmanager.py`).

Call `dispatch` from one thread at a time; `observe` may run on another thread
(the pipeline holds a lock around shared state, not around network calls).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping
from typing import Any

import msgspec
import structlog

from driftwarden.monitor.alerting.backoff import Backoff
from driftwarden.monitor.alerting.breaker import CircuitBreaker
from driftwarden.monitor.alerting.delivery import Delivered, DeliveryResult, Rejected, RetryLater
from driftwarden.monitor.alerting.metrics import AlertMetrics
from driftwarden.monitor.alerting.model import Alert, Notification
from driftwarden.monitor.alerting.outbox import Outbox, OutboxEntry
from driftwarden.monitor.alerting.receivers.base import Receiver, RefreshedReceiver
from driftwarden.monitor.config import DeliverySettings
from driftwarden.monitor.verdicts.tier import Tier

LEDGER_SIZE = 2000


class DeliveryState(msgspec.Struct, kw_only=True):
    """What each receiver has really received; persisted with the pipeline state."""

    delivered: dict[str, dict[str, Alert]] = msgspec.field(default_factory=dict)
    ledger: list[str] = msgspec.field(default_factory=list)
    refreshed_at: dict[str, float] = msgspec.field(default_factory=dict)


def _against_receiver(
    note: Notification, delivered: Mapping[str, Alert], *, send_resolved: bool
) -> Notification:
    alerts = []
    for alert in note.alerts:
        before = delivered.get(alert.fingerprint)
        if alert.firing:
            if before is None:
                change, previous = "new", Tier.NONE
            else:
                previous = before.tier
                change = (
                    "escalated"
                    if alert.tier > previous
                    else "deescalated"
                    if alert.tier < previous
                    else "unchanged"
                )
            alerts.append(msgspec.structs.replace(alert, change=change, previous_tier=previous))
        elif before is not None and send_resolved:
            alerts.append(
                msgspec.structs.replace(
                    alert, change="resolved", previous_tier=before.tier, tier=before.tier
                )
            )
    return msgspec.structs.replace(note, alerts=tuple(alerts))


class Dispatcher:
    def __init__(
        self,
        *,
        receivers: Mapping[str, Receiver],
        outbox: Outbox,
        state: DeliveryState,
        settings: DeliverySettings,
        metrics: AlertMetrics,
        rng: random.Random,
        lock: threading.RLock,
        logger: Any = None,
        persist: Callable[[], None] = lambda: None,
    ) -> None:
        self._receivers = receivers
        self._outbox = outbox
        self._state = state
        self._settings = settings
        self._metrics = metrics
        self._rng = rng
        self._lock = lock
        self._persist = persist
        self._backoff = Backoff(base=settings.backoff_base, cap=settings.backoff_cap)
        self._breakers = {
            name: CircuitBreaker(failures=settings.breaker_failures, reset=settings.breaker_reset)
            for name in receivers
        }
        self._reported: set[tuple[str, int | None, str]] = set()
        self._log = (
            logger if logger is not None else structlog.get_logger("driftwarden.monitor.alerting")
        )

    def breaker(self, receiver: str) -> CircuitBreaker:
        return self._breakers[receiver]

    def report_pending(self) -> None:
        for name in self._receivers:
            self._metrics.outbox_pending(name, self._outbox.pending_count(name))

    def next_due(self, now: float) -> float | None:
        """The earliest wall time at which `dispatch` could make progress (None: nothing queued)."""
        times = []
        for entry in self._outbox.entries():
            breaker = self._breakers.get(entry.notification.receiver)
            if breaker is None:
                continue
            at = entry.next_attempt_at
            if breaker.opened_at is not None and not breaker.allow(now):
                at = max(at, breaker.opened_at + breaker.reset)
            times.append(at)
        return min(times) if times else None

    def _prepare(self, entry: OutboxEntry, receiver: Receiver, now: float) -> Notification | None:
        note = entry.notification
        if now - entry.enqueued_at > self._settings.max_age:
            self._outbox.remove(entry.seq)
            self._metrics.alert_sent(receiver.name, "dropped")
            self._log.error(
                "alert_dropped_too_old",
                receiver=receiver.name,
                notification_id=note.id,
                attempts=entry.attempts,
                last_error=entry.last_error,
                max_age=self._settings.max_age,
            )
            return None
        if note.kind != "alert":
            return note
        delivered = self._state.delivered.setdefault(receiver.name, {})
        prepared = _against_receiver(note, delivered, send_resolved=receiver.send_resolved)
        if not receiver.send_resolved:
            for alert in note.alerts:
                if not alert.firing:
                    delivered.pop(alert.fingerprint, None)
        if not prepared.alerts:  # only resolves of alerts this receiver never saw firing
            self._outbox.remove(entry.seq)
            self._log.debug(
                "alert_nothing_to_send", receiver=receiver.name, notification_id=note.id
            )
            return None
        return prepared

    def _record_success(self, entry: OutboxEntry, sent: Notification, now: float) -> None:
        self._outbox.remove(entry.seq)
        delivered = self._state.delivered.setdefault(sent.receiver, {})
        for alert in sent.alerts:
            if alert.firing:
                delivered[alert.fingerprint] = alert
            else:
                delivered.pop(alert.fingerprint, None)
        self._state.ledger.append(sent.id)
        del self._state.ledger[:-LEDGER_SIZE]
        if isinstance(self._receivers.get(sent.receiver), RefreshedReceiver):
            self._state.refreshed_at[sent.receiver] = now
        self._breakers[sent.receiver].success()
        self._metrics.alert_sent(sent.receiver, "success")
        self._log.debug(
            "alert_delivered",
            receiver=sent.receiver,
            notification_id=sent.id,
            attempts=entry.attempts + 1,
        )

    def _record_retry(self, entry: OutboxEntry, result: RetryLater, now: float) -> None:
        name = entry.notification.receiver
        delay = self._backoff.delay(entry.attempts, self._rng, retry_after=result.retry_after)
        self._outbox.release(entry, next_attempt_at=now + delay, error=result.reason)
        self._breakers[name].failure(now)
        self._metrics.alert_sent(name, "retry")
        self._log.warning(
            "alert_delivery_failed",
            receiver=name,
            notification_id=entry.notification.id,
            attempt=entry.attempts,
            retry_in=round(delay, 3),
            reason=result.reason,
            breaker=self._breakers[name].state(now),
        )

    def _record_rejection(self, entry: OutboxEntry, result: Rejected, now: float) -> None:
        name = entry.notification.receiver
        self._outbox.remove(entry.seq)
        self._metrics.alert_sent(name, "failed")
        if result.endpoint:
            self._breakers[name].trip(now)
        key = (name, result.status, result.reason if result.status == 400 else "")
        event = {
            "receiver": name,
            "notification_id": entry.notification.id,
            "status": result.status,
            "reason": result.reason,
            "fix": result.fix,
        }
        if key in self._reported:
            self._log.debug("alert_rejected", **event)
        else:
            self._reported.add(key)
            self._log.error("alert_rejected", **event)

    def _refresh(self, now: float, failed: set[str]) -> int:
        sent = 0
        for name, receiver in self._receivers.items():
            if not isinstance(receiver, RefreshedReceiver) or name in failed:
                continue
            with self._lock:
                last = self._state.refreshed_at.get(name)
                if last is not None and now - last < receiver.resend_interval:
                    continue
                if not self._breakers[name].allow(now):
                    continue
                pending = self._outbox.pending_fingerprints(name)
                alerts = [
                    a
                    for fp, a in sorted(self._state.delivered.get(name, {}).items())
                    if fp not in pending
                ]
            if not alerts:
                continue
            result = receiver.refresh(alerts, now=now)
            with self._lock:
                if isinstance(result, Delivered):
                    self._state.refreshed_at[name] = now
                    self._breakers[name].success()
                    self._metrics.alert_sent(name, "success")
                    sent += 1
                else:
                    self._breakers[name].failure(now)
                    self._metrics.alert_sent(name, "retry")
                    self._log.warning(
                        "alert_refresh_failed", receiver=name, reason=getattr(result, "reason", "")
                    )
        return sent

    def dispatch(self, now: float, keep_going: Callable[[], bool] = lambda: True) -> int:
        """One delivery round; returns how many deliveries succeeded.

        Each outcome is persisted (`persist`) before the next send, so a crash
        or a handover re-sends at most the one notification in flight.
        `keep_going` is asked before each send (False: the member is handing over).
        """
        delivered = 0
        failed: set[str] = set()
        with self._lock:
            seqs = [e.seq for e in self._outbox.entries()]
        for seq in seqs:
            if not keep_going():
                return delivered
            with self._lock:
                entry = next((e for e in self._outbox.entries() if e.seq == seq), None)
                if entry is None:
                    continue
                name = entry.notification.receiver
                receiver = self._receivers.get(name)
                if receiver is None or not self._sendable(entry, now, failed):
                    continue
                prepared = self._prepare(entry, receiver, now)
                if prepared is None:
                    continue
                self._outbox.claim(seq)
            try:
                result: DeliveryResult = receiver.send(prepared, now=now)
            except Exception as exc:  # a receiver bug must not wedge the outbox
                self._log.exception("alert_receiver_crashed", receiver=name)
                # The message may quote what the receiver was sending; the traceback above has it.
                result = RetryLater(reason=f"receiver error: {type(exc).__name__}")
            with self._lock:
                delivered += self._record(entry, prepared, result, now, failed)
        if not keep_going():
            return delivered
        delivered += self._refresh(now, failed)
        with self._lock:
            self.report_pending()
        return delivered

    def _sendable(self, entry: OutboxEntry, now: float, failed: set[str]) -> bool:
        """Whether `entry` may go now: its receiver is up and due, and nothing older
        about the same alerts waits for the same receiver."""
        name = entry.notification.receiver
        if name in failed or entry.next_attempt_at > now:
            return False
        if not self._breakers[name].allow(now):
            return False
        fps = entry.notification.fingerprints
        # An older notification about the same alert goes first.
        return not any(
            e.seq < entry.seq
            and e.notification.receiver == name
            and e.notification.fingerprints & fps
            for e in self._outbox.entries()
        )

    def _record(
        self,
        entry: OutboxEntry,
        prepared: Notification,
        result: DeliveryResult,
        now: float,
        failed: set[str],
    ) -> int:
        """Records one send's outcome and persists it; 1 if it was delivered."""
        delivered = 0
        if isinstance(result, Delivered):
            self._record_success(entry, prepared, now)
            delivered = 1
        elif isinstance(result, RetryLater):
            self._record_retry(entry, result, now)
            failed.add(entry.notification.receiver)
        else:
            self._record_rejection(entry, result, now)
        self._persist()
        return delivered
