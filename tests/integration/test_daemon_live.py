"""`driftwarden run` against the real broker: live verdicts equal replay's, dead letters.

The daemon runs as a child process (tests.support.daemon). Events are produced
in timestamp order round-robin over 3 partitions and also written to a JSONL
file; `driftwarden replay` of that file is the reference every live window is
compared with.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition

from tests.support.daemon import (
    DaemonProcess,
    assert_counts_equal,
    daemon_config,
    produce,
    read_verdicts,
    replay_windows,
    synthetic_stream,
    wait_for_windows,
    write_baseline,
)
from tests.support.kafka_broker import KafkaBroker

pytestmark = pytest.mark.kafka


@pytest.mark.timeout(180)
@pytest.mark.parametrize("decode_workers", [1, 0], ids=["decode-worker", "in-process"])
def test_live_windows_statistics_and_tiers_equal_the_replay_of_the_same_events(
    kafka_broker: KafkaBroker,
    topic: str,
    group_id: str,
    tmp_path: Path,
    note_timing: Callable[[str], None],
    *,
    kafka_client: str,
    decode_workers: int,
) -> None:
    """Decoded in a worker process (the default on two CPUs or more) or in-process."""
    began = time.monotonic()
    baseline = write_baseline(tmp_path / "baselines")
    stream = synthetic_stream(30_000, seed=7, rate_per_second=200.0, drift_from=0.5)
    config = daemon_config(
        tmp_path / "config.yaml",
        bootstrap=kafka_broker.bootstrap,
        topic=topic,
        group=group_id,
        baseline=baseline,
        work=tmp_path,
        overrides={"decode_workers": decode_workers},
        client=kafka_client,
    )
    reference = replay_windows(
        baseline,
        config,
        stream.write_jsonl(tmp_path / "events.jsonl"),
        tmp_path / "report.json",
        exclude=stream.sentinel_windows,
    )
    tiers = {w["tier"] for w in reference.values()}
    assert len(reference) >= 10
    assert tiers - {"none"}, f"a trivial reference: {tiers}"

    produce(kafka_broker.bootstrap, topic, stream.payloads)
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        wait_for_windows([daemon], [tmp_path / "verdicts.jsonl"], reference, timeout=120)
        started = daemon.find("decode_workers_started")
        assert (started["workers"] if started else 0) == decode_workers
        assert daemon.stop(timeout=30) == 0, daemon.output()
    finally:
        daemon.ensure_dead()

    live = read_verdicts(tmp_path / "verdicts.jsonl")
    live = {k: v for k, v in live.items() if k[1] not in stream.sentinel_windows}
    assert_counts_equal(live, reference)
    for key in sorted(reference):
        assert live[key] == reference[key], f"window {key} differs"
    note_timing(
        f"live==replay ({kafka_client}, {decode_workers} decode workers): "
        f"{len(reference)} windows, "
        f"tiers {sorted(tiers)}, "
        f"{time.monotonic() - began:.1f}s"
    )


def _consume_all(bootstrap: str, topic: str, expected: int, timeout: float) -> list[object]:
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap, auto_offset_reset="earliest", bootstrap_timeout_ms=10_000
    )
    consumer.assign([TopicPartition(topic, p) for p in range(3)])
    records: list[object] = []
    deadline = time.monotonic() + timeout
    try:
        while len(records) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=200).values():
                records.extend(batch)
    finally:
        consumer.close(autocommit=False)
    return records


def _metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _lags(text: str) -> list[float]:
    return [
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("driftwarden_consumer_lag_messages{")
    ]


@pytest.mark.timeout(150)
def test_garbage_and_wrong_types_land_in_the_dead_letter_topic_and_counts_reconcile(
    kafka_broker: KafkaBroker,
    topic: str,
    group_id: str,
    tmp_path: Path,
    note_timing: Callable[[str], None],
    *,
    kafka_client: str,
) -> None:
    """The dead-letter producer is the chosen library's (kafka.client)."""
    began = time.monotonic()
    dead_topic = f"{topic}-dead"
    kafka_broker.create_topic(dead_topic, partitions=1)
    baseline = write_baseline(tmp_path / "baselines")
    stream = synthetic_stream(3_000, seed=11, rate_per_second=200.0)
    good = stream.payloads[:-3]
    bad = [
        b"\xff\xfe garbage bytes",
        b"not json at all",
        b'["a", "list"]',
        b'{"model_id": "credit-risk", "timestamp": "yesterday-ish", "features": {}}',
        b'{"model_id": "credit-risk", "features": {"x": 1}}',  # no timestamp
        b'{"model_id": 42, "timestamp": "2026-01-01T00:00:01Z", "features": {}}',
        b'{"model_id": "no-such-model", "timestamp": "2026-01-01T00:00:01Z", "features": {}}',
        b'{"model_id": "credit-risk", "timestamp": "2026-01-01T00:00:01Z", "features": "nope"}',
        b"",
    ]
    # Interleave the bad records with the good ones, then the sentinels.
    payloads = []
    step = len(good) // len(bad)
    for i, payload in enumerate(good):
        payloads.append(payload)
        if i % step == step - 1 and (i // step) < len(bad):
            payloads.append(bad[i // step])
    payloads.extend(stream.payloads[-3:])
    produce(kafka_broker.bootstrap, topic, payloads)

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
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        daemon.metrics_port()
        deadline = time.monotonic() + 90
        consumed = 0.0
        while time.monotonic() < deadline:
            text = daemon.metrics()
            consumed = _metric(text, "driftwarden_events_consumed_total")
            counted = _metric(text, "driftwarden_events_accepted_total") + _metric(
                text, "driftwarden_events_rejected_total"
            )
            # The decode worker counts a poll when the next one arrives or at the next
            # checkpoint: librdkafka may hand over every record in one poll.
            if consumed >= len(payloads) and counted >= consumed and _lags(text) == [0.0] * 3:
                break
            time.sleep(0.3)
        text = daemon.metrics()
        assert daemon.stop(timeout=30) == 0, daemon.output()
    finally:
        daemon.ensure_dead()

    consumed = _metric(text, "driftwarden_events_consumed_total")
    accepted = _metric(text, "driftwarden_events_accepted_total")
    rejected = _metric(text, "driftwarden_events_rejected_total")
    assert consumed == len(payloads), text
    assert consumed == accepted + rejected
    assert _lags(text) == [0.0] * 3, text  # lag per partition, from the chosen client
    stopped = daemon.find("daemon_stopped")
    assert stopped is not None, daemon.output()
    final = stopped["counts"]
    note_timing(f"dead letters: daemon_stopped counts {final}")

    records = _consume_all(kafka_broker.bootstrap, dead_topic, int(rejected), timeout=30)
    assert len(records) == rejected
    assert rejected == len(bad), final
    assert final["read"] == consumed, final
    assert final["accepted"] == accepted, final
    values = {r.value for r in records}  # type: ignore[attr-defined]
    assert b"\xff\xfe garbage bytes" in values
    assert b"not json at all" in values
    for record in records:
        headers = dict(record.headers)  # type: ignore[attr-defined]
        assert headers["driftwarden.source.topic"] == topic.encode()
        assert int(headers["driftwarden.source.partition"]) in range(3)
        assert re.fullmatch(rb"\d+", headers["driftwarden.source.offset"])
        assert headers["driftwarden.reason"], headers
    reasons = sorted({dict(r.headers)["driftwarden.reason"].decode() for r in records})  # type: ignore[attr-defined]
    note_timing(f"dead letters: reasons {reasons}, {time.monotonic() - began:.1f}s")
    assert len(read_verdicts(tmp_path / "verdicts.jsonl")) >= 1
