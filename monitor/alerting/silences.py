"""Silences: time-boxed matchers that keep firing alerts out of notifications.

Two sources: `alerting.silences` in the config (ids `config-<n>`) and the
`silences` piece of the alert state store (`silences.json` in the state
directory, or a record of the checkpoint topic), written by
`driftwarden silence add|expire` and picked up by the running pipeline within
a few seconds (see `AlertPipeline.dispatch`). Like Alertmanager, a silence
hides firing alerts only; a resolve for an alert the receiver already saw
firing is still delivered, so no channel is left with a stale incident.
Silences are compared with event time (in a live daemon that is wall time
minus a few seconds of lag).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime

import msgspec

from driftwarden.monitor.alerting.matchers import match_all, parse_matchers
from driftwarden.monitor.alerting.store import SILENCES_KEY, AlertStateError, AlertStateStore
from driftwarden.monitor.config import SilenceConfig
from driftwarden.monitor.errors import ConfigError


class Silence(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    matchers: tuple[str, ...]
    starts_at: float
    ends_at: float
    created_by: str
    comment: str
    created_at: float

    def state(self, at: float) -> str:
        if at < self.starts_at:
            return "pending"
        return "active" if at < self.ends_at else "expired"

    def active(self, at: float) -> bool:
        return self.starts_at <= at < self.ends_at

    def matches(self, labels: Mapping[str, str]) -> bool:
        return match_all(parse_matchers(self.matchers), labels)


class SilenceFile(msgspec.Struct, kw_only=True):
    version: int = 1
    silences: list[Silence] = msgspec.field(default_factory=list)


def parse_time(text: str, *, where: str) -> float:
    """RFC 3339 (`2026-11-23T04:00:00Z`, offsets allowed) to epoch seconds."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"{where}: {text!r} is not an RFC 3339 time; write e.g. 2026-11-23T04:00:00Z"
        ) from None
    if parsed.tzinfo is None:
        raise ConfigError(f"{where}: {text!r} has no time zone; add Z for UTC")
    return parsed.timestamp()


def config_silences(items: Iterable[SilenceConfig]) -> tuple[Silence, ...]:
    out = []
    for i, item in enumerate(items):
        where = f"alerting.silences[{i}]"
        try:
            parse_matchers(item.matchers)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        if not item.matchers:
            raise ConfigError(f'{where}: a silence needs at least one matcher, e.g. model="x"')
        starts = parse_time(item.starts_at, where=f"{where}.starts_at") if item.starts_at else 0.0
        out.append(
            Silence(
                id=f"config-{i}",
                matchers=tuple(item.matchers),
                starts_at=starts,
                ends_at=parse_time(item.ends_at, where=f"{where}.ends_at"),
                created_by=item.created_by,
                comment=item.comment,
                created_at=starts,
            )
        )
    return tuple(out)


class SilenceStore:
    """The CLI-managed silences, the `silences` piece of the alert state store.

    Used by `driftwarden silence`: each change reads the current list and writes
    it back whole (read-modify-write, like the file always was). A running
    pipeline does not use this class; it reads the same piece at load and
    whenever `store.poll()` reports it changed.
    """

    def __init__(self, store: AlertStateStore) -> None:
        self._store = store

    @property
    def where(self) -> str:
        return self._store.where

    def all(self) -> tuple[Silence, ...]:
        raw = self._store.load().get(SILENCES_KEY)
        if raw is None:
            return ()
        try:
            return tuple(msgspec.json.decode(raw, type=SilenceFile).silences)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise ConfigError(
                f"the silences in {self._store.where} cannot be read ({exc}); the daemon moves "
                "them aside when it starts, or remove them by hand, then add silences again"
            ) from None

    def _write(self, silences: Iterable[Silence]) -> None:
        data = msgspec.json.encode(SilenceFile(silences=list(silences)))
        try:
            self._store.write({SILENCES_KEY: data})
        except (OSError, AlertStateError) as exc:
            raise ConfigError(
                f"cannot store silences in {self._store.where}: {exc}; check that it is "
                "writable (and has free space) or that Kafka is reachable"
            ) from None

    def add(
        self,
        *,
        matchers: Iterable[str],
        starts_at: float,
        ends_at: float,
        created_by: str,
        comment: str,
        now: float,
        silence_id: str | None = None,
    ) -> Silence:
        texts = tuple(matchers)
        if not texts:
            raise ConfigError('a silence needs at least one matcher, e.g. --matcher model="x"')
        parse_matchers(texts)
        if ends_at <= starts_at:
            raise ConfigError("a silence must end after it starts; check --duration or --until")
        if ends_at <= now:
            raise ConfigError("a silence must end in the future; check --duration or --until")
        silence = Silence(
            id=silence_id or str(uuid.uuid4()),
            matchers=texts,
            starts_at=starts_at,
            ends_at=ends_at,
            created_by=created_by,
            comment=comment,
            created_at=now,
        )
        self._write([*self.all(), silence])
        return silence

    def expire(self, silence_id: str, *, now: float) -> Silence:
        """End a silence now; it stays listed as expired, as in Alertmanager."""
        found = None
        kept = []
        for s in self.all():
            if s.id == silence_id or (len(silence_id) >= 8 and s.id.startswith(silence_id)):
                if found is not None:
                    raise ConfigError(f"silence id {silence_id!r} is ambiguous; give more digits")
                found = msgspec.structs.replace(s, ends_at=min(s.ends_at, now))
                kept.append(found)
            else:
                kept.append(s)
        if found is None:
            raise ConfigError(
                f"no silence with id {silence_id!r}; list them with 'driftwarden silence list'"
            )
        self._write(kept)
        return found


def silenced_by(labels: Mapping[str, str], at: float, silences: Iterable[Silence]) -> str | None:
    """The id of an active silence matching these labels, or None."""
    for silence in silences:
        if silence.active(at) and silence.matches(labels):
            return silence.id
    return None
