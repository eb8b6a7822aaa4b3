"""`kafka.client: librdkafka` runs one member per group, and makes that safe.

librdkafka cannot run the active/standby assignor (monitor/kafka/rdkafka_consumer.py):
a second member would get a share of the partitions and judge partial windows. It
must refuse to join, with an error naming the fix, while the running member goes
on undisturbed: no rebalance, every window counted exactly as replay counts it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.daemon import (
    DaemonProcess,
    assert_counts_equal,
    comparable,
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
def test_a_second_librdkafka_member_refuses_to_join_and_the_first_counts_every_window_exactly(
    kafka_broker: KafkaBroker,
    topic: str,
    group_id: str,
    tmp_path: Path,
    note_timing: Callable[[str], None],
) -> None:
    began = time.monotonic()
    baseline = write_baseline(tmp_path / "baselines")
    stream = synthetic_stream(20_000, seed=17, rate_per_second=200.0, drift_from=0.5)
    configs = {}
    for name in ("first", "second"):
        work = tmp_path / name
        work.mkdir()
        configs[name] = daemon_config(
            work / "config.yaml",
            bootstrap=kafka_broker.bootstrap,
            topic=topic,
            group=group_id,
            baseline=baseline,
            work=work,
            client="librdkafka",
        )
    reference = replay_windows(
        baseline,
        configs["first"],
        stream.write_jsonl(tmp_path / "events.jsonl"),
        tmp_path / "report.json",
        exclude=stream.sentinel_windows,
    )
    half = len(stream.payloads) // 2
    produce(kafka_broker.bootstrap, topic, stream.payloads[:half])

    first = DaemonProcess(configs["first"], tmp_path / "first.log", name="first")
    second: DaemonProcess | None = None
    try:
        first.wait_for_event("partitions_assigned", timeout=60)
        second = DaemonProcess(configs["second"], tmp_path / "second.log", name="second")
        code = second.wait(timeout=60)
        refused = second.output()
        produce(kafka_broker.bootstrap, topic, stream.payloads[half:])
        wait_for_windows([first], [tmp_path / "first" / "verdicts.jsonl"], reference, timeout=120)
        assert first.stop(timeout=30) == 0, first.output()
    finally:
        first.ensure_dead()
        if second is not None:
            second.ensure_dead()

    assert code != 0, refused
    assert "runs one member per group" in refused, refused
    assert f"consumer group {group_id!r} already has 1 member" in refused, refused
    assert read_verdicts(tmp_path / "second" / "verdicts.jsonl") == {}  # judged nothing
    assigned = [e for e in first.events() if e.get("event") == "partitions_assigned"]
    assert len(assigned) == 1, assigned  # never rebalanced: the second member never joined
    assert assigned[0]["partitions"] == [[topic, p] for p in range(3)]

    live = read_verdicts(tmp_path / "first" / "verdicts.jsonl")
    live = {k: v for k, v in live.items() if k[1] not in stream.sentinel_windows}
    assert_counts_equal(live, reference)
    for key in sorted(reference):
        assert comparable(live[key]) == comparable(reference[key]), f"window {key} differs"
    note_timing(
        f"librdkafka one member per group: second member refused, {len(reference)} windows "
        f"exact; {time.monotonic() - began:.1f}s"
    )
