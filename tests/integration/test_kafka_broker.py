"""The test broker itself: ours (cluster id), usable, and restartable on the same data."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import start_broker
from tests.support.driver import produce_numbers
from tests.support.kafka_broker import KafkaBroker

pytestmark = pytest.mark.kafka


def test_session_broker_answers_with_its_own_cluster_id(kafka_broker: KafkaBroker) -> None:
    with kafka_broker.admin() as admin:
        assert admin.describe_cluster()["cluster_id"] == kafka_broker.cluster_id


def test_topic_fixture_creates_three_partitions(kafka_broker: KafkaBroker, topic: str) -> None:
    assert kafka_broker.end_offsets(topic) == {0: 0, 1: 0, 2: 0}


def test_config_file_has_no_inline_comments(kafka_broker: KafkaBroker) -> None:
    """Java properties take '# ...' after a value as part of the value."""
    for line in kafka_broker.properties_path.read_text().splitlines():
        key, _, value = line.partition("=")
        assert key and "#" not in value, line


@pytest.mark.timeout(120)
def test_hard_restart_keeps_data_and_ports(tmp_path: Path) -> None:
    broker = start_broker(tmp_path / "broker")
    try:
        broker.create_topic("kept", partitions=3)
        produce_numbers(broker.bootstrap, "kept", 300)
        port = broker.port
        broker.restart(hard=True)
        assert broker.port == port
        assert broker.end_offsets("kept") == {0: 100, 1: 100, 2: 100}
        assert broker.stop() == 143  # SIGTERM once started: Kafka's handler exits 128+15
    finally:
        broker.stop()
