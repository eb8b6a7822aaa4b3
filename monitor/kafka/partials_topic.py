"""The internal partials topic: where members publish window shares and the merger marks.

Compacted and keyed (`monitor.windows.partial`), with every record of a model in
one partition (`partition_for`), so the merger reads a model's records in the
order each member wrote them. `cleanup.policy=compact,delete`: compaction keeps
the newest record per key, the merger deletes a window's records with
tombstones once it has evaluated the window, and `group.partials_retention`
bounds what a lost tombstone could leave behind.

Order with the checkpoint: a member publishes the partials of the windows it
closed, `flush()`es (every record acknowledged) and only then writes the
checkpoint that no longer holds those windows. A crash before the flush
leaves the windows in the previous checkpoint, and they are closed and
published again, under the same keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import structlog
from kafka import KafkaAdminClient, KafkaProducer

from driftwarden.monitor.config import GroupSettings
from driftwarden.monitor.errors import ConfigError, PartialsUnpublishedError
from driftwarden.monitor.kafka.client import KafkaClientConfig, millis
from driftwarden.monitor.windows.partial import MergedMarker, Partial, partition_for

log = structlog.get_logger(__name__)

MAX_RECORD_BYTES = 16 * 1024 * 1024
"""Largest partial accepted: a window state is columns x bins x 8 bytes, far below."""


def ensure_partials_topic(
    client: KafkaClientConfig,
    settings: GroupSettings,
    admin_factory: Callable[..., Any] = KafkaAdminClient,
) -> int:
    """Create the partials topic when missing; returns its number of partitions."""
    from kafka.errors import TopicAlreadyExistsError  # noqa: PLC0415

    topic = settings.partials_topic
    admin = admin_factory(**client.admin_kwargs(client_suffix="partials-admin"))
    try:
        if topic not in admin.list_topics():
            if not settings.create_topic:
                raise ConfigError(
                    f"group.partials_topic {topic!r} does not exist on the brokers; create it "
                    "(compacted) or set group.create_topic: true"
                )
            spec: dict[str, Any] = {
                "num_partitions": settings.partials_partitions,
                "replication_factor": settings.topic_replication_factor or -1,
                "configs": {
                    "cleanup.policy": "compact,delete",
                    "retention.ms": str(millis(settings.partials_retention)),
                    "max.message.bytes": str(MAX_RECORD_BYTES),
                    "segment.ms": "3600000",
                    "min.cleanable.dirty.ratio": "0.1",
                },
            }
            try:
                admin.create_topics({topic: spec}, wait_for_metadata=True)
                log.info("partials_topic_created", topic=topic, partitions=spec["num_partitions"])
            except TopicAlreadyExistsError:
                pass
        described = admin.describe_topics([topic])
        partitions = len(described[0]["partitions"]) if described else 0
    finally:
        admin.close()
    return partitions or settings.partials_partitions


class PartialPublisher:
    """Writes partials, merge markers and tombstones; `flush()` before a checkpoint."""

    def __init__(
        self,
        client: KafkaClientConfig,
        topic: str,
        partitions: int,
        *,
        producer_factory: Callable[..., Any] = KafkaProducer,
        client_suffix: str = "partials",
    ) -> None:
        self.topic = topic
        self.partitions = partitions
        self.bytes_sent = 0
        self.records_sent = 0
        self._producer = producer_factory(
            **client.producer_kwargs(client_suffix=client_suffix, max_request_size=MAX_RECORD_BYTES)
        )
        self._pending: list[Any] = []

    def publish(self, record: Partial | MergedMarker) -> None:
        self._send(record.model_id, record.record_key(), record.to_bytes())

    def tombstone(self, model_id: str, record_keys: Iterable[bytes]) -> None:
        for key in record_keys:
            self._send(model_id, key, None)

    def _send(self, model_id: str, key: bytes, value: bytes | None) -> None:
        partition = partition_for(model_id, self.partitions)
        self._pending.append(
            self._producer.send(self.topic, key=key, value=value, partition=partition)
        )
        self.records_sent += 1
        self.bytes_sent += len(key) + (len(value) if value is not None else 0)

    def flush(self, timeout: float = 30.0) -> None:
        """Every record acknowledged, or `PartialsUnpublishedError` (fatal: see the error)."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        try:
            self._producer.flush(timeout=timeout)
            for future in pending:
                future.get(timeout=timeout)
        except Exception as exc:
            raise PartialsUnpublishedError(
                f"partials topic {self.topic!r} did not acknowledge {len(pending)} records "
                f"({type(exc).__name__}: {exc}); stopping so that the restarted member closes "
                "those windows again from its last checkpoint: check the brokers and the "
                "topic's ACLs"
            ) from None

    def close(self) -> None:
        try:
            self._producer.close(timeout=5)
        except Exception as exc:
            log.warning("partials_producer_close_failed", error=f"{type(exc).__name__}: {exc}")
