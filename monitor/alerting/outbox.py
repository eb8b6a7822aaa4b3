"""The persistent outbox: notifications waiting for delivery, one stored piece each.

Each entry is the key `outbox/<seq>` of the alert state store (a file
`outbox/<seq>.json`, or a record of the checkpoint topic), written when it
changes and deleted once delivered (or given up). A crash loses nothing that
was enqueued and written; on restart the stored entries are the queue.
One piece per entry instead of a journal: each state change is one atomic
write, and there is nothing to compact.

Ordering rule, per receiver and alert fingerprint: an alert is in at most one
pending notification. A newer notification for the same receiver takes the
alert out of older pending ones (dropping those that become empty), so a queued
trigger can never be delivered after the resolve that followed it, and a
receiver that was down gets the latest state once instead of a replay of every
intermediate one. A notification being delivered right now is left alone; if
its attempt fails, `release` applies the same rule against newer entries.
Digests are never coalesced.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from driftwarden.monitor.alerting.model import Notification
from driftwarden.monitor.alerting.state_writer import StateWriter
from driftwarden.monitor.alerting.store import outbox_key


class OutboxEntry(msgspec.Struct, kw_only=True):
    seq: int
    notification: Notification
    enqueued_at: float
    attempts: int = 0
    next_attempt_at: float = 0.0
    last_error: str | None = None


class Outbox:
    """In memory, mirrored to `writer` (staged; the pipeline commits); None: memory only."""

    def __init__(
        self, writer: StateWriter | None = None, entries: Iterable[OutboxEntry] = ()
    ) -> None:
        self._writer = writer
        self._entries: dict[int, OutboxEntry] = {e.seq: e for e in entries}
        self._in_flight: set[int] = set()
        self._next_seq = max(self._entries, default=0) + 1

    def _save(self, entry: OutboxEntry) -> None:
        self._entries[entry.seq] = entry
        if self._writer is not None:
            self._writer.stage(outbox_key(entry.seq), msgspec.json.encode(entry))

    def remove(self, seq: int) -> None:
        self._entries.pop(seq, None)
        self._in_flight.discard(seq)
        if self._writer is not None:
            self._writer.stage(outbox_key(seq), None)

    def entries(self) -> list[OutboxEntry]:
        return [self._entries[s] for s in sorted(self._entries)]

    def __len__(self) -> int:
        return len(self._entries)

    def pending_count(self, receiver: str) -> int:
        return sum(1 for e in self._entries.values() if e.notification.receiver == receiver)

    def contains(self, notification_id: str) -> bool:
        return any(e.notification.id == notification_id for e in self._entries.values())

    def pending_fingerprints(self, receiver: str) -> frozenset[str]:
        fps: set[str] = set()
        for e in self._entries.values():
            if e.notification.receiver == receiver:
                fps |= e.notification.fingerprints
        return frozenset(fps)

    def _strip(self, entry: OutboxEntry, fingerprints: frozenset[str]) -> list[str]:
        """Take these alerts out of `entry`; returns the ids of entries dropped as a result."""
        note = entry.notification
        if note.kind != "alert" or not (note.fingerprints & fingerprints):
            return []
        kept = tuple(a for a in note.alerts if a.fingerprint not in fingerprints)
        if not kept:
            self.remove(entry.seq)
            return [note.id]
        entry.notification = msgspec.structs.replace(note, alerts=kept)
        self._save(entry)
        return []

    def put(self, notification: Notification, *, now: float) -> list[str]:
        """Enqueue; returns the ids of older notifications this one superseded entirely.

        A notification whose id is already queued is ignored (the same verdict
        observed twice after a crash).
        """
        if self.contains(notification.id):
            return []
        superseded: list[str] = []
        for entry in self.entries():
            if entry.seq in self._in_flight or entry.notification.receiver != notification.receiver:
                continue
            superseded += self._strip(entry, notification.fingerprints)
        seq = self._next_seq
        self._next_seq += 1
        self._save(OutboxEntry(seq=seq, notification=notification, enqueued_at=now))
        return superseded

    def claim(self, seq: int) -> None:
        self._in_flight.add(seq)

    def release(self, entry: OutboxEntry, *, next_attempt_at: float, error: str) -> list[str]:
        """Record a failed attempt and re-apply the ordering rule against newer entries."""
        self._in_flight.discard(entry.seq)
        if entry.seq not in self._entries:
            return []
        entry.attempts += 1
        entry.next_attempt_at = next_attempt_at
        entry.last_error = error
        newer: set[str] = set()
        for other in self.entries():
            if other.seq > entry.seq and other.notification.receiver == entry.notification.receiver:
                newer |= other.notification.fingerprints
        dropped = self._strip(entry, frozenset(newer))
        if entry.seq in self._entries:
            self._save(entry)
        return dropped
