"""Decoding in worker processes changes nothing but where the work is done."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest

from driftwarden.monitor.engine import Engine
from driftwarden.monitor.ingest.decode_pool import DecodePool
from driftwarden.monitor.kafka.consumer import Record
from driftwarden.monitor.pipeline import start_decode_pool
from driftwarden.monitor.service.processor import EngineProcessor
from driftwarden.monitor.verdicts.record import window_record
from driftwarden.monitor.verdicts.verdict import WindowVerdict
from tests.monitor.factories import (
    RecordingSink,
    event,
    make_baseline,
    settings_with,
    uniform_events,
)

POLICY = {"window": {"size": "60s", "allowed_lateness": "10s"}, "significance": {"min_samples": 50}}


def engine(sink: RecordingSink, **events: Any) -> Engine:
    settings = (
        settings_with(policy=POLICY, events=events) if events else settings_with(policy=POLICY)
    )
    return Engine([make_baseline()], settings, reject_sink=sink)


def stream() -> list[bytes]:
    """A calm stretch, a shifted one, a late event, garbage, and a repeated event."""
    rng = np.random.default_rng(11)
    payloads = uniform_events(rng, 2500, t0=0.0) + uniform_events(rng, 2500, t0=250.0, shift=3.0)
    payloads.insert(3000, event(5.0))  # late: its window closed long before
    payloads.insert(4000, b"{broken")
    payloads.insert(4100, payloads[4099])  # the same request id again
    return payloads


@pytest.fixture
def pool_for() -> Iterator[Any]:
    pools: list[DecodePool] = []

    def make(e: Engine) -> DecodePool:
        pool = start_decode_pool(e, 1)  # decodes and counts windows ahead
        pools.append(pool)
        deadline = time.monotonic() + 60
        while not pool.ready():
            assert time.monotonic() < deadline, "decode worker did not start"
            time.sleep(0.01)
        return pool

    yield make
    for pool in pools:
        pool.close()


def records(verdicts: Sequence[WindowVerdict]) -> list[dict[str, Any]]:
    return [window_record(v) for v in verdicts]


@pytest.mark.parametrize("dedup_window", [0.0, 3600.0])
def test_an_engine_fed_by_a_worker_ends_byte_identical(pool_for: Any, dedup_window: float) -> None:
    payloads = stream()
    here_sink, there_sink = RecordingSink(), RecordingSink()
    here = engine(here_sink, dedup_window=dedup_window)
    there = engine(there_sink, dedup_window=dedup_window)
    pool = pool_for(there)
    got: list[WindowVerdict] = []
    expected: list[WindowVerdict] = []
    for i in range(0, len(payloads), 700):
        batch = payloads[i : i + 700]
        expected += here.process(batch)
        pool.submit(batch, None)
        decoded, counted = pool.result()
        got += there.count(batch, decoded, counted=counted)
    expected += here.close_all()
    got += there.close_all()
    assert here.counts.rejected["late"] == 1
    assert bool(here.counts.rejected.get("duplicate")) == bool(dedup_window)
    assert records(got) == records(expected)
    assert there.counts == here.counts
    assert there_sink.items == here_sink.items


def polls(payloads: Sequence[bytes], size: int = 900) -> list[list[Record]]:
    """Polls as the consumer loop hands them over: runs of one partition each."""
    offsets = [0, 0, 0]
    out = []
    for i in range(0, len(payloads), size):
        poll: list[Record] = []
        for p in range(3):
            for payload in payloads[i + p : i + size : 3]:
                poll.append(Record("t", p, offsets[p], timestamp=0, value=payload))
                offsets[p] += 1
        out.append(poll)
    return out


def test_the_daemon_processor_overlaps_polls_and_snapshots_all_it_took(pool_for: Any) -> None:
    here, there = EngineProcessor(engine(RecordingSink())), EngineProcessor(engine(RecordingSink()))
    there.use_pool(pool_for(there.engine))
    for poll in polls(stream()):
        here.process(poll)
        there.process(poll)
    # A snapshot counts the poll still in flight first: the two states are the same.
    assert there.snapshot() == here.snapshot()
    assert there.engine.counts == here.engine.counts


def test_a_worker_that_dies_loses_nothing(pool_for: Any) -> None:
    here, there = EngineProcessor(engine(RecordingSink())), EngineProcessor(engine(RecordingSink()))
    pool = pool_for(there.engine)
    there.use_pool(pool)
    all_polls = polls(stream())
    for n, poll in enumerate(all_polls):
        if n == 2:
            pool._processes[0].kill()
            pool._processes[0].join()
        here.process(poll)
        there.process(poll)
    assert there.snapshot() == here.snapshot()
    assert there.engine.counts.read == sum(map(len, all_polls))
    assert there.engine.counts.reconciles()


def test_payloads_with_newlines_and_record_timestamps_travel_intact(pool_for: Any) -> None:
    """Pretty-printed JSON and Kafka record timestamps (events without a time field)."""
    rng = np.random.default_rng(3)
    payloads = [
        json.dumps({k: v for k, v in json.loads(p).items() if k != "timestamp"}, indent=1).encode()
        for p in uniform_events(rng, 1500, t0=0.0)
    ]
    times = [i / 10.0 for i in range(len(payloads))]
    here = engine(RecordingSink(), timestamp=None)
    there = engine(RecordingSink(), timestamp=None)
    pool = pool_for(there)
    for i in range(0, len(payloads), 400):
        here.process(payloads[i : i + 400], source_timestamps=times[i : i + 400])
        pool.submit(payloads[i : i + 400], times[i : i + 400])
        decoded, counted = pool.result()
        there.count(payloads[i : i + 400], decoded, counted=counted)
    assert b"\n" in payloads[0]
    assert here.counts.accepted == 1500
    assert there.snapshot() == here.snapshot()


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_a_worker_exits_when_its_caller_goes_away(start_method: str) -> None:
    """A daemon killed with SIGKILL never closes its pipes politely: the worker must
    still see the end of its requests (a forked one holds copies of the caller's ends)."""
    e = engine(RecordingSink())
    pool = DecodePool(
        e.layouts,
        e.settings.events,
        workers=2,
        start_method=start_method,
    )
    deadline = time.monotonic() + 60
    while not pool.ready():
        assert time.monotonic() < deadline, "decode workers did not start"
        time.sleep(0.01)
    for connection in [*pool._connections, *pool._replies]:
        connection.close()
    for process in pool._processes:
        process.join(timeout=10)
        assert not process.is_alive(), f"a {start_method} worker outlived its caller's pipes"


def test_a_worker_whose_pool_closed_before_it_started_exits_quietly() -> None:
    """A short replay closes its pool before a worker has said it is ready: the worker
    must exit without a BrokenPipeError traceback on the user's terminal."""
    import multiprocessing
    import sys

    from driftwarden.monitor.ingest import decode_pool

    e = engine(RecordingSink())
    requests_in, requests_out = multiprocessing.Pipe(duplex=False)
    replies_in, replies_out = multiprocessing.Pipe(duplex=False)
    requests_out.close()  # the caller has gone: end of requests
    replies_in.close()  # and nobody reads the "ready"
    interval = sys.getswitchinterval()
    try:
        decode_pool._serve(
            requests_in,
            replies_out,
            layouts=dict(e.layouts),
            fields=e.settings.events,
            callers_ends=[],
        )
    finally:
        sys.setswitchinterval(interval)
