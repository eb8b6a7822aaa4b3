"""The test broker itself (ours, usable), and the rule for components that cannot start."""

from __future__ import annotations

import pytest

from tests.support.components import require_component
from tests.support.kafka_broker import KafkaBroker, new_cluster_id


@pytest.mark.kafka
def test_session_broker_answers_with_its_own_cluster_id(kafka_broker: KafkaBroker) -> None:
    with kafka_broker.admin() as admin:
        assert admin.describe_cluster()["cluster_id"] == kafka_broker.cluster_id


@pytest.mark.kafka
def test_topic_fixture_creates_three_partitions(kafka_broker: KafkaBroker, topic: str) -> None:
    assert kafka_broker.end_offsets(topic) == {0: 0, 1: 0, 2: 0}


@pytest.mark.kafka
def test_config_file_has_no_inline_comments(kafka_broker: KafkaBroker) -> None:
    """Java properties take '# ...' after a value as part of the value."""
    for line in kafka_broker.properties_path.read_text().splitlines():
        key, _, value = line.partition("=")
        assert key, line
        assert "#" not in value, line


def test_cluster_ids_never_look_like_command_line_options() -> None:
    """`StorageTool format -t -abc...` fails; Kafka's own Uuid.randomUuid() avoids them too."""
    ids = [new_cluster_id() for _ in range(2000)]
    assert not [cid for cid in ids if cid.startswith("-")]
    assert all(len(cid) == 22 for cid in ids)


def test_missing_component_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="Kafka broker unavailable: no java"):
        require_component("Kafka broker", "no java")


def test_missing_component_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Kafka broker unavailable"):
        require_component("Kafka broker", RuntimeError("no java"))
