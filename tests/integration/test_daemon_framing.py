"""`driftwarden run` against the real broker: records that cannot travel as one line each.

The daemon joins a partition's values from one poll into one newline-delimited
block (`LineBlock.joined`) when every value is a regular line. This is the
specification of what happens when they are not: a tombstone, an empty value, an
event pretty-printed over several lines, a broken event cut at a newline, and
two events in one record, spread over the partitions of a poll. Each is one
record, counted once: accepted if it is one valid event, else rejected with a
reason into the dead-letter topic under its own partition and offset.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from tests.support.daemon import DaemonProcess, daemon_config, synthetic_stream, write_baseline
from tests.support.kafka_broker import KafkaBroker

pytestmark = pytest.mark.kafka

PARTITIONS = 3

BAD: list[bytes | None] = [
    None,  # a tombstone
    b"",
    b'{"model_id": "credit-risk",\n"timestamp": ',  # cut at a newline: the rest is not JSON
    b'{"model_id": "credit-risk", "features": {}}\n{"model_id": "credit-risk"}',  # two in one
    b"\n",
]


def _produce(bootstrap: str, topic: str, values: list[bytes | None]) -> list[tuple[int, int]]:
    """Value i goes to partition i % 3; returns each value's (partition, offset)."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, client_id="framing-test")
    placed: list[tuple[int, int]] = []
    try:
        futures = [
            producer.send(
                topic,
                value=value,
                key=b"k" if value is None else None,  # a tombstone needs a key
                partition=i % PARTITIONS,
            )
            for i, value in enumerate(values)
        ]
        producer.flush(timeout=30)
        for future in futures:
            meta = future.get(timeout=30)
            placed.append((meta.partition, meta.offset))
    finally:
        producer.close(timeout=10)
    return placed


def _dead_letters(bootstrap: str, topic: str, expected: int) -> dict[tuple[int, int], Any]:
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, auto_offset_reset="earliest", bootstrap_timeout_ms=10_000
    )
    consumer.assign([TopicPartition(topic, 0)])
    found: dict[tuple[int, int], Any] = {}
    deadline = time.monotonic() + 30
    try:
        while len(found) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                for record in batch:
                    headers = dict(record.headers)
                    key = (
                        int(headers["driftwarden.source.partition"]),
                        int(headers["driftwarden.source.offset"]),
                    )
                    found[key] = (record.value, headers["driftwarden.reason"].decode())
    finally:
        consumer.close(autocommit=False)
    return found


def _metric(text: str, name: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith((name + "{", name + " "))
    )


def _run_until_counted(daemon: DaemonProcess, total: int) -> str:
    """The metrics once every record is consumed and counted (accepted or rejected)."""
    daemon.metrics_port()
    deadline = time.monotonic() + 90
    text = daemon.metrics()
    while time.monotonic() < deadline:
        text = daemon.metrics()
        counted = _metric(text, "driftwarden_events_accepted_total") + _metric(
            text, "driftwarden_events_rejected_total"
        )
        if _metric(text, "driftwarden_events_consumed_total") >= total and counted >= total:
            break
        time.sleep(0.3)
    return text


@pytest.mark.timeout(150)
@pytest.mark.parametrize("decode_workers", [1, 0], ids=["decode-worker", "in-process"])
def test_tombstones_blank_and_multiline_values_are_each_one_record_counted_once(
    kafka_broker: KafkaBroker,
    topic: str,
    group_id: str,
    tmp_path: Path,
    note_timing: Callable[[str], None],
    *,
    kafka_client: str,
    decode_workers: int,
) -> None:
    began = time.monotonic()
    dead_topic = f"{topic}-dead"
    kafka_broker.create_topic(dead_topic, partitions=1)
    stream = synthetic_stream(1_500, seed=5, rate_per_second=200.0)
    values: list[bytes | None] = list(stream.payloads[:-3])
    # One valid event pretty-printed over many lines: accepted, as on one line.
    pretty = json.dumps(json.loads(values[100] or b""), indent=2).encode()
    assert pretty.count(b"\n") > 3
    values[100] = pretty
    step = len(values) // (len(BAD) + 1)
    bad_at = []
    for k, bad in enumerate(BAD):  # spread over the partitions and the polls
        at = step * (k + 1) + k
        values.insert(at, bad)
        bad_at.append(at)
    values.extend(stream.payloads[-3:])
    placed = _produce(kafka_broker.bootstrap, topic, values)
    expected_dead = {placed[at]: BAD[k] for k, at in enumerate(bad_at)}
    assert {p for p, _ in expected_dead} == set(range(PARTITIONS))

    config = daemon_config(
        tmp_path / "config.yaml",
        bootstrap=kafka_broker.bootstrap,
        topic=topic,
        group=group_id,
        baseline=write_baseline(tmp_path / "baselines"),
        work=tmp_path,
        overrides={"dead_letter": {"topic": dead_topic}, "decode_workers": decode_workers},
        client=kafka_client,
    )
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        text = _run_until_counted(daemon, len(values))
        assert daemon.stop(timeout=30) == 0, daemon.output()
    finally:
        daemon.ensure_dead()

    consumed = _metric(text, "driftwarden_events_consumed_total")
    accepted = _metric(text, "driftwarden_events_accepted_total")
    rejected = _metric(text, "driftwarden_events_rejected_total")
    assert consumed == len(values), text
    assert (accepted, rejected) == (len(values) - len(BAD), len(BAD)), text
    stopped = daemon.find("daemon_stopped")
    assert stopped is not None, daemon.output()
    assert stopped["counts"]["read"] == len(values), stopped
    assert stopped["counts"]["accepted"] == len(values) - len(BAD), stopped

    dead = _dead_letters(kafka_broker.bootstrap, dead_topic, len(BAD))
    assert set(dead) == set(expected_dead), dead
    for where, bad in expected_dead.items():
        value, reason = dead[where]
        assert (value or b"") == (bad or b""), (where, value, bad)  # a tombstone as empty
        assert reason, where
    note_timing(
        f"framing ({kafka_client}, {decode_workers} workers): reasons "
        f"{sorted({r for _, r in dead.values()})}, {time.monotonic() - began:.1f}s"
    )
