"""One poison message of each kind never stops the daemon (issue 13), against the real broker.

Each message that used to crash the decode path (deep nesting, timestamps
beyond float or calendar range, other encodings) or to blind its partition (a
far-future event) goes to partition 0 in the middle of healthy traffic. The
daemon keeps consuming, commits past them, sends each to the dead-letter topic
with its reason, and windows every other event exactly as `driftwarden replay`
of the same file does; no valid event is rejected as late.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from driftwarden.monitor.ingest.dead_letter import TOPIC_HEADROOM
from tests.support.daemon import (
    DaemonProcess,
    assert_counts_equal,
    daemon_config,
    read_verdicts,
    replay_windows,
    synthetic_stream,
    wait_for_windows,
    write_baseline,
)
from tests.support.kafka_broker import KafkaBroker

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(240)]

MODEL = b'{"model_id": "credit-risk", '


def poisons(healthy: bytes) -> dict[str, tuple[bytes, str]]:
    """name -> (payload, the reason it must be dead-lettered with)."""
    far_future = json.loads(healthy)
    far_future["timestamp"] = "2100-01-01T00:00:00Z"
    return {
        "deep": (
            MODEL
            + b'"timestamp": "2026-01-01T00:00:05Z", "features": '
            + b"[" * 1000
            + b"]" * 1000
            + b"}",
            "too_deep",
        ),
        "int-beyond-float": (MODEL + b'"timestamp": 1' + b"0" * 400 + b"}", "bad_timestamp"),
        "1e300": (MODEL + b'"timestamp": 1e300}', "bad_timestamp"),
        "year-9999": (MODEL + b'"timestamp": "9999-12-31T23:59:59Z"}', "bad_timestamp"),
        "1e15": (MODEL + b'"timestamp": 1e15}', "bad_timestamp"),
        "1e21": (MODEL + b'"timestamp": 1e21}', "bad_timestamp"),
        "far-future": (json.dumps(far_future).encode(), "future"),
        "utf-16": ('{"model_id": "credit-risk", "timestamp": 0}'.encode("utf-16"), "invalid_json"),
        "bad-utf8": (b'{"model_id": "credit-risk\xff", "timestamp": 0}', "invalid_json"),
        "lone-surrogate": (MODEL + b'"timestamp": NaN, "request_id": "\\ud800"}', "invalid_json"),
        # Fits the source topic, but not the dead-letter topic once headers are added.
        "fills-a-record": (b"x" * 1_048_400, "invalid_json"),
    }


def produce_in_order(bootstrap: str, topic: str, records: list[tuple[int, bytes]]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, bootstrap_timeout_ms=10_000)
    try:
        for partition, value in records:
            producer.send(topic, value=value, partition=partition)
        producer.flush(timeout=120)
    finally:
        producer.close(timeout=10)


def dead_letters(bootstrap: str, topic: str, expected: int) -> dict[bytes, dict[str, bytes]]:
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, auto_offset_reset="earliest", bootstrap_timeout_ms=10_000
    )
    consumer.assign([TopicPartition(topic, 0)])
    found: dict[bytes, dict[str, bytes]] = {}
    deadline = time.monotonic() + 30
    try:
        while len(found) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                for record in batch:
                    found[record.value] = dict(record.headers)
    finally:
        consumer.close(autocommit=False)
    return found


def committed_and_end(bootstrap: str, topic: str, group: str) -> list[tuple[int | None, int]]:
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        bootstrap_timeout_ms=10_000,
    )
    try:
        partitions = [TopicPartition(topic, p) for p in range(3)]
        ends = consumer.end_offsets(partitions)
        return [(consumer.committed(tp), ends[tp]) for tp in partitions]
    finally:
        consumer.close(autocommit=False)


def metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_poison_messages_are_dead_lettered_and_the_rest_windowed_as_replay_windows_them(
    kafka_broker: KafkaBroker,
    topic: str,
    group_id: str,
    tmp_path: Path,
    note_timing: Callable[[str], None],
    *,
    kafka_client: str,
) -> None:
    began = time.monotonic()
    dead_topic = f"{topic}-dead"
    kafka_broker.create_topic(dead_topic, partitions=1)
    baseline = write_baseline(tmp_path / "baselines")
    stream = synthetic_stream(9_000, seed=13, rate_per_second=200.0)
    healthy = stream.payloads
    poison = poisons(healthy[0])
    # Healthy events round-robin over the partitions; each poison on partition 0,
    # spread over the middle of the stream, so valid events follow every one.
    records: list[tuple[int, bytes]] = []
    at = {3_000 + 300 * k: payload for k, (payload, _) in enumerate(poison.values())}
    for i, payload in enumerate(healthy):
        records.append((i % 3, payload))
        if i in at:
            records.append((0, at[i]))
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"".join(value.replace(b"\n", b" ") + b"\n" for _, value in records))
    assert not any(b"\n" in value for value in at.values())

    config = daemon_config(
        tmp_path / "config.yaml",
        bootstrap=kafka_broker.bootstrap,
        topic=topic,
        group=group_id,
        baseline=baseline,
        work=tmp_path,
        overrides={"dead_letter": {"topic": dead_topic}},
        client=kafka_client,
    )
    reference = replay_windows(
        baseline, config, events, tmp_path / "report.json", exclude=stream.sentinel_windows
    )
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    expected_rejections = {"too_deep": 1, "bad_timestamp": 5, "future": 1, "invalid_json": 4}
    assert report["counts"]["rejected"] == expected_rejections, report["counts"]
    assert len(reference) >= 4

    produce_in_order(kafka_broker.bootstrap, topic, records)
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        wait_for_windows([daemon], [tmp_path / "verdicts.jsonl"], reference, timeout=150)
        deadline = time.monotonic() + 60
        while metric(daemon.metrics(), "driftwarden_events_consumed_total") < len(records):
            assert time.monotonic() < deadline, daemon.output()
            time.sleep(0.3)
        text = daemon.metrics()
        assert daemon.stop(timeout=30) == 0, daemon.output()
    finally:
        daemon.ensure_dead()

    # Kept consuming: one run, never restarted, every record read and reconciled.
    stopped = daemon.find("daemon_stopped")
    assert stopped is not None, daemon.output()
    counts = stopped["counts"]
    assert counts["read"] == len(records), counts
    assert counts["rejected"] == expected_rejections, counts
    assert counts["accepted"] == len(healthy), counts
    for reason, n in expected_rejections.items():
        assert metric(text, "driftwarden_events_rejected_total", reason=reason) == n
    assert metric(text, "driftwarden_events_rejected_total", reason="late") == 0
    assert daemon.find("future_events_rejected") is not None

    # Committed past every poison.
    for committed, end in committed_and_end(kafka_broker.bootstrap, topic, group_id):
        assert committed == end

    # Each poison in the dead-letter topic, byte for byte, with its reason.
    found = dead_letters(kafka_broker.bootstrap, dead_topic, len(poison))
    kept = 1_048_576 - TOPIC_HEADROOM  # the producer's default max_request_size, less headroom
    assert {value: h["driftwarden.reason"].decode() for value, h in found.items()} == {
        payload[:kept]: reason for payload, reason in poison.values()
    }
    cut = found[poison["fills-a-record"][0][:kept]]
    assert cut["driftwarden.truncated"] == b"true"
    assert cut["driftwarden.payload_size"] == b"1048400"

    # Every other event windowed as replay windows it.
    live = read_verdicts(tmp_path / "verdicts.jsonl")
    live = {k: v for k, v in live.items() if k[1] not in stream.sentinel_windows}
    assert_counts_equal(live, reference)
    for key in sorted(reference):
        assert live[key] == reference[key], f"window {key} differs"
    note_timing(f"poison: {len(poison)} kinds dead-lettered, {time.monotonic() - began:.1f}s")
