"""A poll's runs per partition still read as one flat sequence of records, in order."""

from __future__ import annotations

import pytest

from driftwarden.monitor.kafka.consumer import Record
from driftwarden.monitor.kafka.polled import PolledRecords


def _run(partition: int, offsets: range) -> list[Record]:
    return [Record("t", partition, o, 0, value=b"{}") for o in offsets]


def test_the_runs_read_as_one_sequence_in_the_order_polled() -> None:
    runs = [_run(2, range(5, 8)), _run(0, range(1)), _run(1, range(3, 5))]
    polled = PolledRecords(runs)
    flat = [r for run in runs for r in run]
    assert polled.runs is runs
    assert len(polled) == 6
    assert list(polled) == flat
    assert [polled[i] for i in range(-6, 6)] == flat + flat
    assert polled[1:4] == flat[1:4]
    with pytest.raises(IndexError):
        polled[6]
    with pytest.raises(IndexError):
        polled[-7]


def test_no_runs_is_an_empty_sequence() -> None:
    polled: PolledRecords[Record] = PolledRecords([])
    assert len(polled) == 0
    assert list(polled) == []
