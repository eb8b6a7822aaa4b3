"""A poll's records as the consumer loop hands them on: one run per partition.

A client's `poll()` already returns its records per partition; flattening them
into one list for the processor, which groups them by partition again, cost a
Python step per record on both sides. `PolledRecords` keeps the runs: any
processor can still iterate it as one flat sequence (tests, simple processors),
and the daemon takes each run whole.

A run from the librdkafka client (`monitor.kafka.rdkafka_consumer.RdRun`) is a
`WholeRun`: it hands over its values and its timestamps in one call each, with
no Python object built per record (docs/benchmarks.md, "Kafka client libraries").
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator, Sequence
from typing import Protocol, TypeVar, overload, runtime_checkable

R = TypeVar("R")


@runtime_checkable
class WholeRun(Protocol):
    """One partition's records from one poll that give their fields a column at a time."""

    def values(self) -> list[bytes | None]:
        """Each record's value, in offset order (None for a tombstone)."""
        ...

    def timestamps(self) -> list[int]:
        """Each record's Kafka timestamp in milliseconds since the epoch, in offset order."""
        ...


class PolledRecords(Sequence[R]):
    """Runs of records, each non-empty and of one partition, in the order polled."""

    __slots__ = ("_ends", "runs")

    def __init__(self, runs: Sequence[Sequence[R]]) -> None:
        self.runs = runs
        self._ends = list(itertools.accumulate(map(len, runs)))

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    @overload
    def __getitem__(self, index: int) -> R: ...

    @overload
    def __getitem__(self, index: slice) -> list[R]: ...

    def __getitem__(self, index: int | slice) -> R | list[R]:
        if isinstance(index, slice):
            return list(self)[index]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("record index out of range")
        run = bisect.bisect_right(self._ends, index)
        start = self._ends[run - 1] if run else 0
        return self.runs[run][index - start]

    def __iter__(self) -> Iterator[R]:
        return itertools.chain.from_iterable(self.runs)
