"""De-duplication by request id: a producer's retry is counted once, memory stays bounded."""

from __future__ import annotations

import json

import numpy as np

from driftwarden.monitor.engine import Engine
from driftwarden.monitor.ingest.dedup import RecentIds
from tests.monitor.factories import make_baseline, settings_with

POLICY = {"window": {"size": "60s", "allowed_lateness": "10s"}, "significance": {"min_samples": 5}}


def payload(ts: float, rid: str | None) -> bytes:
    return json.dumps(
        {"model_id": "m", "timestamp": ts, "request_id": rid, "features": {"x": 1.0, "c": "a"}}
    ).encode()


def engine(window: str = "30s", max_keys: int = 1000) -> Engine:
    events = {"dedup_window": window, "dedup_max_keys": max_keys}
    return Engine([make_baseline()], settings_with(policy=POLICY, events=events))


def test_a_retried_request_is_rejected_as_duplicate_and_counted_once() -> None:
    e = engine()
    e.process(
        [
            payload(1, "r-1"),
            payload(2, "r-2"),
            payload(3, "r-1"),
            payload(4, None),
            payload(5, None),
        ]
    )
    assert e.counts.accepted == 4
    assert e.counts.rejected == {"duplicate": 1}
    assert e.counts.reconciles()


def test_ids_older_than_the_window_may_come_again() -> None:
    e = engine(window="30s")
    e.process([payload(1, "r-1"), payload(40, "r-2"), payload(41, "r-1")])
    assert e.counts.rejected == {}


def test_dedup_memory_survives_a_snapshot() -> None:
    first = engine()
    first.process([payload(1, "r-1")])
    second = engine()
    second.restore(first.snapshot())
    second.process([payload(2, "r-1")])
    assert second.counts.rejected == {"duplicate": 1}


def test_off_by_default() -> None:
    e = Engine([make_baseline()], settings_with(policy=POLICY))
    e.process([payload(1, "r-1"), payload(2, "r-1")])
    assert e.counts.accepted == 2


def test_memory_is_bounded_by_max_keys() -> None:
    recent = RecentIds(window=1e9, max_keys=100)
    ids = [f"r-{i}" for i in range(1000)]
    keep = recent.admit("m", ids, np.arange(1000, dtype=np.float64))
    assert keep.all()
    assert len(recent) == 100
