"""A trivial `BatchProcessor` that makes lost or duplicated records visible.

Per partition it keeps: how many records it saw, the sum of their integer
values, the next offset it expects, and how many times a record did not come
at exactly that offset (a gap means a record was lost, a step back means one
was counted twice). Its snapshot is JSON, attributable by partition, as the
loop's protocol requires. Producers in the tests write values 0..N-1 as ASCII.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from driftwarden.monitor.kafka.checkpoint import Partition
from driftwarden.monitor.kafka.consumer import SourceRecord


@dataclass(slots=True)
class PartitionCount:
    count: int = 0
    total: int = 0
    next_offset: int | None = None
    discontinuities: int = 0


def _key(partition: Partition) -> str:
    return f"{partition[0]}:{partition[1]}"


def _parse_key(key: str) -> Partition:
    topic, _, number = key.rpartition(":")
    return topic, int(number)


class CountingProcessor:
    """Counts records per partition; optional delay per batch to slow a member down."""

    def __init__(
        self,
        *,
        batch_delay: float = 0.0,
        stop_when_idle: threading.Event | None = None,
        saturated: bool = False,
    ) -> None:
        self.partitions: dict[Partition, PartitionCount] = {}
        self.batch_delay = batch_delay
        self.stop_when_idle = stop_when_idle
        self.is_saturated = saturated
        self.restored: list[tuple[frozenset[Partition], bool]] = []
        self.released: list[frozenset[Partition]] = []
        self.idle_seen: list[frozenset[Partition]] = []
        self.fail_on_offset: tuple[Partition, int] | None = None

    # --- BatchProcessor ----------------------------------------------------------------

    def process(self, records: Sequence[SourceRecord]) -> None:
        for record in records:
            partition = (record.topic, record.partition)
            if self.fail_on_offset == (partition, record.offset):
                raise RuntimeError(f"injected failure at {partition}@{record.offset}")
            counts = self.partitions.setdefault(partition, PartitionCount())
            if counts.next_offset is not None and record.offset != counts.next_offset:
                counts.discontinuities += 1
            counts.count += 1
            counts.total += int(record.value or b"0")
            counts.next_offset = record.offset + 1
        if self.batch_delay:
            time.sleep(self.batch_delay)

    def close_due(self, now: float, idle: frozenset[Partition]) -> None:
        self.idle_seen.append(idle)
        if self.stop_when_idle is not None and self.partitions and idle >= set(self.partitions):
            self.stop_when_idle.set()

    def saturated(self) -> bool:
        return self.is_saturated

    def snapshot(self) -> bytes:
        return self.encode(self.partitions)

    def saved(self) -> None:
        pass

    def restore(self, partitions: frozenset[Partition], state: bytes | None) -> None:
        self.restored.append((partitions, state is not None))
        found = self.decode(state) if state is not None else {}
        for partition in partitions:
            self.partitions[partition] = found.get(partition, PartitionCount())

    def release(self, partitions: frozenset[Partition]) -> None:
        self.released.append(partitions)
        for partition in partitions:
            self.partitions.pop(partition, None)

    # --- encoding ------------------------------------------------------------------------

    @staticmethod
    def encode(partitions: dict[Partition, PartitionCount]) -> bytes:
        body = {
            _key(p): [c.count, c.total, c.next_offset, c.discontinuities]
            for p, c in sorted(partitions.items())
        }
        return json.dumps(body, sort_keys=True).encode()

    @staticmethod
    def decode(state: bytes) -> dict[Partition, PartitionCount]:
        raw = json.loads(state)
        return {_parse_key(k): PartitionCount(*v) for k, v in raw.items()}
