"""The alert pipeline's persistent state and how it is read back from a store.

Every piece is JSON (msgspec), the same bytes in files and in Kafka records:
`state` is a `PipelineState`, `outbox/<seq>` an `OutboxEntry`, `silences` a
`SilenceFile`. A piece that cannot be decoded (a truncated file, a record
written by a broken tool) must not stop monitoring: `load_state` moves it aside
(`store.quarantine`: the file renamed to `<name>.corrupt-<timestamp>`, the
record skipped and tombstoned), logs `alert_state_corrupt` at error level,
reports it through the fault hook (component `alert_state_corrupt`, an event),
and starts that piece empty. What is lost:

- `state`: open incidents and what receivers were told. An incident still open
  is notified once more as new (same fingerprint, so PagerDuty updates the
  same incident); a resolve for an incident the state no longer knows is not sent.
- `outbox/<seq>`: that one notification (the next change of its incident notifies).
- `silences`: every CLI silence (config silences are unaffected); add them again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec
import structlog

from driftwarden.monitor.alerting.digest import DigestState
from driftwarden.monitor.alerting.dispatcher import DeliveryState
from driftwarden.monitor.alerting.groups import GroupsState
from driftwarden.monitor.alerting.lifecycle import LifecycleState
from driftwarden.monitor.alerting.model import Alert
from driftwarden.monitor.alerting.outbox import OutboxEntry
from driftwarden.monitor.alerting.silences import Silence, SilenceFile
from driftwarden.monitor.alerting.store import (
    CORRUPT,
    SILENCES_KEY,
    STATE_KEY,
    AlertStateStore,
    FaultHook,
    outbox_seq,
)

STATE_VERSION = 1
T = TypeVar("T")


class PipelineState(msgspec.Struct, kw_only=True):
    version: int = STATE_VERSION
    event_now: float | None = None
    lifecycle: LifecycleState = msgspec.field(default_factory=LifecycleState)
    groups: GroupsState = msgspec.field(default_factory=GroupsState)
    active: dict[str, Alert] = msgspec.field(default_factory=dict)
    digest: DigestState = msgspec.field(default_factory=DigestState)
    delivery: DeliveryState = msgspec.field(default_factory=DeliveryState)


@dataclass
class LoadedState:
    """What a store held, decoded; `raw` is every readable piece as stored."""

    pipeline: PipelineState = field(default_factory=PipelineState)
    outbox: list[OutboxEntry] = field(default_factory=list)
    silences: tuple[Silence, ...] = ()
    raw: dict[str, bytes] = field(default_factory=dict)


class Corrupt(Exception):  # noqa: N818 - a private signal, never raised past this module
    pass


def decode(raw: bytes, kind: type[T]) -> T:
    try:
        return msgspec.json.decode(raw, type=kind)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise Corrupt(str(exc)) from None


def decode_silences(raw: bytes | None) -> tuple[Silence, ...]:
    """Raises `Corrupt` when `raw` is not a silences file."""
    if raw is None:
        return ()
    return tuple(decode(raw, SilenceFile).silences)


def set_aside(
    store: AlertStateStore,
    key: str,
    reason: str,
    *,
    on_fault: FaultHook | None,
    log: Any,
) -> None:
    """Quarantine one corrupt piece, loudly; a failure to move it is logged, never raised."""
    try:
        moved_to = store.quarantine(key, reason)
    except Exception as exc:
        moved_to = f"not moved ({type(exc).__name__}: {exc})"
    log.error(
        "alert_state_corrupt",
        where=store.where,
        key=key,
        reason=reason,
        moved_to=moved_to,
        consequence=LOST[key.split("/", 1)[0]],
    )
    if on_fault is not None:
        on_fault(CORRUPT, f"corrupt alert state {key!r} set aside: {reason}")


LOST = {
    STATE_KEY: "open incidents forgotten: one still open is notified again once",
    "outbox": "this pending notification is dropped",
    SILENCES_KEY: "CLI silences forgotten: add them again with 'driftwarden silence add'",
}


def load_state(
    store: AlertStateStore, *, on_fault: FaultHook | None = None, log: Any = None
) -> LoadedState:
    """Read every piece from `store`; corrupt ones are set aside (module docstring)."""
    log = log if log is not None else structlog.get_logger("driftwarden.monitor.alerting")
    out = LoadedState()
    for key, raw in sorted(store.load().items()):
        try:
            if key == STATE_KEY:
                out.pipeline = decode(raw, PipelineState)
            elif key == SILENCES_KEY:
                out.silences = decode_silences(raw)
            elif (seq := outbox_seq(key)) is not None:
                entry = decode(raw, OutboxEntry)
                if entry.seq != seq:
                    raise Corrupt(f"entry says seq {entry.seq}, its key {seq}")
                out.outbox.append(entry)
            else:
                continue
        except Corrupt as exc:
            set_aside(store, key, str(exc), on_fault=on_fault, log=log)
            continue
        out.raw[key] = raw
    return out
