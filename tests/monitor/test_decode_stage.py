"""The ordered decode stage: batches come out decoded, in the order they went in, wherever
they were decoded; a failing or slow pool costs time, never a batch."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest

from driftwarden.monitor.config import EventFields
from driftwarden.monitor.ingest.batch import DecodedBatch
from driftwarden.monitor.ingest.decode_pool import DecodePool, DecodeWorkerError
from driftwarden.monitor.ingest.decode_stage import DecodeStage
from driftwarden.monitor.ingest.events import EventDecoder
from driftwarden.monitor.ingest.layout import ModelLayout
from tests.monitor.factories import event, make_baseline, uniform_events

LAYOUTS = {"m": ModelLayout.from_baseline(make_baseline())}
FIELDS = EventFields()


def batches() -> list[list[bytes]]:
    rng = np.random.default_rng(5)
    payloads = uniform_events(rng, 1200, t0=0.0)
    payloads[10] = b"{broken"
    payloads[700] = event(30.0, model="nobody")
    return [payloads[i : i + 300] for i in range(0, len(payloads), 300)]


def summary(decoded: DecodedBatch) -> list[Any]:
    """Everything a decoded batch says, in comparable form (NaN-safe)."""
    return [
        [(r.index, r.reason, r.detail) for r in decoded.rejected],
        [
            (
                m.model_id,
                m.index.tolist(),
                m.timestamps.tolist(),
                [(np.nan_to_num(c.values).tolist(), c.missing.tolist()) for c in m.columns],
            )
            for m in decoded.models
        ],
    ]


def in_process(all_batches: Sequence[Sequence[bytes]]) -> list[list[Any]]:
    decoder = EventDecoder(LAYOUTS, FIELDS)
    return [summary(decoder.decode(b)) for b in all_batches]


class FailingPool:
    """A pool whose workers take batches and then die before answering."""

    workers = 1

    def __init__(self, *, ready: bool = True) -> None:
        self.submitted = 0
        self.closed = False
        self._ready = ready

    def ready(self) -> bool:
        return self._ready

    def submit(self, payloads: Sequence[bytes], source_timestamps: object) -> None:
        self.submitted += 1

    def result(self) -> DecodedBatch:
        raise DecodeWorkerError("a decode worker is gone: EOFError()")

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def ready_pool() -> Iterator[DecodePool]:
    pool = DecodePool(LAYOUTS, FIELDS, workers=2)
    deadline = time.monotonic() + 60
    while not pool.ready():
        assert time.monotonic() < deadline, "decode workers did not start"
        time.sleep(0.01)
    yield pool
    pool.close()


def test_batches_come_out_in_the_order_they_went_in_decoded_as_in_process(
    ready_pool: DecodePool,
) -> None:
    stage = DecodeStage(EventDecoder(LAYOUTS, FIELDS), ready_pool)
    all_batches = batches()
    for batch in all_batches:
        stage.submit(batch)
    assert stage.next_is_ahead()
    assert [summary(stage.result()[0]) for _ in all_batches] == in_process(all_batches)


def test_a_pool_that_fails_costs_time_not_batches() -> None:
    pool = FailingPool()
    stage = DecodeStage(EventDecoder(LAYOUTS, FIELDS), pool)  # type: ignore[arg-type]
    all_batches = batches()
    for batch in all_batches[:2]:
        stage.submit(batch)
    got = [summary(stage.result()[0])]  # the worker's failure: decoded here instead
    assert pool.closed
    for batch in all_batches[2:]:
        stage.submit(batch)
    got += [summary(stage.result()[0]) for _ in all_batches[1:]]
    assert got == in_process(all_batches)
    assert pool.submitted == 2, "nothing more is sent to a failed pool"


def test_batches_submitted_before_the_pool_is_ready_are_decoded_here() -> None:
    pool = FailingPool(ready=False)
    stage = DecodeStage(EventDecoder(LAYOUTS, FIELDS), pool)  # type: ignore[arg-type]
    stage.submit(batches()[0])
    assert not stage.next_is_ahead()
    assert summary(stage.result()[0]) == in_process(batches()[:1])[0]
    assert pool.submitted == 0


def test_the_pool_cannot_change_while_results_are_pending() -> None:
    stage = DecodeStage(EventDecoder(LAYOUTS, FIELDS))
    stage.submit(batches()[0])
    with pytest.raises(RuntimeError, match="pending"):
        stage.use_pool(None)
