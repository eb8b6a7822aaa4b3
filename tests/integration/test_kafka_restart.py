"""Broker restarts, on a broker of this module's own (the session broker is never killed)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from driftwarden.monitor.kafka.checkpoint import DirectoryCheckpointStore, latest_per_partition
from tests.integration.conftest import start_broker
from tests.support.counting import CountingProcessor
from tests.support.driver import DriverProcess, merge_expected, produce_numbers
from tests.support.kafka_broker import KafkaBroker

pytestmark = pytest.mark.kafka


@pytest.fixture(scope="module")
def own_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    broker = start_broker(tmp_path_factory.mktemp("own-kafka"))
    yield broker
    broker.stop()


@pytest.mark.timeout(120)
def test_hard_restart_keeps_data_and_ports(own_broker: KafkaBroker) -> None:
    own_broker.create_topic("kept", partitions=3)
    produce_numbers(own_broker.bootstrap, "kept", 300)
    port = own_broker.port
    own_broker.restart(hard=True)
    assert own_broker.port == port
    assert own_broker.end_offsets("kept") == {0: 100, 1: 100, 2: 100}


@pytest.mark.timeout(150)
def test_consumer_loop_rides_out_a_hard_broker_restart_exactly(
    own_broker: KafkaBroker, tmp_path: Path
) -> None:
    topic, group = "restart-events", "restart-group"
    own_broker.create_topic(topic, partitions=3)
    before = produce_numbers(own_broker.bootstrap, topic, 10_000)
    checkpoints = tmp_path / "checkpoints"
    child = DriverProcess(
        tmp_path,
        "member",
        [
            "--bootstrap",
            own_broker.bootstrap,
            "--topic",
            topic,
            "--group",
            group,
            "--checkpoint-dir",
            str(checkpoints),
            "--interval",
            "0.5",
            "--max-poll-records",
            "200",
            "--batch-delay",
            "0.02",
        ],
    )
    try:
        child.wait_for("3000 records", lambda s: s.get("counted", 0) >= 3000, timeout=60)
        own_broker.restart(hard=True)
        after = produce_numbers(own_broker.bootstrap, topic, 5_000, start=10_000)
        child.wait_for("all 15000 records", lambda s: s.get("counted") == 15_000, timeout=90)
        child.terminate()
        assert child.wait(timeout=20) == 0, child.output()
    finally:
        child.ensure_dead()
    expected = merge_expected(before, after)
    chosen = latest_per_partition(DirectoryCheckpointStore(checkpoints).load(group))
    for p, (n, total) in expected.items():
        counts = CountingProcessor.decode(chosen[(topic, p)].state)[(topic, p)]
        assert counts.discontinuities == 0, counts
        assert (counts.count, counts.total, counts.next_offset) == (n, total, n), counts
    assert own_broker.stop(signal.SIGTERM) == 143  # SIGTERM once started: 128 + 15
