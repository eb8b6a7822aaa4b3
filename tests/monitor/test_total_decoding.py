"""No payload stops monitoring: every path from bytes to windows is total.

Replay's engine path, the daemon's consumer (`EngineProcessor`) and the decode
workers take arbitrary bytes and arbitrary JSON (tests.monitor.hostile) without
raising, count every payload read as accepted or rejected with a reason, and
keep state that checkpoints and reports can still write.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from structlog.testing import capture_logs

from driftwarden.monitor.engine import Engine
from driftwarden.monitor.ingest.decode_pool import DecodePool
from driftwarden.monitor.ingest.rejection import RejectReason
from driftwarden.monitor.kafka.consumer import Record
from driftwarden.monitor.pipeline import start_decode_pool
from driftwarden.monitor.replay.runner import replay
from driftwarden.monitor.service.processor import EngineProcessor
from driftwarden.monitor.verdicts.record import window_record
from tests.monitor import hostile
from tests.monitor.factories import RecordingSink, event, make_baseline, settings_with

POLICY = {"window": {"size": "60s", "allowed_lateness": "10s"}, "significance": {"min_samples": 5}}
GOOD = [event(t, x=float(t % 10)) for t in (1.0, 2.0, 70.0, 1_767_571_200.0)]
batches = st.lists(hostile.payload | st.sampled_from(GOOD), min_size=1, max_size=12)
examples = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def make_engine(sink: RecordingSink | None = None, *, dedup: bool = True) -> Engine:
    events = {"dedup_window": "1h"} if dedup else {}
    return Engine(
        [make_baseline()],
        settings_with(policy=POLICY, events=events),
        reject_sink=sink,
        wall_clock=lambda: 1_767_571_200.0 + 86_400,
    )


def assert_no_fallback(logs: list[dict[str, Any]]) -> None:
    """Hostile input is handled by the rules; the per-event fallback is for bugs only."""
    assert [x for x in logs if x["event"] == "batch_decode_failed"] == []


def assert_reconciles(engine: Engine, read: int) -> None:
    counts = engine.counts
    assert counts.read == read
    assert counts.read == counts.accepted + counts.rejected_total
    assert set(counts.rejected) <= {r.value for r in RejectReason}


@examples
@given(first=batches, second=batches)
def test_the_replay_engine_path_takes_any_bytes_and_reconciles(
    first: list[bytes], second: list[bytes]
) -> None:
    sink = RecordingSink()
    engine = make_engine(sink)
    with capture_logs() as logs:
        verdicts = engine.process(first) + engine.process(second) + engine.close_all()
    assert_no_fallback(logs)
    assert_reconciles(engine, len(first) + len(second))
    assert len(sink.items) == engine.counts.rejected_total
    json.dumps([window_record(v) for v in verdicts])  # the report can be written
    restored = make_engine()
    restored.restore(engine.snapshot())  # so can a checkpoint
    assert restored.counts == engine.counts


@examples
@given(lines=batches)
def test_replay_of_a_file_of_hostile_lines_finishes_and_reconciles(
    tmp_path_factory: pytest.TempPathFactory, lines: list[bytes]
) -> None:
    path = tmp_path_factory.mktemp("replay") / "events.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    engine = make_engine(RecordingSink())
    result = replay(engine, [str(path)], batch_size=4)
    (summary,) = result.inputs
    assert summary.error is None
    assert engine.counts.reconciles()
    assert engine.counts.read == summary.lines - summary.blank_lines


@examples
@given(polls=st.lists(batches, min_size=1, max_size=3))
def test_the_daemon_consumer_takes_any_record_and_keeps_checkpointing(
    polls: list[list[bytes]],
) -> None:
    sink = RecordingSink()
    processor = EngineProcessor(make_engine(sink), dead_letter=None)
    offsets = [0, 0]
    read = 0
    for poll in polls:
        records = []
        for i, value in enumerate(poll):
            partition = i % 2
            records.append(
                Record("t", partition, offsets[partition], timestamp=i * 1000, value=value)
            )
            offsets[partition] += 1
        processor.process(records)
        processor.close_due(now=0.0, idle=frozenset())
        read += len(poll)
    assert_reconciles(processor.engine, read)
    state = processor.snapshot()
    again = EngineProcessor(make_engine())
    partitions = frozenset({("t", 0), ("t", 1)})
    again.restore(partitions, state)
    assert again.engine.counts == processor.engine.counts


@pytest.fixture(scope="module")
def pool() -> Iterator[DecodePool]:
    engine = make_engine()
    started = start_decode_pool(engine, 1)
    deadline = time.monotonic() + 60
    while not started.ready():
        assert time.monotonic() < deadline, "decode worker did not start"
        time.sleep(0.01)
    yield started
    started.close()


@examples
@given(batch=batches)
def test_a_decode_worker_takes_any_bytes_and_agrees_with_in_process_decoding(
    pool: DecodePool, batch: list[bytes]
) -> None:
    here, there = RecordingSink(), RecordingSink()
    expected, got = make_engine(here), make_engine(there)
    with capture_logs() as logs:
        expected.process(batch)
    assert_no_fallback(logs)
    pool.submit(batch, None)
    decoded, counted = pool.result()  # a failed worker would raise here
    got.count(batch, decoded, counted=counted)
    assert got.counts == expected.counts
    assert there.items == here.items
    assert_reconciles(got, len(batch))


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (
            b'{"model_id": "m", "timestamp": 0, "features": ' + b"[" * 1000 + b"]" * 1000 + b"}",
            "too_deep",
        ),
        (b'{"model_id": "m", "timestamp": 1' + b"0" * 400 + b"}", "bad_timestamp"),
        (b'{"model_id": "m", "timestamp": 1e300}', "bad_timestamp"),
        (b'{"model_id": "m", "timestamp": "9999-12-31T23:59:59Z"}', "bad_timestamp"),
        (b'{"model_id": "m", "timestamp": 1e15}', "bad_timestamp"),
        (b'{"model_id": "m", "timestamp": 1e21}', "bad_timestamp"),
        ('{"model_id": "m", "timestamp": 0}'.encode("utf-16"), "invalid_json"),
        (b'{"model_id": "\xff", "timestamp": 0}', "invalid_json"),
        (b'{"model_id": "m", "timestamp": NaN, "request_id": "\\ud800"}', "invalid_json"),
        (event("2100-01-01T00:00:00Z"), "future"),
    ],
    ids=[
        "deep",
        "int-1e400",
        "1e300",
        "9999",
        "1e15",
        "1e21",
        "utf-16",
        "bad-utf8",
        "surrogate",
        "2100",
    ],
)
def test_each_known_poison_is_rejected_with_its_reason_on_every_path(
    pool: DecodePool, tmp_path: Path, payload: bytes, reason: str
) -> None:
    """The messages that crashed the daemon and replay (issue 13), one by one."""
    batch = [GOOD[0], payload, GOOD[1]]
    in_process = make_engine(dedup=False)
    in_process.process(batch)
    pool.submit(batch, None)
    worker = make_engine(dedup=False)
    decoded, counted = pool.result()
    worker.count(batch, decoded, counted=counted)
    replayed = make_engine(dedup=False)
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(batch) + b"\n")
    replay(replayed, [str(path)])
    for engine in (in_process, worker, replayed):
        assert dict(engine.counts.rejected) == {reason: 1}
        assert engine.counts.accepted == 2


def test_a_decoder_bug_costs_the_events_it_hits_not_the_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Kafka Streams' "log and continue", with the event kept in the dead-letter sink."""
    engine = make_engine(dedup=False)
    decoder = engine.decoder
    general = decoder._decode_general

    def flaky(payloads: Any, *args: Any) -> Any:
        if any(b"boom" in p for p in payloads):
            raise RuntimeError("a bug")
        return general(payloads, *args)

    monkeypatch.setattr(decoder, "_decode_batch", flaky)
    monkeypatch.setattr(decoder, "_decode_general", flaky)
    batch = [GOOD[0], event(3.0, c="boom"), GOOD[1]]
    decoded = decoder.decode(batch)
    assert [(r.index, r.reason) for r in decoded.rejected] == [(1, RejectReason.DECODE_ERROR)]
    (model,) = decoded.models
    assert model.index.tolist() == [0, 2]
    assert model.timestamps.tolist() == [1.0, 2.0]
