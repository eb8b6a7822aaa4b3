"""The pipeline counts batches in arrival order; only decoding may run ahead of it."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest
from structlog.testing import capture_logs

from driftwarden.monitor.engine import Engine
from driftwarden.monitor.pipeline import Pipeline, SourceBatch, start_decode_pool
from tests.monitor.factories import (
    RecordingSink,
    event,
    make_baseline,
    settings_with,
    uniform_events,
)

POLICY = {"window": {"size": "60s", "allowed_lateness": "10s"}, "significance": {"min_samples": 50}}


def engine(sink: RecordingSink | None = None) -> Engine:
    return Engine([make_baseline()], settings_with(policy=POLICY), reject_sink=sink)


def batches() -> list[list[bytes]]:
    rng = np.random.default_rng(9)
    payloads = uniform_events(rng, 1000, t0=0.0) + uniform_events(rng, 1000, t0=200.0)
    payloads.insert(1500, event(1.0))  # late
    payloads.insert(1600, b"{broken")
    return [payloads[i : i + 250] for i in range(0, len(payloads), 250)]


def located(i: int) -> dict[str, str | int]:
    return {"file": "f", "line": i}


def records(verdicts: list[Any]) -> list[tuple[str, int, int]]:
    return [(v.model_id, v.window_index, v.events) for v in verdicts]


def test_batches_decoded_in_process_are_counted_at_once_whatever_may_stay_in_flight() -> None:
    pipeline = Pipeline(engine())
    pipeline.submit(SourceBatch(batches()[0], "replay", located))
    pipeline.count(leave=5)
    assert len(pipeline) == 0
    assert pipeline.engine.counts.read == 250


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_with_workers_up_to_leave_batches_stay_in_flight_and_the_result_is_unchanged(
    start_method: str,
) -> None:
    """Spawned workers (the daemon's, once its threads run) get the counting step pickled."""
    here_sink, there_sink = RecordingSink(), RecordingSink()
    here = engine(here_sink)
    expected = [v for b in batches() for v in here.process(b, locate=located)]
    pool = start_decode_pool(here, 1, start_method=start_method)
    logs: list[Any] = []
    try:
        deadline = time.monotonic() + 60
        while not pool.ready():
            assert time.monotonic() < deadline, "decode worker did not start"
            time.sleep(0.01)
        pipeline = Pipeline(engine(there_sink), pool=pool)
        got = []
        with capture_logs() as logs:
            for batch in batches():
                pipeline.submit(SourceBatch(batch, "replay", located))
                got += pipeline.count(leave=2)
                assert len(pipeline) <= 2
        assert [e for e in logs if e["event"] == "decode_worker_failed"] == []
        assert len(pipeline) == 2
        with capture_logs() as logs:
            got += pipeline.count()
    finally:
        pool.close()
    assert [e for e in logs if e["event"] == "decode_worker_failed"] == []
    assert records(got) == records(expected)
    assert pipeline.engine.snapshot() == here.snapshot()
    assert there_sink.items == here_sink.items
    assert here.counts.rejected == {"invalid_json": 1, "late": 1}
