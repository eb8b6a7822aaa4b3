"""Alert state as keyed records of the compacted checkpoint topic (the Deployment mode).

Why the checkpoint topic: a Deployment's pod has a read-only root and no
volume, and its window state already lives in that topic; keeping the alert
state beside it means incidents, the outbox and silences survive exactly what
the checkpoints survive (a rescheduled pod, a new node), with nothing written
to the pod's disk and no extra topic to provision or authorise.

Keys: `alerting/<group id>/state`, `alerting/<group id>/silences`,
`alerting/<group id>/outbox/<seq>`; a delete is a tombstone. Values are the
same JSON the directory backend writes. The checkpoint loader skips these keys
(`monitor.kafka.checkpoint.ALERTING_KEY_PREFIX`), and this store skips everything
that is not one of its own keys (checkpoints, other groups' alert state).
Replicas of one group share the keys on purpose: one member is active at a
time and the next one continues its state (see `AlertPipeline.suspend`).

`load` reads the topic from its start to the end offsets it saw when it began
(log compaction keeps that short) and keeps the reader, positioned there, for
`poll`, which the dispatcher thread calls every few seconds to see silences
written by `driftwarden silence add`. That also fetches the checkpoints this
member writes (one record per `checkpoint.interval`); they are skipped
without decoding. `write` sends a batch with the checkpoint producer's
guarantees (acks=all, idempotent) and waits for every acknowledgement.

A record that cannot be decoded is skipped by `state.load_state` and
tombstoned here (`quarantine`), so the next start does not trip over it again;
the bytes stay in the topic until compaction removes them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import structlog

from driftwarden.monitor.alerting.store import AlertStateError, is_alert_key
from driftwarden.monitor.config import CheckpointSettings
from driftwarden.monitor.kafka.checkpoint import (
    ALERTING_KEY_PREFIX,
    FRAME_SLACK,
    MAGIC,
    ensure_topic,
)
from driftwarden.monitor.kafka.client import KafkaClientConfig

log = structlog.get_logger(__name__)


def key_prefix(group_id: str) -> str:
    return f"{ALERTING_KEY_PREFIX}{group_id}/"


class KafkaAlertStore:
    def __init__(
        self,
        client: KafkaClientConfig,
        settings: CheckpointSettings,
        *,
        group_id: str,
        producer_factory: Callable[..., Any] | None = None,
        consumer_factory: Callable[..., Any] | None = None,
        admin_factory: Callable[..., Any] | None = None,
    ) -> None:
        from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer  # noqa: PLC0415

        self._client = client
        self._topic = settings.topic
        self._timeout = settings.timeout
        self._prefix = key_prefix(group_id).encode("utf-8")
        self._consumer_factory = consumer_factory or KafkaConsumer
        self._reader: Any = None
        self._lock = threading.Lock()  # kafka-python's consumer is not thread-safe
        try:
            if settings.create_topic:
                ensure_topic(client, settings, admin_factory or KafkaAdminClient)
            self._producer = (producer_factory or KafkaProducer)(
                **client.producer_kwargs(
                    client_suffix="alert-state", max_request_size=settings.max_bytes + FRAME_SLACK
                )
            )
        except Exception as exc:
            raise AlertStateError(
                f"alert state in topic {self._topic!r}: cannot connect to Kafka ({exc}); check "
                "kafka.bootstrap_servers and that the brokers are up"
            ) from None

    @property
    def where(self) -> str:
        return f"topic {self._topic} keys {self._prefix.decode()}*"

    def _own_key(self, raw: bytes | None) -> str | None:
        """The alert key of a record of this group (`state`, `outbox/…`), else None."""
        if raw is None or not raw.startswith(self._prefix):
            return None
        try:
            key = raw[len(self._prefix) :].decode("utf-8")
        except UnicodeDecodeError:
            return None
        return key if is_alert_key(key) else None

    def _fold(self, records: Any, into: dict[str, bytes | None], ends: Mapping[Any, int]) -> None:
        for record in records:
            if ends and record.offset >= ends.get((record.topic, record.partition), 0):
                continue  # past the end seen at the start of `load`: `poll` reads it later
            key = self._own_key(record.key)
            if key is None:
                continue
            value = record.value
            if value is not None and value.startswith(MAGIC):
                continue  # a checkpoint whose member key happens to look like ours
            into[key] = value

    def _open_reader(self) -> Any:
        from kafka import TopicPartition  # noqa: PLC0415

        reader = self._consumer_factory(
            **self._client.consumer_kwargs(group=False, client_suffix="alert-state-reader")
        )
        partitions = reader.partitions_for_topic(self._topic) or set()
        tps = [TopicPartition(self._topic, p) for p in sorted(partitions)]
        reader.assign(tps)
        return reader, tps

    def load(self) -> dict[str, bytes]:
        with self._lock:
            self._close_reader()
            try:
                self._reader, tps = self._open_reader()
                latest = self._read_to_end(self._reader, tps)
            except AlertStateError:
                self._close_reader()
                raise
            except Exception as exc:
                self._close_reader()
                raise AlertStateError(
                    f"alert state in topic {self._topic!r}: read failed "
                    f"({type(exc).__name__}: {exc}); check the brokers and the topic's ACLs"
                ) from None
        return {k: v for k, v in latest.items() if v is not None}

    def _read_to_end(self, reader: Any, tps: list[Any]) -> dict[str, bytes | None]:
        latest: dict[str, bytes | None] = {}
        if not tps:
            return latest
        timeout_ms = int(self._timeout * 1000)
        ends = reader.end_offsets(tps, timeout_ms=timeout_ms)
        reader.seek_to_beginning(*tps)
        ends_by = {(tp.topic, tp.partition): ends.get(tp, 0) for tp in tps}
        remaining = {tp for tp in tps if ends.get(tp, 0) > 0}
        deadline = time.monotonic() + self._timeout
        while remaining:
            if time.monotonic() > deadline:
                raise AlertStateError(
                    f"alert state in topic {self._topic!r}: not read to its end within "
                    f"{self._timeout}s; raise checkpoint.timeout"
                )
            for records in reader.poll(timeout_ms=500).values():
                self._fold(records, latest, ends_by)
            for tp in list(remaining):
                if reader.position(tp, timeout_ms=timeout_ms) >= ends[tp]:
                    remaining.discard(tp)
        for tp in tps:  # anything fetched past the ends was skipped: read it again in poll
            reader.seek(tp, ends.get(tp, 0))
        return latest

    def poll(self) -> dict[str, bytes | None]:
        with self._lock:
            if self._reader is None:
                return {}
            changes: dict[str, bytes | None] = {}
            try:
                for records in self._reader.poll(timeout_ms=0).values():
                    self._fold(records, changes, {})
            except Exception as exc:
                raise AlertStateError(
                    f"alert state in topic {self._topic!r}: poll failed ({exc})"
                ) from None
            return changes

    def write(self, changes: Mapping[str, bytes | None]) -> None:
        try:
            futures = [
                self._producer.send(
                    self._topic, key=self._prefix + key.encode("utf-8"), value=value
                )
                for key, value in changes.items()
            ]
            for future in futures:
                future.get(timeout=self._timeout)
        except Exception as exc:
            raise AlertStateError(
                f"alert state in topic {self._topic!r}: write not acknowledged within "
                f"{self._timeout}s ({type(exc).__name__}: {exc})"
            ) from None

    def quarantine(self, key: str, reason: str) -> str:
        """Skip the record and tombstone its key (the bytes stay until compaction)."""
        self.write({key: None})
        return f"tombstoned {self._prefix.decode()}{key} in topic {self._topic}"

    def _close_reader(self) -> None:
        if self._reader is not None:
            try:
                self._reader.close(autocommit=False)
            except Exception as exc:
                log.debug("alert_state_reader_close_failed", error=str(exc))
            self._reader = None

    def close(self) -> None:
        with self._lock:
            self._close_reader()
        self._producer.close(timeout=self._timeout)
